"""The ``evse-agent`` command."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import sys
from pathlib import Path

from agent import __version__
from agent.app.config import ConfigError, load_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="evse-agent", description="OCPP charge point agent for EV chargers")
    parser.add_argument("--version", action="version", version=f"evse-agent {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the agent")
    run.add_argument("--config", required=True, help="TOML configuration file")
    run.add_argument("--csms-url", help="backend URL, without the charge point id (overrides ocpp.csms_url)")
    run.add_argument("--charge-point-id", help="overrides charge_point.id")
    run.add_argument("--data-dir", help="overrides storage.data_dir")
    run.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="overrides log.level")
    run.add_argument("--ocpp-version", choices=["1.6", "2.0.1"], help="offer only this OCPP version (overrides ocpp.versions)")

    check = commands.add_parser("check-config", help="check a configuration file and exit")
    check.add_argument("--config", required=True)

    status = commands.add_parser("status", help="the live state of the running agent")
    status.add_argument("--config", default="/etc/evse-agent/agent.toml", help="the agent's configuration file")
    status.add_argument("--data-dir", help="the agent's data directory (overrides the config)")
    status.add_argument("--json", action="store_true", help="print the raw JSON")

    demo = commands.add_parser("demo", help="simulator + demo backend + agent, until Ctrl-C")
    demo.add_argument("--http-port", type=int, default=8765, help="simulator page port (default 8765)")
    demo.add_argument("--csms-port", type=int, default=9000, help="demo backend port (default 9000)")
    demo.add_argument("--modbus-port", type=int, default=5020, help="simulated RS-485 bus as Modbus TCP (default 5020)")
    demo.add_argument("--ocpp-version", choices=["1.6", "2.0.1"],
                      help="the demo backend and the agent speak only this version (default: what config/agent-sim.toml offers, 1.6)")

    password = commands.add_parser("service-password", help="set the password of a service page role")
    from agent.service.page import add_password_arguments

    add_password_arguments(password)

    from agent.maintenance import self_update

    install = commands.add_parser("install-release", help="install a new release of evse-agent and switch to it ([firmware] installer)")
    self_update.add_install_arguments(install)

    args = parser.parse_args(argv)
    if args.command == "install-release":
        return self_update.install_command(args)
    if args.command == "demo":
        from agent.app.demo import run_demo

        return run_demo(http_port=args.http_port, csms_port=args.csms_port, modbus_port=args.modbus_port,
                        ocpp_version=args.ocpp_version)

    if args.command == "status":
        return show_status(args)
    if args.command == "service-password":
        from agent.service.page import password_command

        return password_command(args)

    overrides = {}
    if args.command == "run":
        overrides = {
            "ocpp.csms_url": args.csms_url,
            "charge_point.id": args.charge_point_id,
            "storage.data_dir": args.data_dir,
            "log.level": args.log_level,
            "ocpp.versions": [f"ocpp{args.ocpp_version}"] if args.ocpp_version else None,
        }
    try:
        if overrides.get("ocpp.csms_url") is not None:
            from agent.app.config import check_csms_url

            check_csms_url(overrides["ocpp.csms_url"], "--csms-url")
        config = load_config(args.config, **overrides)
        from agent.app.config_check import check as check_semantics

        check_semantics(config)
    except ConfigError as exc:
        print(f"evse-agent: config error: {exc}", file=sys.stderr)
        return 1
    if args.command == "check-config":
        print(f"{args.config}: OK ({len(config.connectors)} connector(s), backend {config.ocpp.csms_url})")
        return 0

    # Everything the agent creates (data directory, database, logs, firmware, diagnostics) is its
    # own only, whatever umask it was started with: the same as the unit's UMask=0077.
    os.umask(0o077)
    from agent.app.journal import JournalHandler, under_systemd

    if under_systemd():  # straight to the journal, with CHARGE_POINT_ID / CONNECTOR_ID fields
        journal = JournalHandler(config.charge_point.id)
        journal.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        logging.basicConfig(level=config.log.level, handlers=[journal])
    else:
        logging.basicConfig(
            level=config.log.level,
            format=f"%(asctime)s %(levelname)s [{config.charge_point.id}] %(name)s: %(message)s",
            stream=sys.stderr,
        )
    logging.getLogger("websockets").setLevel(logging.WARNING)
    logging.getLogger("ocpp").setLevel(logging.WARNING if config.log.level != "DEBUG" else logging.DEBUG)
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    if config.log.file:  # [log] file: also to a file, which GetDiagnostics uploads
        from agent.maintenance.diagnostics import log_file_handler

        logging.getLogger().addHandler(log_file_handler(config.log.file))
    from agent.security import log_escape

    log_escape.install(logging.getLogger().handlers)  # a backend string never forges a log line
    from agent.app.composition import run as run_agent
    from agent.persistence.store import StorageError

    # What the imports made lives as long as the process: out of the collector's way, so its
    # collections while messages flow (a backlog replay) scan only what came after.
    gc.freeze()
    try:
        restart = asyncio.run(run_agent(config, config_path=Path(args.config)))
    except StorageError as exc:
        logging.getLogger("evse_agent").critical("storage: %s", exc)
        return 3
    except KeyboardInterrupt:
        return 0
    if restart:
        # Reset / firmware installed: the same command line again, in this process's place.
        logging.shutdown()
        args_again = argv if argv is not None else sys.argv[1:]
        from agent.maintenance.self_update import restart_command  # the current release: it may be a new one

        command = restart_command(args_again) or [sys.executable, "-m", "agent.app.cli", *args_again]
        os.execv(command[0], command)
    return 0


def show_status(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from agent.app.status_socket import SOCKET_NAME, query, render

    data_dir = args.data_dir
    if data_dir is None:
        try:
            data_dir = load_config(args.config).storage.data_dir
        except ConfigError as exc:
            print(f"evse-agent: {exc} (or give --data-dir)", file=sys.stderr)
            return 1
    path = Path(data_dir) / SOCKET_NAME
    try:
        status = query(path)
    except (FileNotFoundError, ConnectionRefusedError):
        print(f"evse-agent: no agent is running with data directory {data_dir} ({path} does not answer)", file=sys.stderr)
        return 2
    except PermissionError:
        print(f"evse-agent: {path}: permission denied (run as the agent's user or root)", file=sys.stderr)
        return 2
    print(json.dumps(status, indent=2) if args.json else render(status))
    return 0


if __name__ == "__main__":
    sys.exit(main())
