"""The fresh tool-result cache (issue 16, item 2): a tool with a TTL (`add_numbers`, `sha256`, or
`--tool-cache-ttl`) is answered from the front's memory when the same arguments come again, in any
member order and number notation; `echo` never is; a TTL on a tool that is not read-only and
idempotent is refused at start-up. Counted in /metrics per tier."""

from __future__ import annotations

import re
import subprocess
import time
import urllib.request

import pytest

from conftest import switchyard_bin
from conformance_util import frames, stateless_post
from sy_http import RawConnection, dumps, rpc

HIT = re.compile(r'^switchyard_cache_(hits|misses)_total\{tier="(memory|redis)"\} (\d+)$', re.M)


def cache_counts(srv) -> dict[str, int]:
    """{"hits.memory": n, "misses.memory": n, "hits.redis": n, "misses.redis": n} from /metrics."""
    with urllib.request.urlopen(f"http://{srv.host}:{srv.port}/metrics", timeout=5) as r:
        text = r.read().decode()
    assert "# TYPE switchyard_cache_hits_total counter" in text, text[:2000]
    counts = {k: 0 for k in ("hits.memory", "misses.memory", "hits.redis", "misses.redis")}
    counts.update({f"{kind}.{tier}": int(n) for kind, tier, n in HIT.findall(text)})  # series at 0 are not shown
    return counts


def delta(before: dict, after: dict) -> dict:
    return {k: after[k] - before[k] for k in after if after[k] != before[k]}


def call_raw(conn: RawConnection, sid: str, name: str, arguments_json: str):
    """A tools/call whose arguments are sent as the exact JSON text given."""
    body = ('{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":%s,"arguments":%s}}'
            % (dumps(name).decode(), arguments_json)).encode()
    r = conn.post(body, session=sid)
    assert r.status == 200, r
    return r.json()


@pytest.mark.timeout(60)
def test_same_arguments_in_any_order_or_notation_are_a_memory_hit_and_echo_never_is(server_factory):
    srv = server_factory(fronts=1, executors=1)
    with RawConnection(srv.host, srv.port) as c:
        sid = c.initialize()
        c0 = cache_counts(srv)
        first = call_raw(c, sid, "add_numbers", '{"a":1,"b":2}')
        assert first["result"]["structuredContent"] == {"sum": 3}, first
        c1 = cache_counts(srv)
        assert delta(c0, c1) == {"misses.memory": 1}, (c0, c1)

        again = call_raw(c, sid, "add_numbers", '{"a":1,"b":2}')
        reordered = call_raw(c, sid, "add_numbers", '{ "b" : 2, "a" : 1.0 }')
        exponent = call_raw(c, sid, "add_numbers", '{"b":2e0,"a":10E-1}')
        c2 = cache_counts(srv)
        assert delta(c1, c2) == {"hits.memory": 3}, (c1, c2)
        for r in (again, reordered, exponent):
            assert r["result"] == first["result"], r

        # Other arguments are another entry; a number that differs only past a double's precision too.
        other = call_raw(c, sid, "add_numbers", '{"a":2,"b":2}')
        assert other["result"]["structuredContent"] == {"sum": 4}
        call_raw(c, sid, "add_numbers", '{"a":9007199254740993,"b":0}')
        call_raw(c, sid, "add_numbers", '{"a":9007199254740992,"b":0}')
        c3 = cache_counts(srv)
        assert delta(c2, c3) == {"misses.memory": 3}, (c2, c3)

        # echo has no TTL: never looked up, so neither a hit nor a miss, however often it is called.
        for _ in range(3):
            r = call_raw(c, sid, "echo", '{"text":"same"}')
            assert r["result"]["content"][0]["text"] == "same"
        assert delta(c3, cache_counts(srv)) == {}


@pytest.mark.timeout(60)
def test_sha256_is_cached_and_a_tool_error_is_not(server_factory):
    srv = server_factory(fronts=1, executors=1)
    with RawConnection(srv.host, srv.port) as c:
        sid = c.initialize()
        c0 = cache_counts(srv)
        a = call_raw(c, sid, "sha256", '{"text":"abc"}')
        b = call_raw(c, sid, "sha256", '{"text":"\\u0061bc"}')  # the same string, escaped
        assert a["result"] == b["result"]
        assert a["result"]["content"][0]["text"].startswith("ba7816bf")
        assert delta(c0, cache_counts(srv)) == {"misses.memory": 1, "hits.memory": 1}
        # Arguments that fail validation never reach the cache (the validation stage answers first).
        c1 = cache_counts(srv)
        bad = call_raw(c, sid, "sha256", '{"text":"abc","rounds":0}')
        assert bad["result"]["isError"] is True
        assert delta(c1, cache_counts(srv)) == {}


@pytest.mark.timeout(60)
def test_the_2026_era_is_cached_apart_and_stamped(server_factory):
    srv = server_factory(fronts=1, executors=1)
    c0 = cache_counts(srv)
    answers = []
    for _ in range(2):
        _, resp = stateless_post(srv, "tools/call", {"name": "add_numbers", "arguments": {"a": 5, "b": 6}})
        assert resp.status == 200, resp
        [msg] = [m for m in frames(resp) if "result" in m]
        answers.append(msg["result"])
    assert answers[0] == answers[1]
    assert answers[1]["resultType"] == "complete" and answers[1]["structuredContent"] == {"sum": 11}
    assert delta(c0, cache_counts(srv)) == {"misses.memory": 1, "hits.memory": 1}
    # The handshake era keys its own entry: a miss first.
    with RawConnection(srv.host, srv.port) as c:
        sid = c.initialize()
        r = call_raw(c, sid, "add_numbers", '{"a":5,"b":6}')
        assert "resultType" not in r["result"]
    assert delta(c0, cache_counts(srv)) == {"misses.memory": 2, "hits.memory": 1}


@pytest.mark.timeout(60)
def test_configured_ttl_expires_and_can_cache_a_pure_tool_without_one(server_factory):
    srv = server_factory(fronts=1, executors=1,
                         extra_args=["--tool-cache-ttl", "add_numbers=300", "--tool-cache-ttl", "echo=60000"])
    with RawConnection(srv.host, srv.port) as c:
        sid = c.initialize()
        c0 = cache_counts(srv)
        call_raw(c, sid, "add_numbers", '{"a":1,"b":1}')
        call_raw(c, sid, "add_numbers", '{"a":1,"b":1}')
        assert delta(c0, cache_counts(srv)) == {"misses.memory": 1, "hits.memory": 1}
        time.sleep(0.45)  # past the 300 ms TTL the config set (the tool's own is 60 s)
        c1 = cache_counts(srv)
        call_raw(c, sid, "add_numbers", '{"a":1,"b":1}')
        assert delta(c1, cache_counts(srv)) == {"misses.memory": 1}
        # The operator may give echo (read-only and idempotent) a TTL; it never has one by itself.
        c2 = cache_counts(srv)
        call_raw(c, sid, "echo", '{"text":"x"}')
        call_raw(c, sid, "echo", '{"text":"x"}')
        assert delta(c2, cache_counts(srv)) == {"misses.memory": 1, "hits.memory": 1}


@pytest.mark.timeout(30)
@pytest.mark.parametrize("args, problem", [
    (["--tool-cache-ttl", "sleep_ms=1000"], "tool 'sleep_ms' is not annotated readOnlyHint and idempotentHint"),
    (["--tool-cache-ttl", "no_such_tool=1000"], "no tool named 'no_such_tool' is served"),
    (["--tool-cache-ttl", "add_numbers=0"], "--tool-cache-ttl takes NAME=MS"),
    (["--tool-cache-ttl", "add_numbers"], "--tool-cache-ttl takes NAME=MS"),
    (["--result-cache-mb=-1"], "--result-cache-mb must be 0...65536"),
])
def test_bad_cache_options_are_refused_at_start(tmp_path, args, problem):
    p = subprocess.run([switchyard_bin(), "serve", "--port", "1", "--run-dir", str(tmp_path / "run")] + args,
                       capture_output=True, text=True, timeout=20)
    assert p.returncode != 0
    assert problem in p.stderr, p.stderr


@pytest.mark.timeout(60)
def test_result_cache_off(server_factory):
    srv = server_factory(fronts=1, executors=1, extra_args=["--result-cache-mb", "0"])
    with RawConnection(srv.host, srv.port) as c:
        sid = c.initialize()
        c0 = cache_counts(srv)
        for _ in range(2):
            assert call_raw(c, sid, "add_numbers", '{"a":1,"b":2}')["result"]["structuredContent"] == {"sum": 3}
        assert delta(c0, cache_counts(srv)) == {}


@pytest.mark.timeout(60)
def test_stale_on_error_works_on_top_once_the_fresh_entry_expired(server_factory):
    import os
    import signal
    srv = server_factory(fronts=1, executors=1,
                         extra_args=["--tool-cache-ttl", "add_numbers=200", "--tool-timeout", "add_numbers=500"])
    with RawConnection(srv.host, srv.port) as c:
        sid = c.initialize()
        fresh = call_raw(c, sid, "add_numbers", '{"a":1,"b":2}')
        hit = call_raw(c, sid, "add_numbers", '{"b":2,"a":1}')
        assert hit["result"] == fresh["result"] and "_meta" not in hit["result"]
        time.sleep(0.3)
        [pid] = srv.executor_pids().values()
        os.kill(pid, signal.SIGSTOP)
        try:
            stale = call_raw(c, sid, "add_numbers", '{"a":1,"b":2}')
            assert stale["result"]["_meta"] == {"io.switchyard/stale": True}, stale
            assert stale["result"]["structuredContent"] == {"sum": 3}
        finally:
            os.kill(pid, signal.SIGCONT)
        # A stale answer is never kept as a fresh one: the next call goes to the executor again.
        c0 = cache_counts(srv)
        again = call_raw(c, sid, "add_numbers", '{"a":1,"b":2}')
        assert "_meta" not in again["result"], again
        assert delta(c0, cache_counts(srv)) == {"misses.memory": 1}


@pytest.mark.timeout(60)
def test_executor_declared_ttls_need_both_hints_and_private_results_stay_private(server_factory, tmp_path):
    from conftest import REPO
    keys = tmp_path / "keys.json"
    tokens = {}
    for name in ("alice-bot", "bob-bot"):
        made = subprocess.run([switchyard_bin(), "keys", "new", "--name", name, "--scopes", "mcp:tools",
                               "--file", str(keys)], capture_output=True, text=True, check=True)
        tokens[name] = made.stdout.strip().splitlines()[-1].strip()
    cmd = "python3 " + str(REPO / "Tests" / "Integration" / "executors" / "cache_meta_executor.py")
    srv = server_factory(fronts=1, executors=0, tools=None, executor_cmds=[cmd],
                         extra_args=["--api-keys", str(keys)])

    def call(who: str, tool: str) -> str:
        auth = {"Authorization": f"Bearer {tokens[who]}"}
        with RawConnection(srv.host, srv.port) as c:
            r = c.post(rpc("tools/call", {"name": tool, "arguments": {}}), session=sid[who], extra=auth)
            assert r.status == 200, r
            return r.json()["result"]["content"][0]["text"]

    sid = {}
    for who in tokens:
        with RawConnection(srv.host, srv.port) as c:
            r = c.post(rpc("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                          "clientInfo": {"name": "t", "version": "1"}}),
                       version=None, extra={"Authorization": f"Bearer {tokens[who]}"})
            assert r.status == 200, r
            sid[who] = r.header("mcp-session-id")
    # Not read-only: its TTL is ignored, every call runs, and the front says so once.
    assert [call("alice-bot", "py_counter") for _ in range(3)] == ["1", "2", "3"]
    log = open(srv.stderr_path).read()
    assert log.count("result cache: TTL ignored") == 1 and "tool=py_counter" in log, log[-3000:]
    # Read-only and idempotent, no cacheScope: each principal gets only its own result.
    assert [call("alice-bot", "py_same_counter") for _ in range(2)] == ["1", "1"]
    assert [call("bob-bot", "py_same_counter") for _ in range(2)] == ["2", "2"]
    assert call("alice-bot", "py_same_counter") == "1"


@pytest.mark.timeout(30)
def test_check_config_shows_and_checks_tool_cache_ttls(tmp_path):
    good = tmp_path / "good.json"
    good.write_text('{"toolCacheTtl": {"sha256": 5000}, "resultCacheMb": 16}')
    p = subprocess.run([switchyard_bin(), "check-config", str(good)], capture_output=True, text=True, timeout=20)
    assert p.returncode == 0, p.stderr
    import json
    front = json.loads(p.stdout)["front"]
    assert front["toolCacheTtl"] == ["sha256=5000"] and front["resultCacheMb"] == 16, front
    bad = tmp_path / "bad.json"
    bad.write_text('{"toolCacheTtl": ["sleep_ms=1000"]}')
    p = subprocess.run([switchyard_bin(), "check-config", str(bad)], capture_output=True, text=True, timeout=20)
    assert p.returncode != 0
    assert "config toolCacheTtl sleep_ms=1000: tool 'sleep_ms' is not annotated" in p.stderr, p.stderr


@pytest.mark.timeout(60)
def test_healthz_shows_the_memory_tier(server_factory):
    srv = server_factory(fronts=1, executors=1)
    assert srv.healthz()[1]["resultCache"] == {"entries": 0, "bytes": 0}
    with RawConnection(srv.host, srv.port) as c:
        sid = c.initialize()
        for i in range(3):
            call_raw(c, sid, "add_numbers", '{"a":%d,"b":0}' % i)
    tier = srv.healthz()[1]["resultCache"]
    assert tier["entries"] == 3 and tier["bytes"] > 3 * 128, tier
