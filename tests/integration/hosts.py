"""Test hosts: network namespaces on one bridge, each with its own address.

The multi-host tests make them and remove them (root only). The bridge sits in
the test runner's own namespace with an address of its own, so the test reaches
every host; traffic goes only to loopback and to these hosts' addresses.
Cutting a host's link sets its bridge port down: its packets are dropped, and
no reset reaches either side.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import signal
import subprocess
import uuid

SUBNETS = ("10.213.7.0/24", "10.214.9.0/24", "172.31.213.0/24")


def unavailable() -> str | None:
    """Why test hosts cannot be made here, or None."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "iproute2's `ip` is not installed"
    probe = f"order-probe-{uuid.uuid4().hex[:6]}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"`ip netns add` failed: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


def _free_subnet() -> ipaddress.IPv4Network:
    routes = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True, check=True).stdout
    taken = [ipaddress.ip_network(r.split()[0], strict=False) for r in routes.splitlines() if r[:1].isdigit()]
    for candidate in map(ipaddress.IPv4Network, SUBNETS):
        if not any(candidate.overlaps(t) for t in taken):
            return candidate
    raise RuntimeError(f"every test subnet {SUBNETS} overlaps a route here")


class TestHosts:
    """``with TestHosts(["store", "a", "b"]) as hosts``: ``hosts.address["a"]``,
    ``hosts.exec("a") + command``, ``hosts.cut("a")``, ``hosts.mend("a")``."""

    __test__ = False  # not a pytest test class

    def __init__(self, names: list[str]):
        tag = uuid.uuid4().hex[:5]
        self.names = names
        self.bridge = f"otb{tag}"
        self.netns = {n: f"order-test-{tag}-{n}" for n in names}
        self._port = {n: f"ot{tag}p{i}" for i, n in enumerate(names)}
        self.address: dict[str, str] = {}
        self.runner_address = ""

    def __enter__(self) -> TestHosts:
        try:
            self._make()
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()

    def _make(self) -> None:
        subnet = _free_subnet()
        hosts = list(subnet.hosts())
        self.runner_address = str(hosts[-1])
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"{self.runner_address}/{subnet.prefixlen}", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        for i, name in enumerate(self.names):
            ns, port = self.netns[name], self._port[name]
            self.address[name] = str(hosts[i])
            _ip("netns", "add", ns)
            _ip("link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns)
            _ip("link", "set", port, "master", self.bridge, "up")
            _ip("-n", ns, "addr", "add", f"{self.address[name]}/{subnet.prefixlen}", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")
            _ip("-n", ns, "link", "set", "lo", "up")

    def exec(self, name: str) -> list[str]:
        """The prefix that runs a command on host ``name``."""
        return ["ip", "netns", "exec", self.netns[name]]

    def cut(self, name: str) -> None:
        _ip("link", "set", self._port[name], "down")

    def mend(self, name: str) -> None:
        _ip("link", "set", self._port[name], "up")

    def remove(self) -> None:
        for ns in self.netns.values():
            pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)
