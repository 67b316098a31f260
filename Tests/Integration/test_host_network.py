"""The two-host tests' network (hosts.py): in netns mode each host is reachable only through its
own namespace, everything started there is killed and every namespace and veth is gone after
close, even for a run that died without cleaning up; in loopback mode the hosts are 127.0.0.2
and 127.0.0.3."""

from __future__ import annotations

import os
import signal
import socket
import subprocess

from pathlib import Path

import pytest

import hosts
from sy_http import wait_until


def links() -> str:
    return subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, timeout=10).stdout


def in_other_namespace(pid: int) -> bool:
    """Whether process `pid` runs its program (`ip netns exec` has exec'd it) in another
    network namespace than this one."""
    try:
        mine = os.readlink("/proc/self/ns/net")
        return os.readlink(f"/proc/{pid}/ns/net") != mine and Path(f"/proc/{pid}/comm").read_text().strip() != "ip"
    except OSError:
        return False


@pytest.mark.timeout(60)
def test_processes_namespaces_and_veths_are_gone_after_close(host_network):
    net = host_network
    if net.mode == "loopback":
        assert net.addresses == ["127.0.0.2", "127.0.0.3"] and net.root_address == "127.0.0.1"
        return
    # Each host listens inside its namespace; the root namespace reaches it, from root_address.
    server = socket.socket()
    server.bind((net.root_address, 0))
    server.listen()
    port = server.getsockname()[1]
    children = []
    for i in range(2):
        code = (f"import socket; s = socket.create_connection(('{net.root_address}', {port})); "
                f"s.sendall(b'{i}'); import time; time.sleep(600)")
        # A child of its own session too: killed although no process group of ours holds it.
        children.append(subprocess.Popen(net.wrap(i, ["python3", "-c", code]), start_new_session=True))
    seen = set()
    server.settimeout(10)
    for _ in range(2):
        conn, (address, _) = server.accept()
        seen.add((conn.recv(1).decode(), address))
        conn.close()
    server.close()
    assert seen == {("0", net.addresses[0]), ("1", net.addresses[1])}, seen
    # A host's address is not in the root namespace (only routed to), nor the other host's.
    assert not any(f"inet {a}/" in subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True).stdout
                   for a in net.addresses)
    out = subprocess.run(net.wrap(0, ["ip", "-o", "-4", "addr"]), capture_output=True, text=True, timeout=10).stdout
    assert net.addresses[0] in out and net.addresses[1] not in out, out
    names = list(net.namespaces)
    assert all(in_other_namespace(c.pid) and c.poll() is None for c in children)
    net.close()
    for child in children:
        # Its program sleeps for 600 s: it ended by SIGKILL from close, nothing else.
        assert child.wait(timeout=5) == -signal.SIGKILL
    assert not set(names) & set(hosts._namespaces())
    tag = names[0].split("-")[2]
    assert f"sy{tag}" not in links()


@pytest.mark.timeout(60)
@pytest.mark.skipif(hosts.MODE != "netns", reason="needs network namespaces (root)")
def test_a_dead_runs_namespaces_are_swept_by_the_next():
    # A namespace named as a run whose process is gone (a pid that no longer exists), with a
    # process left in it.
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = f"{hosts.PREFIX}{dead.pid}-abcdef-0"
    subprocess.run(["ip", "netns", "add", stale], check=True, timeout=10)
    leftover = subprocess.Popen(["ip", "netns", "exec", stale, "sleep", "600"], start_new_session=True)
    try:
        # Inside the namespace before the sweep, so that the sweep has a process to kill.
        wait_until(lambda: in_other_namespace(leftover.pid), 10, interval=0.02, what="the left-over process in its namespace")
        with hosts.HostNetwork(2) as net:
            assert stale not in hosts._namespaces()
            assert len(net.leftovers()) == 2
            # The sweep killed it (it sleeps for 600 s otherwise).
            assert leftover.wait(timeout=5) == -signal.SIGKILL
        assert net.leftovers() == []
    finally:
        if leftover.poll() is None:
            leftover.kill()
            leftover.wait(timeout=5)
        subprocess.run(["ip", "netns", "del", stale], capture_output=True, timeout=10)
