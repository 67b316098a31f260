"""The session idle timeout counts every host's uses (issue 16, README "Shared state"): each
front flushes the sessions it saw used to Redis, and a front that would expire a session idle on
its own host asks Redis first. Two hosts (hosts.py), one Redis, `--session-idle-timeout 4`
(flushed every second).
"""

from __future__ import annotations

import time

import pytest

from redis_servers import RedisServer
from test_redis_shared_state import call, delete, new_session, no_front_crashes, start_hosts, wait_redis  # noqa: F401

TIMEOUT = 4


def hosts(net, server_factory, redis):
    return start_hosts(net, server_factory, ["--redis", redis.url], extra=["--session-idle-timeout", str(TIMEOUT)])


def use_every_second(srv, session, seconds):
    """One call a second on `srv` (fresh connections: every front of it), each served."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        r = call(srv, session)
        assert r.status == 200, r
        time.sleep(1)


@pytest.mark.timeout(120)
def test_a_session_used_only_on_one_host_stays_alive_on_the_other(server_factory, host_network):
    with RedisServer(host=host_network.root_address) as redis:
        a, b = hosts(host_network, server_factory, redis)
        kept, deleted_on_a = new_session(a), new_session(b)
        # Three idle timeouts in which A sees neither session.
        deadline = time.monotonic() + 3 * TIMEOUT + 1
        while time.monotonic() < deadline:
            for s in (kept, deleted_on_a):
                assert call(b, s).status == 200
            time.sleep(1)
        for _ in range(4):  # fresh connections: every front of A
            r = call(a, kept)
            assert r.status == 200, f"a session alive on B expired on A: {r!r}"
        # Outside the pipeline too: a DELETE on A of a session only B served ends it everywhere.
        assert delete(a, deleted_on_a).status == 200
        assert call(b, deleted_on_a).status == 404
        assert call(b, kept).status == 200


@pytest.mark.timeout(120)
def test_the_state_of_a_session_in_use_outlives_the_idle_timeout_in_redis(server_factory, host_network):
    from sy_http import RawConnection, rpc
    with RedisServer(host=host_network.root_address) as redis:
        a, b = hosts(host_network, server_factory, redis)
        quiet = new_session(a)
        with RawConnection(a.host, a.port) as c:
            assert c.post(rpc("logging/setLevel", {"level": "error"}), session=quiet).status == 200
        key = f"sy:{{{quiet}}}:s"
        assert redis.command("EXISTS", key) == 1
        use_every_second(b, quiet, 3 * TIMEOUT)
        # Written once, 12 s ago with a 4 s lifetime: kept because the session kept being used.
        assert redis.command("HGET", key, "level") == b"error"
        assert 0 < redis.command("TTL", key) <= TIMEOUT
        assert redis.command("ZSCORE", "sy:sessions", quiet) is not None


@pytest.mark.timeout(120)
def test_a_session_used_nowhere_expires_on_every_host(server_factory, host_network):
    with RedisServer(host=host_network.root_address) as redis:
        a, b = hosts(host_network, server_factory, redis)
        never_used, used_then_silent = new_session(a), new_session(a)
        use_every_second(b, used_then_silent, TIMEOUT + 2)   # known in Redis, then silent
        time.sleep(TIMEOUT + 2.5)
        for s in (never_used, used_then_silent):
            for srv in (a, b, a, b):
                r = call(srv, s)
                assert r.status == 404, f"an idle session still served on {srv.host}: {r!r}"
            assert delete(b, s).status == 404


@pytest.mark.timeout(120)
def test_redis_stopped_each_host_decides_from_its_own_uses(server_factory, host_network):
    with RedisServer(host=host_network.root_address) as redis:
        a, b = hosts(host_network, server_factory, redis)
        on_b, on_a = new_session(b), new_session(a)
        deadline = time.monotonic() + TIMEOUT + 2
        while time.monotonic() < deadline:
            assert call(b, on_b).status == 200
            assert call(a, on_a).status == 200
            time.sleep(1)
        redis.stop()
        wait_redis(a, up=False)
        wait_redis(b, up=False)
        # A never saw on_b used and cannot ask: refused there (degraded), served where it is used.
        for _ in range(3):
            assert call(a, on_b).status == 404
            assert call(b, on_b).status == 200
            assert call(a, on_a).status == 200
        log = open(a.stderr_path, errors="replace").read()
        said = log.count("cannot ask whether another host used a session idle here")
        # Once per front that decided (one outage), not once per refusal.
        assert 1 <= said <= a.front_count, log[-3000:]
