"""Serve the order API: ``python -m http_api [--host H] [--port P]``.

Reads MONGO_URI, KAFKA_URI, JWT_SEC and ORDER_SERVICE_PORT from the environment or .env.
"""

from __future__ import annotations

import argparse
import logging

from aiohttp import web

from http_api.app import create_app
from shared.config import load_settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default ORDER_SERVICE_PORT or 8080)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    if not settings.jwt_secret:
        logging.warning("JWT_SEC is not set: every authenticated route will answer 401")
    web.run_app(create_app(settings), host=args.host, port=args.port or settings.port, access_log=None)


if __name__ == "__main__":
    main()
