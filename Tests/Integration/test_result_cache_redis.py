"""The result cache's shared tier (issue 16): two hosts (`switchyard serve` in separate network
namespaces when run as root, else on 127.0.0.2 and 127.0.0.3: hosts.py; one --session-key, one
real redis-server started here) share fresh results through
Redis, sealed with AES-256-GCM; Redis slow, altered or down never fails or holds up a call."""

from __future__ import annotations

import os
import signal
import time

import pytest

from redis_servers import RedisCluster, RedisSentinelSet, RedisServer
from sy_http import RawConnection, wait_until
from test_redis_shared_state import KEY, Load, wait_redis
from test_result_cache import cache_counts, call_raw, delta


def start_hosts(net, server_factory, redis_url=None, redis_args=None):
    """Hosts A and B with one front each, on `--redis redis_url` or on `redis_args`."""
    args = list(redis_args) if redis_args is not None else ["--redis", redis_url]
    hosts = net.start_hosts(server_factory, fronts=1, executors=1, session_key=KEY, extra_args=args)
    for h in hosts:
        wait_redis(h, up=True)
    return hosts


def result_keys(redis) -> list[bytes]:
    return sorted(redis.command("KEYS", "sy:rc:*"))


def session(srv) -> tuple[RawConnection, str]:
    c = RawConnection(srv.host, srv.port)
    return c, c.initialize()


@pytest.mark.timeout(90)
def test_a_result_computed_on_a_is_a_hit_on_b(server_factory, host_network):
    with RedisServer(host=host_network.root_address) as redis:
        a, b = start_hosts(host_network, server_factory, redis.url)
        (ca, sa), (cb, sb) = session(a), session(b)
        with ca, cb:
            a0, b0 = cache_counts(a), cache_counts(b)
            on_a = call_raw(ca, sa, "add_numbers", '{"a":7,"b":8}')
            assert on_a["result"]["structuredContent"] == {"sum": 15}
            assert delta(a0, cache_counts(a)) == {"misses.memory": 1, "misses.redis": 1}
            wait_until(lambda: len(result_keys(redis)) == 1, 5, what="A's result stored in Redis")
            [key] = result_keys(redis)
            assert len(key) == len("sy:rc:") + 64
            # Sealed: nothing of the result is readable in Redis; it lives as long as the tool's TTL.
            value = redis.command("GET", key)
            assert b"structuredContent" not in value and b"15" not in value
            assert 55_000 < redis.command("PTTL", key) <= 60_000

            on_b = call_raw(cb, sb, "add_numbers", '{ "b": 8, "a": 7.0 }')
            assert on_b["result"] == on_a["result"]
            assert delta(b0, cache_counts(b)) == {"misses.memory": 1, "hits.redis": 1}
            # The Redis hit filled B's memory: the next one stays on B.
            b1 = cache_counts(b)
            assert call_raw(cb, sb, "add_numbers", '{"a":7,"b":8}')["result"] == on_a["result"]
            assert delta(b1, cache_counts(b)) == {"hits.memory": 1}

            # A value altered in Redis does not open: a miss, and the call is answered by an executor.
            call_raw(ca, sa, "sha256", '{"text":"shared"}')
            wait_until(lambda: len(result_keys(redis)) == 2, 5, what="the second result in Redis")
            [sha_key] = [k for k in result_keys(redis) if k != key]
            box = bytearray(redis.command("GET", sha_key))
            box[20] ^= 1
            redis.command("SET", sha_key, bytes(box), "PX", "60000")
            b2 = cache_counts(b)
            r = call_raw(cb, sb, "sha256", '{"text":"shared"}')
            assert "isError" not in r["result"] or r["result"]["isError"] is False
            assert len(r["result"]["content"][0]["text"]) == 64
            assert delta(b2, cache_counts(b)) == {"misses.memory": 1, "misses.redis": 1}
            wait_until(lambda: "did not open" in open(b.stderr_path).read(), 5, what="the altered value logged")

            # echo has no TTL: it never asks Redis and leaves nothing there.
            b3 = cache_counts(b)
            call_raw(cb, sb, "echo", '{"text":"x"}')
            assert delta(b3, cache_counts(b)) == {}
            assert len(result_keys(redis)) == 2


@pytest.mark.timeout(90)
def test_a_stalled_redis_holds_a_call_up_only_briefly(server_factory, host_network):
    with RedisServer(host=host_network.root_address) as redis:
        a, b = start_hosts(host_network, server_factory, redis.url)
        c, sid = session(b)
        with c:
            os.kill(redis.process.pid, signal.SIGSTOP)
            try:
                b0 = cache_counts(b)
                t0 = time.monotonic()
                r = call_raw(c, sid, "add_numbers", '{"a":100,"b":1}')
                elapsed = time.monotonic() - t0
                assert r["result"]["structuredContent"] == {"sum": 101}
                # The lookup waits 50 ms, then the call goes to an executor (generous bound on a busy box).
                assert elapsed < 1.0, elapsed
                assert delta(b0, cache_counts(b)) == {"misses.memory": 1, "misses.redis": 1}
            finally:
                os.kill(redis.process.pid, signal.SIGCONT)


@pytest.mark.timeout(120)
def test_redis_down_calls_still_succeed_and_sharing_resumes(server_factory, host_network):
    with RedisServer(host=host_network.root_address) as redis:
        a, b = start_hosts(host_network, server_factory, redis.url)
        redis.stop()
        wait_redis(a, up=False)
        wait_redis(b, up=False)
        for srv in (a, b):
            c, sid = session(srv)
            with c:
                before = cache_counts(srv)
                for i in range(20):
                    r = call_raw(c, sid, "add_numbers", '{"a":%d,"b":1}' % i)
                    assert r["result"]["structuredContent"] == {"sum": i + 1}, r
                # Down: Redis is not asked at all (no Redis miss counted); memory works on its own.
                assert delta(before, cache_counts(srv)) == {"misses.memory": 20}
                assert call_raw(c, sid, "add_numbers", '{"a":0,"b":1}')["result"]["structuredContent"] == {"sum": 1}
        redis.start()
        wait_redis(a, up=True)
        wait_redis(b, up=True)
        (ca, sa), (cb, sb) = session(a), session(b)
        with ca, cb:
            call_raw(ca, sa, "add_numbers", '{"a":41,"b":1}')
            wait_until(lambda: len(result_keys(redis)) == 1, 5, what="A's result stored after Redis returned")
            b0 = cache_counts(b)
            assert call_raw(cb, sb, "add_numbers", '{"a":41,"b":1}')["result"]["structuredContent"] == {"sum": 42}
            assert delta(b0, cache_counts(b)) == {"misses.memory": 1, "hits.redis": 1}


def add(conn, sid, a, b):
    r = call_raw(conn, sid, "add_numbers", '{"a":%d,"b":%d}' % (a, b))
    assert r["result"]["structuredContent"] == {"sum": a + b}, r
    return r["result"]


@pytest.mark.timeout(120)
def test_results_spread_over_a_cluster_and_are_hits_on_the_other_host(server_factory, host_network):
    with RedisCluster(masters=3, host=host_network.root_address) as cluster:
        a, b = start_hosts(host_network, server_factory, redis_args=["--redis-cluster", cluster.seeds])
        (ca, sa), (cb, sb) = session(a), session(b)
        with ca, cb:
            pairs = [(i, 7000) for i in range(12)]
            a0 = cache_counts(a)
            on_a = [add(ca, sa, x, y) for x, y in pairs]
            assert delta(a0, cache_counts(a)) == {"misses.memory": 12, "misses.redis": 12}
            wait_until(lambda: sum(len(k) for k in cluster.keys_per_node("sy:rc:*").values()) == 12, 10,
                       what=lambda: f"A's 12 results stored in the cluster: {cluster.keys_per_node('sy:rc:*')}")
            per_node = cluster.keys_per_node("sy:rc:*")
            # No hash tag: the results spread over the masters by their own slots.
            assert sum(1 for keys in per_node.values() if keys) >= 2, per_node
            b0 = cache_counts(b)
            on_b = [add(cb, sb, x, y) for x, y in pairs]
            assert on_b == on_a
            assert delta(b0, cache_counts(b)) == {"misses.memory": 12, "hits.redis": 12}


@pytest.mark.timeout(150)
def test_results_are_shared_across_a_sentinel_failover(server_factory, host_network):
    with RedisSentinelSet(replicas=1, sentinels=3, host=host_network.root_address) as sentinels:
        a, b = start_hosts(host_network, server_factory, redis_args=[
            "--redis-sentinel", sentinels.sentinels, "--redis-master", sentinels.master_name])
        (ca, sa), (cb, sb) = session(a), session(b)
        with ca, cb:
            primary = sentinels.primary()
            before = add(ca, sa, 1, 8000)
            wait_until(lambda: len(primary.command("KEYS", "sy:rc:*")) == 1, 5, what="A's result on the primary")
            b0 = cache_counts(b)
            assert add(cb, sb, 1, 8000) == before
            assert delta(b0, cache_counts(b)) == {"misses.memory": 1, "hits.redis": 1}

        # Cached calls on both hosts throughout the failover, fresh arguments each time (a Redis
        # lookup and store per call), and hits of the result computed above.
        sessions = [session(h) for h in (a, b)]
        for c, _ in sessions:
            c.close()

        def adder(srv, sid, b_value):
            def op(i):
                with RawConnection(srv.host, srv.port) as c:
                    r = c.call_tool(sid, "add_numbers", {"a": i, "b": b_value})
                if r.status != 200 or r.json().get("result", {}).get("structuredContent") != {"sum": i + b_value}:
                    return f"{srv.host}: {r!r}"
            return op

        def cached(i):
            with RawConnection(b.host, b.port) as c:
                r = c.call_tool(sessions[1][1], "add_numbers", {"a": 1, "b": 8000})
            if r.status != 200 or r.json()["result"] != before:
                return f"{b.host}: {r!r}"
        load = Load([("add A", adder(a, sessions[0][1], 9000)), ("add B", adder(b, sessions[1][1], 10000)),
                     ("cached B", cached)], rounds=20000, budget=90).start()
        load.wait_ok(0, 5, 10, "before the failover")
        old = sentinels.kill_primary()
        killed = time.monotonic()
        new_primary = sentinels.wait_failover(old)
        wait_redis(a, up=True, timeout=30)
        wait_redis(b, up=True, timeout=30)
        back = time.monotonic()
        load.wait_ok(back, 20, 20, "after the failover")
        load.stop(timeout=15)
        assert load.failures() == [], load.failures()[:5]
        assert min(load.ok(killed, back).values()) >= 20, (back - killed, load.ok(killed, back))

        # A result computed on A after the failover is stored on the new primary and a hit on B.
        (ca, sa), (cb, sb) = session(a), session(b)
        with ca, cb:
            stored = set(new_primary.command("KEYS", "sy:rc:*"))
            after = add(ca, sa, 2, 8000)
            wait_until(lambda: len(set(new_primary.command("KEYS", "sy:rc:*")) - stored) == 1, 5,
                       what="A's new result on the new primary")
            b1 = cache_counts(b)
            assert add(cb, sb, 2, 8000) == after
            assert delta(b1, cache_counts(b)) == {"misses.memory": 1, "hits.redis": 1}
