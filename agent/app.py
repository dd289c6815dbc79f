"""Composition root: builds the agent from its configuration and runs it.

Hardware and simulator differ only in configuration (bus endpoints and devices);
nothing here knows which one it talks to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from pathlib import Path

from agent import __version__, systemd
from agent.clock import Clock
from agent.config import AgentConfig, ConfigError
from agent.lifecycle import Lifecycle
from agent.peripherals import BUS_KEY, build_peripherals
from agent.link import Link, endpoint_url
from agent.session import Session
from agent.settings import Settings
from agent.station import Connector, Station
from agent.status_socket import SOCKET_NAME, StatusServer
from agent.status_socket import snapshot as status_snapshot
from agent.store import DatabaseCorrupt, StorageError, Store

log = logging.getLogger("evse_agent")

MIB = 1 << 20


def build_settings(config: AgentConfig, store: Store) -> Settings:
    from agent.ocpp16.keys import initial_settings

    return Settings(store, initial_settings(config.ocpp.keys, len(config.connectors)))


def check(config: AgentConfig) -> None:
    """Checks that need more than the schema (raises ConfigError)."""
    from agent.link_security import check_files
    from agent.ocpp16.keys import initial_settings
    from agent.ocpp16.security import manufacturer_roots

    initial_settings(config.ocpp.keys, len(config.connectors))
    check_files(config)
    try:
        manufacturer_roots(config)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def open_store(path: Path, max_queued: int) -> tuple[Store, bool]:
    """The database, or a safe stand-in: (store, whether it keeps anything).

    A damaged file is moved aside (kept for inspection) and a new one started; a data
    directory that cannot be written (read-only file system, disk full, permissions)
    leaves the agent on a memory store with every connector Faulted, so it still
    switches the boards off, reports to the backend and can be reached, but charges
    nothing that could not be billed.
    """
    try:
        return Store(path, max_queued=max_queued), True
    except DatabaseCorrupt as exc:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        log.critical("storage: %s; moving it aside as %s.corrupt-%s and starting a new one", exc, path.name, stamp)
        try:
            for suffix in ("", "-wal", "-shm"):
                damaged = path.with_name(path.name + suffix)
                if damaged.exists():
                    damaged.rename(damaged.with_name(f"{damaged.name}.corrupt-{stamp}"))
            return Store(path, max_queued=max_queued), True
        except (OSError, StorageError) as again:
            exc = again
    except StorageError as error:
        exc = error
    log.critical("storage: %s; running without storage: no charging until it is fixed", exc)
    return Store(":memory:", max_queued=max_queued), False


def build_hardware(config: AgentConfig):
    """Buses, boards, meters and the card reader named in the config (agent.hardware)."""
    from agent.hardware import build_connectors

    buses, hardware = build_connectors(config)
    from agent.peripherals import build_i2c_bus

    if (i2c := build_i2c_bus(config)) is not None:
        buses[BUS_KEY] = i2c  # the display, the temperature sensor, a PN532 (agent.peripherals)
    reader = None
    if config.card_reader.driver == "pcsc":
        from drivers.pcsc_reader import PcscCardReader

        reader = PcscCardReader(config.card_reader.reader, byte_order=config.card_reader.byte_order)
    elif config.card_reader.driver == "pn532":
        from drivers.pn532 import Pn532CardReader

        reader = Pn532CardReader(i2c, config.card_reader.address, byte_order=config.card_reader.byte_order,
                                 poll_interval_s=config.card_reader.poll_interval_s)
    return buses, hardware, reader


def build_firmware_management(config: AgentConfig, store: Store, station: Station, settings: Settings, clock: Clock, backend, lifecycle: Lifecycle):
    """OCPP 1.6 §3.11: firmware updates and diagnostics on the backend; returns what must run."""
    from agent.certificates import RootKind
    from agent.diagnostics import DiagnosticsCollector
    from agent.firmware import FirmwareUpdater, transactions_running
    from agent.ocpp16.firmware import report_sender
    from agent.reports import ReportQueue
    from agent.security_log import install_security_log
    from agent.self_update import running_release
    from agent.settings import DEFAULTS
    from agent.transfer import DownloadLimits

    data_dir = Path(config.storage.data_dir)
    firmware = config.firmware
    reports = ReportQueue(report_sender(backend))
    release = running_release()  # a release of agent/self_update.py: confirmed once accepted, else rolled back
    backend.firmware = FirmwareUpdater(
        store,
        directory=data_dir / "firmware",
        installer=config.firmware.installer,
        install_timeout_s=config.firmware.install_timeout_s,
        busy=lambda: transactions_running(station),
        report=reports.put,
        restart=lambda: lifecycle.request_restart("firmware installed"),
        now=clock.now,
        security_events=backend.security_events,
        rollback_reason=release.take_rollback if release else lambda: None,
        allow_unsigned=firmware.allow_unsigned,
        trust_anchors=lambda: backend.security.certificates.roots(RootKind.MANUFACTURER),
        download_limits=DownloadLimits(
            max_bytes=int(firmware.max_download_mb * MIB),
            keep_free_bytes=int(firmware.keep_free_mb * MIB),
            deadline_s=firmware.download_timeout_s,
        ),
    )
    backend.diagnostics = DiagnosticsCollector(
        config=config,
        store=store,
        station=station,
        settings=lambda: {name: settings[name] for name in DEFAULTS},
        directory=data_dir / "diagnostics",
        report=reports.put,
        now=clock.now,
        security_log_files=install_security_log(data_dir),  # GetLog SecurityLog (installed in run())
    )
    if release is None:
        return [reports.run(), backend.firmware.run()]
    backend.on_registered = release.confirm
    return [reports.run(), backend.firmware.run(), release.watch(lifecycle.request_restart)]


async def run(config: AgentConfig, lifecycle: Lifecycle | None = None) -> bool:
    """Run until stopped; True when a restart was asked for (``cli`` then re-executes)."""
    lifecycle = lifecycle or Lifecycle()
    store, storage_ok = open_store(Path(config.storage.data_dir) / "evse-agent.db", config.storage.max_queued_messages)
    settings = build_settings(config, store)
    clock = Clock()
    buses, hardware, reader = build_hardware(config)
    from agent.safety_io import build_gpio

    gpio_factory, safeties = build_gpio(config)  # GPIO contactor, RCD, e-stop, lock, LEDs per connector
    connectors = [
        Connector(
            id=section.id,
            board=board,
            meter=meter,
            session=Session(max_current_a=section.max_current_a),
            poll_interval_s=section.poll_interval_s,
            phases=section.phases,
            safety=safeties.get(section.id),
        )
        for section, board, meter in hardware
    ]
    station = Station(
        connectors,
        store,
        settings,
        clock,
        card_reader=reader,
        storage_ok=storage_ok,
        storage_recheck_s=config.storage.recheck_interval_s,
    )

    from agent.ocpp16.adapter import Ocpp16Backend

    backend = Ocpp16Backend(
        station,
        store,
        settings,
        clock,
        charge_point_id=config.charge_point.id,
        vendor=config.charge_point.vendor,
        model=config.charge_point.model,
        serial_number=config.charge_point.serial_number,
        firmware_version=f"evse-agent {__version__}",
        response_timeout_s=config.ocpp.response_timeout_s,
        lifecycle=lifecycle,
    )
    station.backend = backend
    from agent.security_log import install_security_log

    # The security log (GetLog SecurityLog) keeps every security event from the first one on.
    install_security_log(Path(config.storage.data_dir), lambda: backend.security.secrets() if hasattr(backend, "security") else ())
    from agent.ocpp16.security import install_security

    security = install_security(backend, config)  # security profiles, certificates, security events
    from agent.ocpp16.driver_features import install_driver_features

    notes, driver_work = install_driver_features(config, backend)  # price/cost, messages, free vend
    link = Link(
        endpoint_url(config.ocpp.csms_url, config.charge_point.id),
        backend.subprotocol,
        backend.run_session,
        ping_interval_s=lambda: settings["websocket_ping_interval_s"],
        reconnect_min_s=config.ocpp.reconnect_min_s,
        reconnect_max_s=config.ocpp.reconnect_max_s,
        policy=security,
    )
    security.reconnect = link.reconnect
    log.info("evse-agent %s: charge point %s, backend %s", __version__, config.charge_point.id, link.url)
    status_server = StatusServer(
        Path(config.storage.data_dir) / SOCKET_NAME,
        lambda: status_snapshot(config.charge_point.id, __version__, station, backend, link, store),
    )
    try:
        await status_server.start()
    except OSError as exc:  # a read-only data directory: the agent runs all the same
        log.warning("status socket %s: %s", status_server.path, exc)

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, lifecycle.request_stop, signal.Signals(signum).name)
    tasks = [
        asyncio.create_task(station.run(), name="station"),
        asyncio.create_task(link.run(), name="link"),
        asyncio.create_task(lifecycle.stopping.wait(), name="stop"),
        asyncio.create_task(systemd.feed_watchdog(), name="watchdog"),
        *(asyncio.create_task(work) for work in build_firmware_management(config, store, station, settings, clock, backend, lifecycle)),
        *(asyncio.create_task(work) for work in build_peripherals(config, station, buses.get(BUS_KEY), notes)),  # OLED, thermal
        *(asyncio.create_task(work) for work in driver_work),
    ]
    systemd.notify(f"READY=1\nSTATUS=charge point {config.charge_point.id}, backend {link.url}")
    try:
        done, _ = await asyncio.wait(tasks[:3], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task.get_name() not in ("stop", "watchdog") and task.exception() is not None:
                raise task.exception()
        systemd.notify("STOPPING=1")
        if lifecycle.restart_requested:  # delivered after the restart (Security Whitepaper)
            from agent.security_events import SecurityEvent

            security.events.record(SecurityEvent.RESET_OR_REBOOT, lifecycle.reason)
        log.info("evse-agent: stopping (%s; sessions resume at the next start)", lifecycle.reason)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await status_server.stop()
        if reader is not None:
            await reader.close()
        for bus in buses.values():
            await bus.close()
        for safety in safeties.values():
            safety.release()  # contactor open, lines freed
        if gpio_factory is not None:
            gpio_factory.close()
        store.close()
    return lifecycle.restart_requested


__all__ = ["run", "check", "ConfigError"]
