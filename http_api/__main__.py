"""Serve the order API: ``python -m http_api [--host H] [--port P]``.

Reads MONGO_URI, KAFKA_URI, JWT_SEC and ORDER_SERVICE_PORT from the environment or .env.
``--check-settings`` checks them and exits: 0 when the API would start (compose runs it
once before the API replicas, so a missing JWT_SEC stops ``up`` instead of restarting them).
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace

from aiohttp import web

from http_api.app import create_app
from http_api.request_log import AccessLog
from shared import tracing
from shared.config import Settings, jwt_secret_problem, settings_or_exit
from shared.faults import FaultPoints
from shared.kafka_config import require_access
from shared.logs import configure_logging

SHUTDOWN_S = 3.0
log = logging.getLogger("http_api")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", help="interface to listen on (default ORDER_SERVICE_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default ORDER_SERVICE_PORT or 8080)")
    parser.add_argument(
        "--check-settings", action="store_true", help="check the settings and exit: 0 when the API would start"
    )
    args = parser.parse_args(argv)
    settings = with_arguments(settings_or_exit(), args.host, args.port)
    configure_logging("api", settings.log_format, settings.log_level)
    refuse_bad_settings(settings)
    if args.check_settings:
        print("the API's settings are good", flush=True)
        return
    tracing.start("order-api")
    # A stop waits SHUTDOWN_S for requests in progress (each is bounded by its own timeout).
    web.run_app(
        create_app(settings, faults=FaultPoints.from_environment()),
        host=settings.host,
        port=settings.port,
        access_log=logging.getLogger("http_api.access"),
        access_log_class=AccessLog,
        shutdown_timeout=SHUTDOWN_S,
        print=lambda said: log.info("%s", " ".join(said.replace("=", " ").split())),
    )


def refuse_bad_settings(settings: Settings) -> None:
    """Exit naming the first setting the API cannot start with."""
    problem = jwt_secret_problem(settings.jwt_secret)
    if problem is not None:
        raise SystemExit(f"refusing to start: {problem}")
    if settings.brokers:
        require_access(settings.kafka)


def with_arguments(settings: Settings, host: str | None, port: int | None) -> Settings:
    """The settings with ``--host`` and ``--port`` in place of theirs: every site the
    API opens (its port and a metrics port of its own) binds the host asked for."""
    return replace(settings, host=host or settings.host, port=port or settings.port)


if __name__ == "__main__":
    main()
