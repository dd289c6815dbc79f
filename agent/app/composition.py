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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent import __version__

from agent.app import systemd
from agent.station.clock import Clock
from agent.app.config import AgentConfig, ConfigError
from agent.app.config_check import initial_settings
from agent.app.lifecycle import Lifecycle
from agent.app.peripherals import build_peripherals
from agent.backend.link import Link, endpoint_url
from agent.persistence.settings import Settings
from agent.station.connector import ConnectorHardware
from agent.station.station import Station
from agent.app.status_socket import SOCKET_NAME, StatusServer
from agent.app.status_socket import snapshot as status_snapshot
from agent.backend.reports import ReportQueue
from agent.backend.services import AdapterServices
from agent.persistence.store import DatabaseCorrupt, StorageError, Store

log = logging.getLogger("evse_agent")

MIB = 1 << 20


def build_settings(config: AgentConfig, store: Store) -> Settings:
    return Settings(store, initial_settings(config))


def make_private(data_dir: Path) -> None:
    """The data directory, created or found, is its owner's only (0700): a directory made
    world-readable by an earlier start under umask 022 is closed too. A directory that cannot
    be created or changed is left to open_store, which says so."""
    from agent.security.secret_files import private_directory

    try:
        private_directory(data_dir)
    except OSError as exc:
        log.warning("data directory %s: cannot make it private: %s", data_dir, exc.strerror)


def open_store(path: Path, max_queued: int) -> tuple[Store, str | None]:
    """The database, or a safe stand-in: (store, None when it keeps everything, else what
    is wrong with storage, for ``evse-agent status``).

    A damaged file is moved aside (kept for inspection) and a new one started; a data
    directory that cannot be written (read-only file system, disk full, permissions), or a
    database a newer release migrated past what this one can use (a self-update rolled
    back; the file is left untouched for that release), leaves the agent on a memory store
    with every connector Faulted, so it still switches the boards off, reports to the
    backend and can be reached, but charges nothing that could not be billed.
    """
    try:
        return Store(path, max_queued=max_queued), None
    except DatabaseCorrupt as exc:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        log.critical("storage: %s; moving it aside as %s.corrupt-%s and starting a new one", exc, path.name, stamp)
        try:
            for suffix in ("", "-wal", "-shm"):
                damaged = path.with_name(path.name + suffix)
                if damaged.exists():
                    damaged.rename(damaged.with_name(f"{damaged.name}.corrupt-{stamp}"))
            return Store(path, max_queued=max_queued), None
        except (OSError, StorageError) as again:
            exc = again
    except StorageError as error:
        exc = error
    log.critical("storage: %s; running without storage: no charging until it is fixed", exc)
    return Store(":memory:", max_queued=max_queued), str(exc)


def build_hardware(config: AgentConfig):
    """The buses and every device the config names (agent.app.hardware): ``(closeables,
    [(connector section, board, meter)], card reader, I2C bus)``."""
    from agent.app.hardware import build_connectors, build_device
    from agent.app.peripherals import build_i2c_bus

    i2c = build_i2c_bus(config)  # the display, the temperature sensor, a PN532
    wiring, hardware = build_connectors(config, i2c)
    reader = build_device(config.card_reader, wiring)
    closeables = [*wiring.buses.values(), *wiring.owned, *([i2c] if i2c is not None else [])]
    return closeables, hardware, reader, i2c


def build_maintenance(config: AgentConfig, store: Store, station: Station, settings: Settings, clock: Clock,
                      security, events, reports: ReportQueue, lifecycle: Lifecycle):
    """Firmware updates and diagnostics (OCPP 1.6 §3.11, the Security Whitepaper; OCPP 2.0.1 L
    and N): ``(updater, collector, the running release or None)``."""
    from agent.maintenance.diagnostics import DiagnosticsCollector
    from agent.maintenance.firmware import FirmwareUpdater, transactions_running
    from agent.maintenance.self_update import running_release
    from agent.maintenance.transfer import DownloadLimits
    from agent.persistence.settings import DEFAULTS
    from agent.security.certificates import RootKind
    from agent.security.security_log import install_security_log

    data_dir = Path(config.storage.data_dir)
    firmware = config.firmware
    release = running_release()  # a release of agent/maintenance/self_update.py: confirmed once accepted, else rolled back
    updater = FirmwareUpdater(
        store,
        directory=data_dir / "firmware",
        installer=firmware.installer,
        install_timeout_s=firmware.install_timeout_s,
        busy=lambda: transactions_running(station),
        report=reports.put,
        restart=lambda: _restart_after(reports, lifecycle, "firmware installed"),
        now=clock.now,
        security_events=events,
        rollback_reason=release.take_rollback if release else lambda: None,
        allow_unsigned=firmware.allow_unsigned,
        trust_anchors=lambda: security.certificates.roots(RootKind.MANUFACTURER),
        hold_sessions=station.hold_new_sessions,  # OCPP 2.0.1 L01.FR.07
        allow_new_sessions=lambda: settings["allow_new_sessions_pending_firmware_update"],
        download_limits=DownloadLimits(
            max_bytes=int(firmware.max_download_mb * MIB),
            keep_free_bytes=int(firmware.keep_free_mb * MIB),
            deadline_s=firmware.download_timeout_s,
        ),
    )
    collector = DiagnosticsCollector(
        config=config,
        store=store,
        station=station,
        settings=lambda: {name: settings[name] for name in DEFAULTS},
        directory=data_dir / "diagnostics",
        report=reports.put,
        now=clock.now,
        security_log_files=install_security_log(data_dir),  # GetLog SecurityLog (installed in run())
    )
    return updater, collector, release


def build_user_info(config: AgentConfig, station: Station, online):
    """What the person at the charger sees (agent/ui): ``(the adapters' UserInfo, the
    displays' notes, what must run)``."""
    from agent.core.pricing import Pricing
    from agent.ui.displays import ScreenNotes
    from agent.ui.notes import DriverInfo, MessageBoard

    d = config.ev_driver
    notes = ScreenNotes()
    pricing = Pricing(currency_format=d.currency_format, decimals=d.decimals, language=d.language,
                      supported_languages=tuple(d.supported_languages), final_cost_s=d.final_cost_s)
    board = MessageBoard()
    scheduled = build_display_messages(station)
    info = DriverInfo(station, notes, pricing, board, online=online, idle_text={"": d.idle_text} if d.idle_text else None,
                      scheduled=scheduled)
    return UserInfo(pricing, board, d.default_price_text, info.changed, scheduled), notes, [info.run()]


def build_display_messages(station: Station):
    """OCPP 2.0.1 SetDisplayMessage messages, stored; a transaction's go when it is no longer running (O02)."""
    from agent.station.display_messages import DisplayMessages

    def running(transaction_id: str) -> bool:
        transaction = station.transaction(transaction_id)
        return transaction is not None and transaction.running

    return DisplayMessages(station.store, station.clock.now, running)


@dataclass
class UserInfo:
    """agent/backend/services.py UserInfoPort."""

    pricing: Any
    messages: Any
    default_price_text: str
    changed: Any
    display_messages: Any = None  # agent/station/display_messages.py DisplayMessages (OCPP 2.0.1 block O)


def build_adapters(config: AgentConfig, station: Station, services: AdapterServices,
                   boot_reason: str = "PowerUp") -> dict[str, Any]:
    """One adapter per OCPP version offered, by subprotocol."""
    from agent.ocpp16.adapter import Identity, Ocpp16Adapter

    identity = Identity(
        charge_point_id=config.charge_point.id,
        vendor=config.charge_point.vendor,
        model=config.charge_point.model,
        serial_number=config.charge_point.serial_number,
        firmware_version=f"evse-agent {__version__}",
    )
    adapters: dict[str, Any] = {}
    for version in config.ocpp.versions:
        if version == "ocpp1.6":
            adapters[version] = Ocpp16Adapter(station, services, identity, number_of_connectors=len(config.connectors),
                                              response_timeout_s=config.ocpp.response_timeout_s)
        elif version == "ocpp2.0.1":
            from agent.ocpp201.adapter import Identity as Identity201
            from agent.ocpp201.adapter import Ocpp201Adapter

            adapters[version] = Ocpp201Adapter(
                station, services, Identity201(**vars(identity)), station_description(config),
                response_timeout_s=config.ocpp.response_timeout_s, boot_reason=boot_reason,
            )
            if version == config.ocpp.versions[0]:
                adapters[version].configure_station()  # preferred: its transaction points from the start
    return adapters


def station_description(config: AgentConfig):
    """What the OCPP 2.0.1 device model describes (agent/ocpp201/station_model.py): EVSEs of one
    connector each, and the parts the configuration gives them."""
    from agent.ocpp201.station_model import ConnectorDescription, EvseDescription, StationDescription

    displays = {d.connector for d in config.displays}
    evses = []
    for section in config.connectors:
        gpio = section.gpio
        evses.append(EvseDescription(
            id=section.id,
            connectors=(ConnectorDescription(1, section.connector_type, lock=bool(gpio and gpio.lock_motor)),),
            phases=section.phases,
            max_current_a=section.max_current_a,
            meter=section.meter is not None,
            contactor=bool(gpio and gpio.contactor),
            contactor_feedback=bool(gpio and gpio.contactor_feedback),
            rcd=bool(gpio and gpio.rcd),
            emergency_stop=bool(gpio and gpio.emergency_stop),
            display=section.id in displays,
        ))
    return StationDescription(
        identity=config.charge_point.id,
        vendor=config.charge_point.vendor,
        model=config.charge_point.model,
        evses=tuple(evses),
        serial_number=config.charge_point.serial_number,
        firmware_version=f"evse-agent {__version__}",
        card_reader=config.card_reader.driver != "none",
        temperature_sensor=config.temperature.driver != "none",
        temperature_high_c=config.temperature.derate_above_c,
        message_timeout_s=int(config.ocpp.response_timeout_s),
        free_vend=bool(config.free_vend.id_tag),
    )


BOOT_REASON_KEY = "boot_reason"  # why the agent last restarted itself (2.0.1 BootReason), once


def take_boot_reason(store: Store) -> str:
    """Why this start happened: what the last run said when it restarted itself, else a power up
    (a crash, a power cut or the service started by the system)."""
    reason = store.settings().get(BOOT_REASON_KEY) or "PowerUp"
    store.put_setting(BOOT_REASON_KEY, "")
    return reason


def _restart_after(reports, lifecycle: Lifecycle, reason: str) -> None:
    """Restart once the status reports so far reached the backend (Installing, before the
    restart that reports Installed), or after a few seconds when it cannot be reached."""

    async def restart() -> None:
        await reports.drain(REPORTS_DRAIN_S)
        lifecycle.request_restart(reason, "FirmwareUpdate")

    _background.add(task := asyncio.ensure_future(restart()))
    task.add_done_callback(_background.discard)


REPORTS_DRAIN_S = 5.0
_background: set[asyncio.Future] = set()


async def run(config: AgentConfig, lifecycle: Lifecycle | None = None, config_path: Path | None = None) -> bool:
    """Run until stopped; True when a restart was asked for (``cli`` then re-executes).
    ``config_path``: the file ``config`` came from (the service page writes it)."""
    lifecycle = lifecycle or Lifecycle()
    started_at = time.time()
    make_private(Path(config.storage.data_dir))
    store, storage_problem = open_store(Path(config.storage.data_dir) / "evse-agent.db", config.storage.max_queued_messages)
    settings = build_settings(config, store)
    clock = Clock()
    closeables, hardware, reader, i2c = build_hardware(config)
    from agent.station.board_watch import BoardWatch
    from agent.station.hardware_thread import HardwareThread, Threaded
    from agent.station.safety_io import build_gpio

    # The buses, boards and meters live on the hardware thread, each board watched there with
    # its safety reflex (agent/station/board_watch.py): a busy event loop cannot delay a cut.
    hardware_thread = HardwareThread()
    hardware_thread.start()
    watches = {section.id: BoardWatch(board, hardware_thread, evse_id=section.id, idle_s=section.poll_interval_s,
                                      energized_s=min(section.energized_poll_interval_s, section.poll_interval_s))
               for section, board, _ in hardware}
    gpio_factory, safeties = build_gpio(config)  # GPIO contactor, RCD, e-stop, lock, LEDs per connector
    for evse_id, safety in safeties.items():
        safety.on_trip = watches[evse_id].trip  # a trip input: 0 A from the hardware thread at once
    connectors = [
        ConnectorHardware(
            evse_id=section.id,
            board=watches[section.id],
            meter=Threaded(meter, hardware_thread) if meter is not None else None,
            safety=safeties.get(section.id),
            poll_interval_s=section.poll_interval_s,
            phases=section.phases,
            max_current_a=section.max_current_a,
        )
        for section, board, meter in hardware
    ]
    station = Station(
        connectors,
        store,
        settings,
        clock,
        card_reader=reader,
        storage_ok=storage_problem is None,
        storage_recheck_s=config.storage.recheck_interval_s,
        free_vend_id_tag=config.free_vend.id_tag or None,  # plug in and charge, no card (Session.free_vend_id_tag)
    )
    if config.card_reader.match_reversed and station.card_reader is not None:
        from agent.station.card_ids import ReversedMatchReader

        station.card_reader = ReversedMatchReader(station.card_reader, station.authorizer.local)

    from agent.backend.outbox import OutboxPump
    from agent.backend.reports import ReportQueue
    from agent.backend.router import BackendRouter
    from agent.security.events import SecurityEvent
    from agent.security.security_log import install_security_log
    from agent.security.setup import build_security, record_startup

    security, events = build_security(config, store, clock)  # security profiles, certificates, events
    # The security log (GetLog SecurityLog) keeps every security event from the first one on.
    install_security_log(Path(config.storage.data_dir), security.secrets)
    # A backend time the clock refuses (agent/station/clock.py: outside 2024-2100, or a jump not confirmed).
    clock.on_refused = lambda text, why: events.record(SecurityEvent.INVALID_MESSAGES, f"currentTime {text!r} refused: {why}")
    outbox = OutboxPump(
        store,
        attempts=lambda: settings["transaction_message_attempts"],
        interval_s=lambda: settings["transaction_message_retry_interval_s"],
    )
    events.queued = outbox.changed
    from agent.backend.network_profiles import NetworkProfiles
    from agent.station.customer_data import CustomerData

    network = NetworkProfiles(store, settings.__getitem__, security, charge_point_id=config.charge_point.id,
                              config_url=config.ocpp.csms_url)  # B09/B10: the slots the link connects with
    router = BackendRouter({})
    reports = ReportQueue(router.send_report)
    updater, collector, release = build_maintenance(config, store, station, settings, clock, security, events, reports, lifecycle)
    user_info, notes, user_work = build_user_info(config, station, lambda: router.online)
    services = AdapterServices(
        settings=settings,
        store=store,
        clock=clock,
        lifecycle=lifecycle,
        outbox=outbox,
        reports=reports,
        local_auth=station.authorizer.local,
        charging_limits=station.charging_limits,
        security=security,
        security_events=events,
        user_info=user_info,
        firmware=updater,
        diagnostics=collector,
        network=network,
        on_registered=release.confirm if release is not None else lambda: None,
        customer_data=CustomerData(store, station.authorizer.local),
    )
    router.adapters.update(build_adapters(config, station, services, take_boot_reason(store)))
    station.backend = router
    record_startup(events, config)
    link = Link(
        endpoint_url(config.ocpp.csms_url, config.charge_point.id),
        router.subprotocols,
        router.session,
        ping_interval_s=lambda: settings["websocket_ping_interval_s"],
        reconnect_min_s=config.ocpp.reconnect_min_s,
        reconnect_max_s=config.ocpp.reconnect_max_s,
        policy=network,
    )
    security.reconnect = link.reconnect
    log.info("evse-agent %s: charge point %s, backend %s (%s)", __version__, config.charge_point.id, link.url,
             ", ".join(router.subprotocols))
    work = [reports.run(), updater.run(), *user_work, *(job for a in router.adapters.values() for job in a.background())]
    if release is not None:
        work.append(release.watch(lifecycle.request_restart))
    def status() -> dict[str, Any]:
        return status_snapshot(config.charge_point.id, __version__, station, router, link, store, storage_problem,
                               config=config, security=security, started_at=started_at)

    from agent.service.page import build_service_page

    work += build_service_page(config, config_path, station=station, lifecycle=lifecycle, status=status,
                               diagnostics=collector, security_events=events, secrets=security.secrets, user_info=user_info,
                               language=lambda: user_info.pricing.language)
    status_server = StatusServer(Path(config.storage.data_dir) / SOCKET_NAME, status)
    try:
        await status_server.start()
    except OSError as exc:  # a read-only data directory: the agent runs all the same
        log.warning("status socket %s: %s", status_server.path, exc)

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, lifecycle.request_stop, signal.Signals(signum).name)
    if config.testing.loop_stall_s > 0:
        from agent.app.testing_hooks import install_loop_stall

        install_loop_stall(loop, config.testing.loop_stall_s)
    for watch in watches.values():
        watch.start()
    tasks = [
        asyncio.create_task(station.run(), name="station"),
        asyncio.create_task(link.run(), name="link"),
        asyncio.create_task(lifecycle.stopping.wait(), name="stop"),
        asyncio.create_task(systemd.feed_watchdog(), name="watchdog"),
        *(asyncio.create_task(job) for job in work),
        *(asyncio.create_task(job) for job in build_peripherals(config, station, i2c, notes)),  # OLED, thermal
    ]
    systemd.notify(f"READY=1\nSTATUS=charge point {config.charge_point.id}, backend {link.url}")
    try:
        done, _ = await asyncio.wait(tasks[:3], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task.get_name() not in ("stop", "watchdog") and task.exception() is not None:
                raise task.exception()
        systemd.notify("STOPPING=1")
        if lifecycle.restart_requested:  # delivered after the restart (Security Whitepaper)
            events.record(SecurityEvent.RESET_OR_REBOOT, lifecycle.reason)
            store.put_setting(BOOT_REASON_KEY, lifecycle.boot_reason)
        log.info("evse-agent: stopping (%s; sessions resume at the next start)", lifecycle.reason)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await status_server.stop()
        if reader is not None:
            await reader.close()
        for watch in watches.values():
            watch.stop()
        for closeable in closeables:  # the buses and links on the hardware thread, the I²C bus here
            await (closeable.close() if closeable is i2c else hardware_thread.run(closeable.close()))
        hardware_thread.stop()
        for safety in safeties.values():
            safety.release()  # contactor open, lines freed
        if gpio_factory is not None:
            gpio_factory.close()
        store.close()
    return lifecycle.restart_requested


__all__ = ["run", "ConfigError"]
