"""Separate "hosts" for the two-host tests (issue 16): each host gets its own network namespace
when the tests run as root and `ip netns add` works, else its own loopback address.

    netns     host i lives in namespace `sytest-<pid>-<hex>-<i>`, linked to the root namespace by a
              veth pair on a /30 of a free /24 of 198.18.0.0/15 (RFC 2544's range for network
              tests): the root side is .4i+1, the host .4i+2. Every link's route in the root
              namespace has the source `root_address` (.1), so the test client, Redis and the
              balancers reach every host from one address, as from one machine; each host's default
              route leads back to the root namespace. The host's `switchyard serve` runs under
              `ip netns exec`; Redis, the balancers and the test client stay in the root namespace.
    loopback  host i on 127.0.0.(2+i) in the root namespace; `root_address` is 127.0.0.1.

`SWITCHYARD_TEST_NO_NETNS=1` forces loopback. The mode is part of every test id that uses
`host_network` (`test_x[netns]`, `test_x[loopback]`) and is printed in pytest's header.

    def test_x(server_factory, host_network):
        with RedisServer(host=host_network.root_address) as redis:
            a, b = host_network.start_hosts(server_factory, extra_args=["--redis", redis.url])

Clean-up always runs (fixture teardown, and `atexit` for an interrupted run): the servers this
network started are stopped, every process left in a namespace is killed, the namespaces and the
veth pairs are deleted. Namespaces of a test run that died without cleaning
up (its pid gone) are removed by the next run. Concurrent runs never collide: namespace names
carry the pid and random bytes, and the /24 is chosen and configured under a lock file, skipping
any /24 the root namespace already uses.
"""

from __future__ import annotations

import atexit
import fcntl
import ipaddress
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

NO_NETNS_ENV = "SWITCHYARD_TEST_NO_NETNS"
TEST_RANGE = ipaddress.ip_network("198.18.0.0/15")
PREFIX = "sytest-"
_NAME = re.compile(rf"^{PREFIX}(\d+)-[0-9a-f]+-\d+$")
_LOCK = Path(tempfile.gettempdir()) / "switchyard-test-netns.lock"


class NetnsError(RuntimeError):
    pass


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=15)
    if check and r.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)}: {r.stderr.strip() or r.returncode}")
    return r


def _namespaces() -> list[str]:
    r = _ip("netns", "list", check=False)
    return [line.split()[0] for line in r.stdout.splitlines() if line.strip()]


def _kill_and_delete(ns: str):
    """SIGKILLs every process in `ns` (until none is left), then deletes it: a namespace lives
    on while a process holds it, whatever `ip netns del` says."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        pids = [int(p) for p in _ip("netns", "pids", ns, check=False).stdout.split() if p.isdigit()]
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)
    _ip("netns", "del", ns, check=False)


def _sweep_dead_runs():
    """Namespaces of earlier runs whose process is gone (killed before its clean-up)."""
    for ns in _namespaces():
        m = _NAME.match(ns)
        if m and not Path(f"/proc/{m.group(1)}").exists():
            _kill_and_delete(ns)


def _probe() -> bool:
    if os.environ.get(NO_NETNS_ENV, "") not in ("", "0"):
        return False
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return False
    name = f"{PREFIX}{os.getpid()}-{secrets.token_hex(3)}-probe"
    try:
        ok = _ip("netns", "add", name, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False
    if ok:
        _ip("netns", "del", name, check=False)
    return ok


MODE = "netns" if _probe() else "loopback"


def describe_mode() -> str:
    if MODE == "netns":
        return "two-host tests: separate network namespaces (veth pairs in 198.18.0.0/15)"
    why = f"{NO_NETNS_ENV} is set" if os.environ.get(NO_NETNS_ENV, "") not in ("", "0") else "not root or no `ip netns`"
    return f"two-host tests: loopback addresses 127.0.0.2, 127.0.0.3 ({why})"


def _used_networks() -> list:
    out = []
    for args in (("-o", "-4", "addr", "show"), ("-4", "route", "show", "table", "all")):
        for token in _ip(*args, check=False).stdout.split():
            try:
                out.append(ipaddress.ip_network(token, strict=False))
            except ValueError:
                continue
    return out


class HostNetwork:
    """`count` hosts' addresses (and namespaces, in netns mode). Attributes: mode, root_address,
    addresses, namespaces (None each in loopback mode)."""

    def __init__(self, count: int = 2, mode: str = MODE):
        if count > 64:
            raise ValueError("at most 64 hosts (one /24)")
        self.mode = mode
        self.count = count
        self.namespaces: list[str | None] = [None] * count
        self._veths: list[str] = []
        self.addresses = [f"127.0.0.{2 + i}" for i in range(count)]
        self.root_address = "127.0.0.1"
        self._servers: list = []
        self._closed = False

    # ---- lifecycle -----------------------------------------------------------------------

    def open(self) -> "HostNetwork":
        if self.mode == "netns":
            atexit.register(self.close)
            try:
                self._create()
            except BaseException:
                self.close()
                raise
        print(f"host network: {self.mode}: hosts {', '.join(self.addresses)}, "
              f"Redis and clients at {self.root_address}", flush=True)
        return self

    def _create(self):
        tag = secrets.token_hex(3)
        with open(_LOCK, "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            _sweep_dead_runs()
            used = _used_networks()
            candidates = list(TEST_RANGE.subnets(new_prefix=24))
            random.shuffle(candidates)
            subnet = next((n for n in candidates if not any(n.overlaps(u) for u in used)), None)
            if subnet is None:
                raise NetnsError(f"no free /24 in {TEST_RANGE}")
            base = subnet.network_address
            self.root_address = str(base + 1)
            self.addresses = []
            for i in range(self.count):
                ns = f"{PREFIX}{os.getpid()}-{tag}-{i}"
                root_side, host_side = f"sy{tag}{i}r", f"sy{tag}{i}h"
                link_root, host = base + 4 * i + 1, base + 4 * i + 2
                link = ipaddress.ip_network(f"{base + 4 * i}/30")
                _ip("netns", "add", ns)
                self.namespaces[i] = ns
                _ip("link", "add", root_side, "type", "veth", "peer", "name", host_side, "netns", ns)
                self._veths.append(root_side)
                _ip("addr", "add", f"{link_root}/30", "dev", root_side, "noprefixroute")
                _ip("link", "set", root_side, "up")
                # One source address for every host: the client, Redis and the balancers look like
                # one machine to all hosts (a shared rate limit keys on it).
                _ip("route", "add", str(link), "dev", root_side, "src", self.root_address)
                _ip("-n", ns, "link", "set", "lo", "up")
                _ip("-n", ns, "addr", "add", f"{host}/30", "dev", host_side)
                _ip("-n", ns, "link", "set", host_side, "up")
                _ip("-n", ns, "route", "add", "default", "via", str(link_root))
                self.addresses.append(str(host))

    def close(self):
        """Stops the servers started here, kills what is left in the namespaces, deletes them."""
        if self._closed:
            return
        self._closed = True
        for srv in reversed(self._servers):
            try:
                srv.stop()
            except Exception:  # noqa: BLE001 - the namespaces go regardless
                pass
        for ns in self.namespaces:
            if ns is not None:
                _kill_and_delete(ns)
        # A namespace's devices go when the kernel gets to it; deleting one end of a pair removes
        # both at once.
        for veth in self._veths:
            _ip("link", "del", veth, check=False)
        if self.mode == "netns":
            atexit.unregister(self.close)

    def leftovers(self) -> list[str]:
        """This network's namespaces that still exist (empty after close)."""
        mine = {ns for ns in self.namespaces if ns}
        return [ns for ns in _namespaces() if ns in mine]

    def __enter__(self) -> "HostNetwork":
        return self.open()

    def __exit__(self, *exc):
        self.close()

    # ---- hosts ---------------------------------------------------------------------------

    def start_host(self, server_factory, i: int, **options):
        """`switchyard serve` as host i (its address, and its namespace in netns mode)."""
        srv = server_factory(host=self.addresses[i], netns=self.namespaces[i], **options)
        self._servers.append(srv)
        return srv

    def start_hosts(self, server_factory, **options) -> list:
        return [self.start_host(server_factory, i, **options) for i in range(self.count)]

    def wrap(self, i: int, argv: list[str]) -> list[str]:
        """argv run as host i: inside its namespace in netns mode, unchanged otherwise."""
        ns = self.namespaces[i]
        return ["ip", "netns", "exec", ns, *argv] if ns else list(argv)
