"""Two hosts sharing one Redis behave as one server (issue 16): sessions, deletions, rate limits.

A "host" is a `switchyard serve` with its own run directory in its own network namespace (run
as root; else on its own loopback address, 127.0.0.2 and 127.0.0.3: hosts.py), both with one
--session-key and one Redis (a server, a three-master cluster, or a Sentinel set) in the root
namespace. Redis stopped or failed over during load is degraded, not down.
"""

from __future__ import annotations

import os
import re
import threading
import time

import pytest

from redis_servers import RedisCluster, RedisSentinelSet, RedisServer, key_slot
from sy_http import RawConnection, wait_until

KEY = "5f" * 32


@pytest.fixture(autouse=True)
def no_front_crashes(request):
    """Redis going away, failing over or answering errors never costs a front its life (a
    restarted front would hide a crash behind a passing test)."""
    yield
    for srv in getattr(request.node, "_switchyard_servers", []):
        log = open(srv.stderr_path, errors="replace").read()
        assert "Program crashed" not in log and not re.search(r'child exited" child="front', log), \
            srv.stderr_tail(80)


def start_hosts(net, server_factory, redis_args, fronts=2, extra=(), tools="demo"):
    """Hosts A and B of `net` (the host_network fixture) sharing one key and one Redis."""
    hosts = net.start_hosts(server_factory, fronts=fronts, executors=1, session_key=KEY, tools=tools,
                            extra_args=list(redis_args) + list(extra))
    for h in hosts:
        h.front_count = fronts
        wait_redis(h, up=True)
    return hosts


def health_samples(srv, n=8):
    """/healthz from fresh connections until every front answered (SO_REUSEPORT spreads them)."""
    by_pid = {}
    for _ in range(200):
        h = srv.healthz()[1]
        by_pid[h["pid"]] = h
        if len(by_pid) >= getattr(srv, "front_count", 1) and _ + 1 >= n:
            break
    return list(by_pid.values())


def wait_redis(srv, up: bool, timeout=20.0):
    """Until every front says Redis is up and its state synced (subscribed, loaded), or down."""
    def check():
        samples = health_samples(srv)
        return all(s.get("redis", {}).get("up") is up and s["redis"]["synced"] is up for s in samples)
    wait_until(check, timeout, interval=0.1, what=f"redis up={up} on every front of {srv.host}")


def call(srv, session, text="x", name="echo"):
    arguments = {"text": text} if name == "echo" else {"a": 1, "b": 2} if name == "add_numbers" else {}
    with RawConnection(srv.host, srv.port) as c:
        return c.call_tool(session, name, arguments)


def new_session(srv) -> str:
    with RawConnection(srv.host, srv.port) as c:
        return c.initialize()


def delete(srv, session):
    with RawConnection(srv.host, srv.port) as c:
        return c.request("DELETE", "/mcp", {"Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-11-25"})


def metric(srv, name) -> list[float]:
    """The values of a family's series (per-process gauges: the fronts' only)."""
    with RawConnection(srv.host, srv.port) as c:
        body = c.request("GET", "/metrics").body.decode()
    return [float(m.group(2)) for m in re.finditer(rf"^{name}(\{{[^}}]*\}})? (\S+)$", body, re.M)
            if 'process="' not in (m.group(1) or "") or 'process="front' in m.group(1)]


class Load:
    """Rounds of calls made by one thread until `stop()`, at most `rounds` rounds and `budget`
    seconds, `pause` seconds between rounds (each call opens a connection: the pause keeps the
    client's ports in TIME_WAIT few). `ops` is a list of (kind, op): op(i) makes one call (i: the
    round) and returns None, or a description of what was wrong; an exception it raises is
    recorded as that call's failure (it never ends the thread silently). Each call is kept as
    (kind, started, ended, problem), with monotonic times, so a test asserts that calls really
    ran in a window (Redis down, a failover)."""

    def __init__(self, ops, rounds: int, budget: float, pause: float = 0.005):
        self.ops, self.rounds, self.budget, self.pause = ops, rounds, budget, pause
        self.calls: list[tuple[str, float, float, str | None]] = []
        self.died: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "Load":
        self._thread.start()
        return self

    def _run(self):
        try:
            deadline = time.monotonic() + self.budget
            i = 0
            while not self._stop.is_set() and i < self.rounds and time.monotonic() < deadline:
                for kind, op in self.ops:
                    started = time.monotonic()
                    try:
                        problem = op(i)
                    except Exception as e:  # noqa: BLE001 - a failed call, reported by the test
                        problem = f"{type(e).__name__}: {e}"
                    self.calls.append((kind, started, time.monotonic(), problem))
                i += 1
                self._stop.wait(self.pause)
        except BaseException as e:  # noqa: BLE001 - reported by stop()
            self.died.append(repr(e))
            raise

    def stop(self, timeout: float):
        """Ends the load; asserts its thread ended (not stuck in a call) and did not die."""
        self._stop.set()
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"the load thread did not end within {timeout} s"
        assert self.died == [], self.died

    def failures(self) -> list[str]:
        return [f"{kind} at +{started - self.calls[0][1]:.2f} s: {problem}"
                for kind, started, _, problem in list(self.calls) if problem is not None]

    def ok(self, since: float, until: float = float("inf")) -> dict[str, int]:
        """Per kind, the successful calls that started at `since` or later and ended by `until`."""
        counts = {kind: 0 for kind, _ in self.ops}
        for kind, started, ended, problem in list(self.calls):
            if problem is None and started >= since and ended <= until:
                counts[kind] += 1
        return counts

    def wait_ok(self, since: float, n: int, timeout: float, what: str):
        """Until every kind has `n` successful calls started at `since` or later."""
        def describe():
            now = time.monotonic()
            last = [(kind, round(started - now, 2), round(ended - now, 2), problem)
                    for kind, started, ended, problem in self.calls[-3:]]
            return (f"{n} calls of each kind {what} (got {self.ok(since)}; failures {self.failures()[:3]}; "
                    f"last calls, seconds from now: {last}; thread alive: {self._thread.is_alive()})")
        wait_until(lambda: min(self.ok(since).values()) >= n, timeout, interval=0.05, what=describe)


def mixed_load(a, b, tag: int, rounds: int, budget: float) -> Load:
    """Rounds of calls that use Redis when it is there: an echo on A and on B (each host started
    with `--rate-limit echo=100000/s`: Redis's script decides, never refuses), an add_numbers on B
    with fresh arguments each time (a result-cache lookup and store; `--rate-limit
    add_numbers=100000/s` too) and a DELETE on B of a session made on A, refused on B at once.
    Each expects exactly what one server would answer."""
    sessions = [new_session(a), new_session(b)]

    def echo(srv, session):
        def op(i):
            r = call(srv, session, text=f"load-{tag}-{i}")
            if r.status != 200 or b'"isError":true' in r.body or f"load-{tag}-{i}".encode() not in r.body:
                return f"{srv.host}: {r!r}"
        return op

    def add(i):
        with RawConnection(b.host, b.port) as c:
            r = c.call_tool(sessions[1], "add_numbers", {"a": i, "b": tag})
        if r.status != 200 or r.json().get("result", {}).get("structuredContent") != {"sum": i + tag}:
            return f"{b.host}: {r!r}"

    def delete_fresh(i):
        s = new_session(a)
        r = delete(b, s)
        if r.status != 200:
            return f"DELETE on {b.host}: {r!r}"
        r = call(b, s)
        if r.status != 404:
            return f"a session deleted on {b.host} still served there: {r!r}"

    return Load([("echo A", echo(a, sessions[0])), ("echo B", echo(b, sessions[1])),
                 ("add_numbers B", add), ("delete B", delete_fresh)], rounds=rounds, budget=budget)


LOAD_LIMITS = ["--rate-limit", "echo=100000/s", "--rate-limit", "add_numbers=100000/s"]


def shared_sessions_behave_as_one_server(a, b, rounds=10):
    """A session made on A serves on B; DELETE on B is refused on A at once (every front of A)."""
    for i in range(rounds):
        s = new_session(a)
        assert call(b, s).status == 200
        r = delete(b, s)
        assert r.status == 200, r
        # At once: no wait between the DELETE's answer and these calls, on fresh connections.
        for srv in (a, a, a, b):
            r = call(srv, s)
            assert r.status == 404, f"round {i}: a deleted session still served on {srv.host}: {r!r}"


@pytest.mark.timeout(90)
def test_two_hosts_one_redis_share_sessions_and_deletions(server_factory, host_network):
    with RedisServer(host=host_network.root_address) as redis:
        a, b = start_hosts(host_network, server_factory, ["--redis", redis.url])
        shared_sessions_behave_as_one_server(a, b)
        assert all(v == 1 for v in metric(a, "switchyard_redis_up")), metric(a, "switchyard_redis_up")
        assert health_samples(a, 2)[0]["status"] == "ok"


@pytest.mark.timeout(90)
def test_a_log_level_set_on_one_host_holds_on_the_other(server_factory, host_network):
    from sy_http import rpc
    with RedisServer(host=host_network.root_address) as redis:
        a, b = start_hosts(host_network, server_factory, ["--redis", redis.url], tools="demo,conformance")
        quiet, chatty = new_session(a), new_session(a)
        with RawConnection(a.host, a.port) as c:
            assert c.post(rpc("logging/setLevel", {"level": "error"}), session=quiet).status == 200
        for _ in range(4):  # fresh connections: every front of B
            answers = {s: call(b, s, name="test_tool_with_logging").body for s in (quiet, chatty)}
            assert b"notifications/message" not in answers[quiet], answers[quiet]
            assert answers[chatty].count(b"notifications/message") == 3, answers[chatty]


@pytest.mark.timeout(90)
def test_rate_limit_holds_across_hosts(server_factory, host_network):
    with RedisServer(host=host_network.root_address) as redis:
        a, b = start_hosts(host_network, server_factory, ["--redis", redis.url],
                           extra=["--rate-limit", "echo=4/m"])
        s = new_session(a)
        statuses = [call(h, s).status for h in (a, b, a, b, a, b)]
        # One bucket for the caller (its source address) across both hosts: 4 tokens in all.
        assert statuses == [200, 200, 200, 200, 429, 429], statuses
        # Another tool has no rule: not limited, and no bucket in Redis.
        assert call(a, s, name="add_numbers").status == 200
        keys = redis.command("KEYS", "sy:rl:*")
        # Keyed by the address both hosts see the client come from (one machine, hosts.py).
        assert keys == [b"sy:rl:echo\x00a:" + host_network.root_address.encode()], keys


# Every key Switchyard writes (README, "What the hosts share"): only the session hash is a
# session's, and it carries the session id as its hash tag.
KNOWN_KEYS = [
    (re.compile(rb"^sy:\{(v1\.[A-Za-z0-9_.-]+)\}:s$"), "a session's state"),
    (re.compile(rb"^sy:sessions$"), "the session index"),
    (re.compile(rb"^sy:fronts$"), "the live fronts"),
    (re.compile(rb"^sy:events$"), "the shared event log"),
    (re.compile(rb"^sy:rc:[0-9a-f]{64}$"), "a cached result"),
    (re.compile(rb"^sy:rl:[^\x00]+\x00[ap]:.+$"), "a rate-limit bucket"),
    (re.compile(rb"^sy:activity:(1[0-5]|[0-9])$"), "sessions' last uses"),
]


@pytest.mark.timeout(90)
def test_every_key_is_known_and_a_sessions_keys_carry_its_hash_tag(server_factory, host_network):
    from sy_http import rpc
    from test_redis_streams import trigger
    with RedisServer(host=host_network.root_address) as redis:
        # A short idle timeout: the sessions used are flushed to sy:activity:<n> every second.
        a, b = start_hosts(host_network, server_factory, ["--redis", redis.url], tools="demo,conformance",
                           extra=["--rate-limit", "echo=100/m", "--session-idle-timeout", "8"])
        sessions = [new_session(a), new_session(b), new_session(a)]
        with RawConnection(a.host, a.port) as c:
            assert c.post(rpc("logging/setLevel", {"level": "error"}), session=sessions[0]).status == 200
            r = c.post(rpc("resources/subscribe", {"uri": "test://watched-resource"}), session=sessions[1])
            assert r.status == 200, r
        # sessions[1] used on A (made on B): flushed within a second. Before the rate-limited
        # call, whose bucket expires once it is full again (0.6 s).
        wait_until(lambda: redis.command("KEYS", "sy:activity:*"), 5, what="a flush of the sessions used")
        assert call(b, sessions[0]).status == 200                      # rate-limited
        assert call(a, sessions[1], name="add_numbers").status == 200  # cached
        assert delete(b, sessions[2]).status == 200
        trigger(a)                                                     # a list change, in the log
        wait_until(lambda: redis.command("EXISTS", "sy:events") == 1, 5, what="the change in the log")
        keys = sorted(redis.command("KEYS", "*"))
        kinds = {}
        for key in keys:
            kind = next((k for pattern, k in KNOWN_KEYS if pattern.match(key)), None)
            assert kind is not None, f"a key of unknown shape: {key!r}"
            kinds.setdefault(kind, []).append(key)
        assert set(kinds) == {k for _, k in KNOWN_KEYS}, kinds
        # Every key naming a session is that session's hash, tagged with the whole session id.
        for sid in sessions:
            named = [k for k in keys if sid.encode() in k]
            assert named == [f"sy:{{{sid}}}:s".encode()], (sid, named)
        assert sorted(redis.command("ZRANGE", "sy:sessions", 0, -1)) == sorted(s.encode() for s in sessions)


# A MONITOR line (a status reply): `<unix time> [<db> <client address, or "lua">] "CMD" "arg" ...`.
MONITOR_LINE = re.compile(r'^[0-9.]+ \[\d+ (?P<source>\S+)\] (?P<args>".*)$', re.S)
MONITOR_ARG = re.compile(r'"((?:[^"\\]|\\.)*)"')
ACTIVITY_KEY = re.compile(r"^sy:activity:(1[0-5]|[0-9])$")


def monitor_commands(lines: list[str]) -> list[tuple[str, list[str], list[list[str]]]]:
    """MONITOR lines as commands sent by clients: (client address, argv, argvs of the commands
    the script ran, for EVAL/EVALSHA). A script's own commands come as `lua` lines right after
    the script's line (Redis runs one command at a time)."""
    out: list[tuple[str, list[str], list[list[str]]]] = []
    for line in lines:
        m = MONITOR_LINE.match(line)
        assert m, f"not a MONITOR line: {line!r}"
        argv = MONITOR_ARG.findall(m.group("args"))
        if m.group("source") == "lua":
            assert out and out[-1][1][0].upper() in ("EVAL", "EVALSHA"), f"a script's command alone: {line!r}"
            out[-1][2].append(argv)
        else:
            out.append((m.group("source"), argv, []))
    return out


def background_kind(source: str, argv: list[str], inner: list[list[str]], fronts: dict[str, str]) -> str | None:
    """What a front does on its timers, or None for anything else (a command a call made):
    "registration": the script that registers the front in sy:fronts (TIME, ZADD and
    ZREMRANGEBYSCORE on sy:fronts only); "flush": the script that sends the sessions used to one
    sy:activity:<n> (TIME, ZADD GT, ZREMRANGEBYSCORE, EXPIRE on that key only); "probe": the
    PUBLISH of `probe <n>` on the front's own channel sy:acks:<front id>, where <front id> is what
    this client registered (`fronts`: client address -> front id, filled here)."""
    name = argv[0].upper()
    if name in ("EVAL", "EVALSHA") and len(argv) >= 4 and argv[2] == "1":
        key = argv[3]
        allowed = {"sy:fronts": {"TIME", "ZADD", "ZREMRANGEBYSCORE"}}.get(key)
        if ACTIVITY_KEY.match(key):
            allowed = {"TIME", "ZADD", "ZREMRANGEBYSCORE", "EXPIRE"}
        if allowed is None:
            return None
        for cmd in inner:
            if cmd[0].upper() not in allowed or (cmd[0].upper() != "TIME" and cmd[1] != key):
                return None
        if key == "sy:fronts":
            if len(argv) < 5 or fronts.setdefault(source, argv[4]) != argv[4]:
                return None
            return "registration"
        return "flush"
    if name == "PUBLISH" and len(argv) == 3 and source in fronts and argv[1] == f"sy:acks:{fronts[source]}" \
            and re.fullmatch(r"probe \d+", argv[2]):
        return "probe"
    return None


@pytest.mark.timeout(90)
def test_a_call_neither_cached_nor_limited_does_not_touch_redis(server_factory, host_network):
    with RedisServer(host=host_network.root_address) as redis:
        # A short idle timeout, so each front flushes the sessions it saw used every second
        # meanwhile: that batch is per second, not per call.
        a, b = start_hosts(host_network, server_factory, ["--redis", redis.url], fronts=1,
                           extra=["--session-idle-timeout", "8"])
        sessions = [new_session(h) for h in (a, b)]
        monitor = redis.connect(timeout=10)
        monitor.command("MONITOR")
        stop = threading.Event()
        # MONITOR lines are status replies ("+<time> [db addr] "CMD" ...").
        lines: list[str] = []

        def pump():
            while not stop.is_set():
                try:
                    lines.append(monitor.read_reply())
                except Exception:
                    return
        t = threading.Thread(target=pump, daemon=True)
        t.start()
        # Markers sent by the test itself, waited for: MONITOR sees what Redis gets, and every line
        # between them was read.
        marker = f"sy-test-{os.getpid()}"

        def mark(what) -> int:
            """The number of lines up to and including the marker's."""
            redis.command("ECHO", f"{marker}-{what}")
            return wait_until(lambda: next((i + 1 for i, l in enumerate(lines) if f"{marker}-{what}" in l), None),
                              5, what=f"the {what} marker in MONITOR")
        first = mark("start")
        started = time.monotonic()
        # Long enough for the fronts' timers to run a few times (seen below: MONITOR sees the
        # fronts), with many more calls than background commands.
        calls = 0
        def enough() -> bool:  # the count the assertions below need for the time taken
            so_far = time.monotonic() - started
            return calls >= 400 and so_far >= 2.5 and calls > 40 * (int(so_far) + 2)
        while not enough() and calls < 20000 and time.monotonic() - started < 20:
            for h, s in zip((a, b), sessions):
                assert call(h, s, text=str(calls)).status == 200
                calls += 1
        elapsed = time.monotonic() - started
        last = mark("end")
        stop.set()
        monitor.close()
        t.join(timeout=5)
        assert not t.is_alive()
        commands = monitor_commands(lines[first:last - 1])
        fronts: dict[str, str] = {}
        kinds: dict[str, int] = {"registration": 0, "flush": 0, "probe": 0}
        per_request = []
        for source, argv, inner in commands:
            kind = background_kind(source, argv, inner, fronts)
            if kind is None:
                per_request.append((source, argv, inner))
            else:
                kinds[kind] += 1
        # Nothing but the fronts' timers: their once-a-second registration (a script on sy:fronts),
        # subscription probe (a PUBLISH on the front's own sy:acks:<front> channel) and flush of
        # the sessions used (a script on one sy:activity:<n>: each front has its one session there).
        assert per_request == [], per_request[:10]
        # Each of those at most once a second per front (2 fronts), whatever the number of calls:
        # a command per call (calls > 20 times this bound) would exceed it.
        bound = 2 * (int(elapsed) + 2)
        assert calls > 20 * bound, (calls, bound)
        assert all(n <= bound for n in kinds.values()), (elapsed, kinds)
        # And MONITOR did see the fronts: both registered, and probed, meanwhile.
        assert len(fronts) == 2 and kinds["registration"] >= 2 and kinds["probe"] >= 2, (fronts, kinds)


@pytest.mark.timeout(120)
def test_redis_down_is_degraded_and_sharing_resumes_without_restart(server_factory, host_network):
    with RedisServer(host=host_network.root_address) as redis:
        a, b = start_hosts(host_network, server_factory, ["--redis", redis.url], extra=LOAD_LIMITS)
        sessions = [new_session(a) for _ in range(4)]
        load = mixed_load(a, b, tag=1000, rounds=3000, budget=60).start()
        load.wait_ok(0, 5, 10, "before Redis stops")
        redis.stop()
        stopped = time.monotonic()
        wait_redis(a, up=False)
        wait_redis(b, up=False)
        status, health = a.healthz()
        assert status == 200 and health["status"] == "degraded", health
        assert 0 in metric(a, "switchyard_redis_up")
        # A deletion while Redis is away: this host refuses it at once; the other learns on reconnect.
        deleted_while_down = sessions[2]
        assert delete(b, deleted_while_down).status == 200
        assert call(b, deleted_while_down).status == 404
        load.wait_ok(stopped, 50, 20, "while Redis is down")
        time.sleep(max(0.0, stopped + 1.5 - time.monotonic()))  # down long enough to retry reconnecting
        restarted = time.monotonic()
        redis.start()
        wait_redis(a, up=True)
        wait_redis(b, up=True)
        back = time.monotonic()
        load.wait_ok(back, 50, 20, "after Redis is back")
        load.stop(timeout=15)
        assert load.failures() == [], load.failures()[:5]
        # Calls ran (and succeeded) while Redis was down, not only before and after.
        assert min(load.ok(stopped, restarted).values()) >= 50, load.ok(stopped, restarted)
        # Pushed by B when Redis came back, loaded by A: refused everywhere within seconds.
        wait_until(lambda: all(call(a, deleted_while_down).status == 404 for _ in range(4)), 5.0,
                   what="a deletion made while Redis was down reaching the other host")
        # And a fresh deletion is shared at once again, without restarting Switchyard.
        shared_sessions_behave_as_one_server(a, b, rounds=3)
        wait_until(lambda: sum(metric(a, "switchyard_redis_reconnects_total")) >= 1, 3.0,
                   what="the reconnection counted in /metrics")


@pytest.mark.timeout(150)
def test_three_master_cluster_spreads_session_keys(server_factory, host_network):
    with RedisCluster(masters=3, host=host_network.root_address) as cluster:
        a, b = start_hosts(host_network, server_factory, ["--redis-cluster", cluster.seeds],
                           extra=["--rate-limit", "add_numbers=3/m"])
        shared_sessions_behave_as_one_server(a, b, rounds=12)
        per_node = cluster.keys_per_node("sy:{*}:s")
        assert sum(1 for keys in per_node.values() if keys) >= 2, per_node
        s = new_session(b)
        assert [call(h, s, name="add_numbers").status for h in (a, b, a, b)] == [200, 200, 200, 429]
        # Resharding under load: the slots of the keys every deletion uses (the live fronts, the
        # session index) move to another master while deletions run on both hosts.
        errors: list[BaseException] = []
        rounds = 0
        stop = threading.Event()

        def load():
            nonlocal rounds
            deadline = time.monotonic() + 40
            while not stop.is_set() and rounds < 200 and time.monotonic() < deadline:
                try:
                    shared_sessions_behave_as_one_server(a, b, rounds=1)
                    shared_sessions_behave_as_one_server(b, a, rounds=1)
                except BaseException as e:  # noqa: BLE001 - reported by the main thread
                    errors.append(e)
                    return
                rounds += 1
        t = threading.Thread(target=load)
        t.start()
        time.sleep(0.3)
        for key in ("sy:fronts", "sy:sessions"):
            source = cluster.node_for_key(key)
            target = next(n for n in cluster.nodes if n is not source)
            cluster.migrate_slot(key_slot(key), source, target)
            assert cluster.node_for_key(key) is target
            time.sleep(0.3)
        time.sleep(0.5)
        stop.set()
        t.join(timeout=60)
        assert errors == [] and rounds > 0, errors[:1]


@pytest.mark.timeout(150)
def test_sentinel_failover_during_load(server_factory, host_network):
    with RedisSentinelSet(replicas=1, sentinels=3, host=host_network.root_address) as sentinels:
        a, b = start_hosts(host_network, server_factory, ["--redis-sentinel", sentinels.sentinels,
                                            "--redis-master", sentinels.master_name], extra=LOAD_LIMITS)
        shared_sessions_behave_as_one_server(a, b, rounds=2)
        load = mixed_load(a, b, tag=2000, rounds=5000, budget=90).start()
        load.wait_ok(0, 5, 10, "before the failover")
        # The load uses Redis: its results are stored there.
        assert len(sentinels.primary().command("KEYS", "sy:rc:*")) >= 5
        old = sentinels.kill_primary()
        killed = time.monotonic()
        sentinels.wait_failover(old)
        wait_redis(a, up=True, timeout=30)
        wait_redis(b, up=True, timeout=30)
        back = time.monotonic()
        new_primary = sentinels.primary()
        stored = len(new_primary.command("KEYS", "sy:rc:*"))
        counted = time.monotonic()
        load.wait_ok(counted, 20, 20, "after the failover")
        load.stop(timeout=15)
        assert load.failures() == [], load.failures()[:5]
        # Calls ran (and succeeded) between the kill and both hosts sharing again.
        assert min(load.ok(killed, back).values()) >= 20, (back - killed, load.ok(killed, back))
        # The load's Redis work goes to the new primary: each add_numbers since is stored there.
        wait_until(lambda: len(new_primary.command("KEYS", "sy:rc:*")) >= stored + 20, 5,
                   what="the results computed after the failover stored on the new primary")
        shared_sessions_behave_as_one_server(a, b, rounds=3)


def fronts_of(srv) -> list[int]:
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
            except OSError:
                continue
            if len(argv) > 1 and argv[1] == b"front" and str(srv.run_dir).encode() in argv:
                out.append(int(pid))
    return out


@pytest.mark.timeout(90)
def test_the_password_never_reaches_argv_or_logs(server_factory, tmp_path):
    password = "pw-" + os.urandom(8).hex()
    with RedisServer(password=password) as redis:
        pw_file = tmp_path / "redis.pw"
        pw_file.write_text(password + "\n")
        pw_file.chmod(0o600)
        url = redis.url.replace(f":{password}@", "")
        a = server_factory(fronts=2, executors=1, session_key=KEY,
                           extra_args=["--redis", url, "--redis-password-file", str(pw_file)])
        a.front_count = 2
        wait_redis(a, up=True)
        pids = fronts_of(a)
        assert len(pids) == 2
        for pid in pids:
            assert password.encode() not in open(f"/proc/{pid}/cmdline", "rb").read()
        s = new_session(a)
        assert call(a, s).status == 200
        redis.stop()
        wait_redis(a, up=False)
        redis.start()
        wait_redis(a, up=True)
        assert password not in a.healthz()[1]["redis"]["server"]
        assert password not in open(a.stderr_path).read()
        # In the URL on serve's command line: warned about, and still kept from the fronts' argv.
        c = server_factory(fronts=1, executors=1, session_key=KEY, extra_args=["--redis", redis.url])
        wait_redis(c, up=True)
        assert [password.encode() not in open(f"/proc/{pid}/cmdline", "rb").read() for pid in fronts_of(c)] == [True]
        log = open(c.stderr_path).read()
        assert "process listings" in log
        assert password not in log.split("\n", 1)[1], "only the harness's own argv line shows it"


@pytest.mark.parametrize("args, message", [
    (["--redis", "http://127.0.0.1:6379"], "--redis"),
    (["--redis", "redis://127.0.0.1:notaport"], "--redis"),
    (["--redis-sentinel", "127.0.0.1:26379"], "--redis-master"),
    (["--redis", "redis://127.0.0.1:6379", "--redis-cluster", "127.0.0.1:7000"], "one of"),
    (["--redis-master", "sy"], "--redis-sentinel"),
])
def test_bad_redis_options_are_clear_start_up_errors(server_factory, args, message):
    from conftest import ServerStartError
    with pytest.raises(ServerStartError) as e:
        server_factory(fronts=1, executors=1, extra_args=args)
    assert message in str(e.value)


@pytest.mark.timeout(90)
def test_an_unreachable_redis_is_a_clear_start_up_error_unless_starting_degraded(server_factory, tmp_path):
    """serve reaches Redis before it starts anything (5 s, with the client's backoff): a closed
    port, a name that does not resolve, a refused password or none each stop the start with
    their reason, never the password; --redis-start-degraded starts anyway and shares once
    Redis answers."""
    from conftest import ServerStartError
    from redis_servers import free_redis_port
    closed = free_redis_port()
    password = "pw-" + os.urandom(6).hex()
    with RedisServer(password=password) as redis:
        url = redis.url.replace(f":{password}@", "")
        wrong = tmp_path / "wrong.pw"
        wrong.write_text("not-" + password + "\n")
        wrong.chmod(0o600)
        for args, reason in [
            (["--redis", f"redis://127.0.0.1:{closed}/0"], "Connection refused"),
            (["--redis", "redis://no-such-host.invalid:6379/0"], "cannot resolve no-such-host.invalid"),
            (["--redis", url, "--redis-password-file", str(wrong)], "WRONGPASS"),
            (["--redis", url], "NOAUTH"),
        ]:
            started = time.monotonic()
            with pytest.raises(ServerStartError) as e:
                server_factory(fronts=1, executors=1, extra_args=args)
            text = str(e.value)
            assert "exited with 64" in text and "cannot reach Redis" in text and reason in text, text
            assert "--redis-start-degraded" in text and password not in text, text
            assert time.monotonic() - started < 20
    srv = server_factory(fronts=1, executors=1, session_key=KEY,
                         extra_args=["--redis", f"redis://127.0.0.1:{closed}/0", "--redis-start-degraded"])
    wait_redis(srv, up=False)
    assert call(srv, new_session(srv)).status == 200
    with RedisServer(port=closed):
        wait_redis(srv, up=True)
        assert call(srv, new_session(srv)).status == 200


def check_config(path):
    import subprocess
    from conftest import switchyard_bin
    return subprocess.run([switchyard_bin(), "check-config", str(path)], capture_output=True, text=True, timeout=30)


def test_config_file_keys_and_the_password_secret(tmp_path):
    import json
    cfg = tmp_path / "serve.json"
    cfg.write_text(json.dumps({"redisSentinel": "10.0.0.5:26379,10.0.0.6:26379", "redisMaster": "sy",
                               "redisUser": "app", "redisPassword": "hunter2-secret"}))
    cfg.chmod(0o644)
    r = check_config(cfg)
    assert r.returncode != 0 and "redisPassword" in r.stderr and "chmod 600" in r.stderr, r.stderr
    cfg.chmod(0o600)
    r = check_config(cfg)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert "hunter2-secret" not in r.stdout + r.stderr
    assert out["front"]["redisSentinel"] == "10.0.0.5:26379,10.0.0.6:26379" and out["front"]["redisMaster"] == "sy"
    assert "redis" in out
    # A password inside the URL is a secret too.
    cfg.write_text(json.dumps({"redis": "redis://:hunter2-secret@10.0.0.5:6379/2"}))
    cfg.chmod(0o644)
    r = check_config(cfg)
    assert r.returncode != 0 and "chmod 600" in r.stderr and "hunter2-secret" not in r.stderr, r.stderr
    cfg.chmod(0o600)
    r = check_config(cfg)
    assert r.returncode == 0 and "hunter2-secret" not in r.stdout, r.stdout + r.stderr
    assert json.loads(r.stdout)["front"]["redis"] == "redis://10.0.0.5:6379/2"


@pytest.mark.timeout(120)
def test_redis_answering_errors_is_logged_and_degraded_never_a_crash(server_factory, host_network):
    with RedisServer(host=host_network.root_address) as redis:
        a, b = start_hosts(host_network, server_factory, ["--redis", redis.url],
                           extra=["--rate-limit", "echo=1000/s"])
        pids = fronts_of(a) + fronts_of(b)
        s = new_session(a)
        # Out of memory: every write and every script that writes is refused with OOM.
        redis.command("CONFIG", "SET", "maxmemory-policy", "noeviction")
        redis.command("CONFIG", "SET", "maxmemory", "1")
        for i in range(20):
            assert call(a if i % 2 else b, s, text=str(i)).status == 200  # rate limit: the local table decides
        doomed = new_session(b)
        assert delete(b, doomed).status == 200 and call(b, doomed).status == 404
        # A key of the wrong type where the session index should be.
        redis.command("CONFIG", "SET", "maxmemory", "0")
        redis.command("DEL", "sy:sessions")
        redis.command("SET", "sy:sessions", "not a sorted set")
        other = new_session(a)
        assert delete(a, other).status == 200 and call(a, other).status == 404
        assert all(call(h, s).status == 200 for h in (a, b, a, b))
        time.sleep(1.5)
        assert fronts_of(a) + fronts_of(b) == pids, "no front restarted"
        log = open(a.stderr_path).read() + open(b.stderr_path).read()
        assert "OOM" in log and "WRONGTYPE" in log
        assert log.count("cannot store a session event") <= 8, "logged once per problem, not per retry"
        # Fixed: what was kept is pushed, and both hosts refuse both sessions.
        redis.command("DEL", "sy:sessions")
        wait_until(lambda: all(call(h, x).status == 404 for h in (a, b) for x in (doomed, other)), 10.0,
                   what="the deletions kept during the errors reaching both hosts")
