"""A container healthcheck: ``python -m ops.probe URL`` exits 0 when URL answers.

    python -m ops.probe http://127.0.0.1:8080/health/ready   # an HTTP 2xx
    python -m ops.probe tcp://127.0.0.1:9092                  # a TCP connection

Each argument is one word, so engines that split a healthcheck's command on
spaces (podman's Docker-compatible API does) run it as written. Standard
library only: it also runs in images without the project (tests/compose)."""

from __future__ import annotations

import argparse
import socket
import sys
import urllib.error
import urllib.request
from urllib.parse import urlsplit


def healthy(url: str, timeout: float) -> tuple[bool, str]:
    parts = urlsplit(url)
    try:
        if parts.scheme == "tcp":
            with socket.create_connection((parts.hostname, parts.port), timeout):
                return True, "connected"
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return 200 <= response.status < 300, f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        exc.close()
        return False, f"HTTP {exc.code}"
    except (OSError, urllib.error.URLError) as exc:
        return False, str(exc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", help="http://... (a 2xx answer) or tcp://host:port (a connection)")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds (default 3)")
    args = parser.parse_args(argv)
    if urlsplit(args.url).scheme not in {"http", "tcp"}:
        parser.error("the URL must be http:// or tcp://")
    ok, said = healthy(args.url, args.timeout)
    print(said)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
