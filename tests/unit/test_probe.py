"""The container healthcheck: exit 0 only when the URL answers."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ops.probe import main


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/ok" else 503)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[int]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_2xx_answer_is_healthy(server: int):
    assert main([f"http://127.0.0.1:{server}/ok"]) == 0


def test_a_503_is_unhealthy(server: int):
    assert main([f"http://127.0.0.1:{server}/stalled"]) == 1


def test_a_tcp_connection_is_healthy(server: int):
    assert main([f"tcp://127.0.0.1:{server}"]) == 0


def test_nobody_listening_is_unhealthy():
    assert main([f"tcp://127.0.0.1:{closed_port()}", "--timeout", "1"]) == 1
