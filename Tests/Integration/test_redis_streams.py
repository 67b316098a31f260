"""Notification streams and client answers across hosts through Redis (issue 16): two
`switchyard serve` hosts (separate run directories, one --session-key, one real redis-server;
separate network namespaces when run as root, else different 127.0.0.x addresses: hosts.py)
behave as one server for GET streams, `subscriptions/listen`
streams, `Last-Event-ID` resumption and answers to a tool's requests; with Redis down each host
serves its own streams, and fan-out resumes when Redis is back."""

from __future__ import annotations

import json
import re
import secrets
import time

import pytest

from conformance_util import StreamingResponse, open_stateless_stream, stateless_post, valid_meta
from redis_servers import RedisCluster, RedisServer
from sy_http import RawConnection, dumps, mcp_headers, rpc, wait_until
from test_get_stream import SSEStream
from test_redis_shared_state import wait_redis

SHARED_ID = re.compile(r"^[0-9]+-[0-9]+$")
LOCAL_ID = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")
FRONTS = 2


@pytest.fixture
def redis(host_network):
    with RedisServer(host=host_network.root_address) as r:
        yield r


def start_hosts(net, server_factory, redis, tools="conformance", fronts=FRONTS, extra=()):
    """Hosts A and B of `net` sharing one session key and one Redis; returns once every front of
    both has subscribed to the notification channel (so nothing published afterwards is missed)."""
    key = secrets.token_hex(32)
    hosts = net.start_hosts(server_factory, fronts=fronts, executors=1, tools=tools, session_key=key,
                            extra_args=["--redis", redis.url, *extra])
    for h in hosts:
        h.front_count = fronts  # for wait_redis: /healthz until every front answered
    wait_subscribed(redis, 2 * fronts)
    return hosts


def wait_subscribed(redis, fronts: int, timeout: float = 15.0):
    def count():
        try:
            reply = redis.command("PUBSUB", "NUMSUB", "sy:notify")
        except OSError:
            return False
        return int(reply[1]) >= fronts
    wait_until(count, timeout, interval=0.05, what=f"{fronts} fronts subscribed to sy:notify")


def trigger(srv, tool="test_trigger_tool_change"):
    req, resp = stateless_post(srv, "tools/call", {"name": tool, "arguments": {}}, meta=valid_meta())
    assert resp.status == 200, resp


def initialize(srv, capabilities=None) -> str:
    with RawConnection(srv.host, srv.port) as c:
        if capabilities is None:
            return c.initialize()
        msg = rpc("initialize", {"protocolVersion": "2025-11-25", "capabilities": capabilities,
                                 "clientInfo": {"name": "redis-streams-test", "version": "1"}})
        r = c.post(msg, version=None)
        assert r.status == 200, r
        sid = r.header("mcp-session-id")
        assert c.post({"jsonrpc": "2.0", "method": "notifications/initialized"}, session=sid).status == 202
        return sid


def listen(srv, lid: int):
    s = open_stateless_stream(srv, "subscriptions/listen",
                              {"notifications": {"toolsListChanged": True}, "_meta": valid_meta()}, id=lid)
    [ack] = s.frames(1, 3)
    assert ack.get("method") == "notifications/subscriptions/acknowledged", ack
    return s


def shared_id(event) -> tuple[int, int]:
    ms, seq = event["id"].split("-")
    return int(ms), int(seq)


def data_events(events):
    return [e for e in events if e.get("data")]


def methods(frames):
    return [f.get("method") for f in frames]


@pytest.mark.timeout(60)
def test_list_change_on_b_reaches_listen_and_get_streams_on_a_once(server_factory, host_network, redis):
    a, b = start_hosts(host_network, server_factory, redis)
    sid = initialize(a)
    get = SSEStream(a, sid)
    [priming] = get.events(1)
    assert SHARED_ID.match(priming["id"]), priming
    with listen(a, 41) as lst:
        trigger(b)
        [change] = data_events(get.events(2, timeout=5))
        assert json.loads(change["data"])["method"] == "notifications/tools/list_changed", change
        assert SHARED_ID.match(change["id"]) and change["id"] != priming["id"], change
        frames = lst.frames(1, 5)
        assert methods(frames) == ["notifications/tools/list_changed"], frames
        assert frames[0]["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == 41, frames
        # B has two fronts and each got the executor's copy: still one event on A's streams.
        assert lst.frames(1, 1.0) == []
        assert len(data_events(get.events(3, timeout=1.0))) == 1
    get.close()


def one_change_then_drop(a, b):
    """A session of A whose GET stream on A sees one change made on B, then is closed; and a
    witness GET stream on B that stays open. Returns the session, the witness and the event."""
    sid = initialize(a)
    witness = SSEStream(b, initialize(b))
    witness.events(1)
    s = SSEStream(a, sid)
    s.events(1)
    trigger(b)
    [event] = data_events(s.events(2, timeout=5))
    s.close()
    return sid, witness, event


@pytest.mark.timeout(60)
def test_last_event_id_resumes_on_the_other_host_without_loss(server_factory, host_network, redis):
    a, b = start_hosts(host_network, server_factory, redis)
    sid, witness, seen = one_change_then_drop(a, b)  # the client's connection to A drops
    trigger(a)  # missed while away: one change made on A, two on B
    trigger(b)
    trigger(b)
    assert len(data_events(witness.events(5, timeout=5))) == 4, "the witness did not see every change"
    r = SSEStream(b, sid, last_event_id=seen["id"])
    got = r.events(4, timeout=5)
    replayed = data_events(got)
    assert len(replayed) == 3, got
    ids = [tuple(map(int, e["id"].split("-"))) for e in replayed]
    assert ids == sorted(set(ids)) and ids[0] > tuple(map(int, seen["id"].split("-"))), got
    # The priming event follows the replay, with the newest id.
    assert got[-1].get("data", "") == "" and got[-1]["id"] == replayed[-1]["id"], got
    trigger(a)
    live = data_events(r.events(5, timeout=5))
    assert len(live) == 4 and tuple(map(int, live[-1]["id"].split("-"))) > ids[-1], live
    r.close()
    witness.close()


@pytest.mark.timeout(60)
def test_unknown_or_malformed_last_event_id_replays_nothing(server_factory, host_network, redis):
    a, b = start_hosts(host_network, server_factory, redis)
    sid = initialize(a)
    trigger(a)
    wait_until(lambda: redis.command("XLEN", "sy:events") == 1, 5, what="the change in the shared log")
    first = SSEStream(b, sid)
    [newest] = first.events(1)
    first.close()
    for forged in ("99999999999999-0", "garbage", "0.1.1", "01-1"):
        r = SSEStream(b, sid, last_event_id=forged)
        got = r.events(2, timeout=1.0)
        assert r.status == 200 and len(got) == 1 and not got[0].get("data"), (forged, got)
        # Never an id from the client's guess: the newest id of the log.
        assert got[0]["id"] == newest["id"], (forged, got)
        r.close()
    # Replaying from the beginning of the log gives that session the change above, nothing else.
    r = SSEStream(b, sid, last_event_id="0-0")
    got = r.events(3, timeout=1.5)
    assert len(data_events(got)) == 1 and got[-1]["id"] == newest["id"], got
    r.close()


@pytest.mark.timeout(90)
def test_the_shared_log_keeps_its_length_and_age_bounds(server_factory, host_network, redis):
    """--event-store-size 5 --event-store-age 2 with Redis. The log is trimmed with `MAXLEN ~` and
    `MINID ~`, which Redis applies in whole stream nodes (a node holds up to
    stream-node-max-entries entries, and closes earlier at stream-node-max-bytes): the log may hold
    up to one node's worth more than the length bound, and an old entry that shares a node with
    newer ones stays. What holds: XLEN never exceeds the bound plus one node, and drops once a node
    is full; a resume from an id older than the log's oldest replays what the log keeps, at most
    the bound's 5 newest; with no append for the age, the log expires (PEXPIRE) and a new append
    starts it afresh, so nothing older than the age is replayed."""
    a, b = start_hosts(host_network, server_factory, redis, extra=["--event-store-size", "5", "--event-store-age", "2"])
    node = int(redis.command("CONFIG", "GET", "stream-node-max-entries")[1])
    assert node > 0, "a node of unlimited entries: no bound to check"
    sid, witness, first = one_change_then_drop(a, b)
    # More changes than one node holds: at least one node fills and is trimmed.
    appended = node + 20
    lengths = []
    for _ in range(appended - 1):
        trigger(a)
        lengths.append(redis.command("XLEN", "sy:events"))
    assert len(data_events(witness.events(appended + 1, timeout=15))) == appended, "not every change arrived"
    kept = redis.command("XLEN", "sy:events")
    lengths.append(kept)
    assert max(lengths) <= 5 + node, (node, lengths)
    assert kept < appended and redis.command("XRANGE", "sy:events", first["id"], first["id"]) == [], (kept, lengths)
    assert 0 < redis.command("PTTL", "sy:events") <= 2000
    newest = [e[0].decode() for e in redis.command("XREVRANGE", "sy:events", "+", "-", "COUNT", 5)][::-1]
    # A Last-Event-ID the log no longer holds: what it keeps, the 5 newest, then the priming event.
    r = SSEStream(b, sid, last_event_id=first["id"])
    got = r.events(len(newest) + 1, timeout=3)
    r.close()
    assert [e["id"] for e in data_events(got)] == newest and len(newest) == min(5, kept), (newest, got)
    assert got[-1].get("data", "") == "" and got[-1]["id"] == newest[-1], got
    # No append for the age: the whole log expires; the next append starts it afresh (and expires
    # 2 s after it: what follows takes milliseconds).
    wait_until(lambda: redis.command("EXISTS", "sy:events") == 0, 5, interval=0.1, what="the log expiring")
    trigger(a)
    [last] = data_events(witness.events(appended + 2, timeout=5))[-1:]
    assert redis.command("XLEN", "sy:events") == 1
    [[fresh, _]] = redis.command("XRANGE", "sy:events", "-", "+")
    assert fresh.decode() == last["id"]
    for resume_from in (first["id"], newest[-1]):
        r = SSEStream(b, sid, last_event_id=resume_from)
        got = r.events(2, timeout=1)  # the replayed entry, then the priming event
        r.close()
        assert [e["id"] for e in data_events(got)] == [last["id"]], (resume_from, got)
        assert got[-1].get("data", "") == "" and got[-1]["id"] == last["id"], got
    seconds, micros = redis.command("TIME")
    now_ms = int(seconds) * 1000 + int(micros) // 1000
    assert shared_id(last)[0] >= now_ms - 2000, "replayed an entry older than the age"
    # While appends keep coming the key does not expire, and an entry older than the age stays in
    # its node: a resume still replays only the entries within the age, by Redis's clock.
    for pause in (1.2, 0.5, 0.5):  # gaps under the 2 s the key lives after an append
        time.sleep(pause)
        trigger(a)
    ids = [e[0].decode() for e in redis.command("XRANGE", "sy:events", "-", "+")]
    seconds, micros = redis.command("TIME")
    now_ms = int(seconds) * 1000 + int(micros) // 1000
    assert ids[0] == last["id"] and shared_id(last)[0] < now_ms - 2000, (ids, last, now_ms)
    r = SSEStream(b, sid, last_event_id=first["id"])
    got = r.events(10, timeout=1.5)
    r.close()
    assert [e["id"] for e in data_events(got)] == ids[1:], (ids, got)
    witness.close()


def post_tool_call_stream(srv, sid, name, arguments, id):
    body = dumps(rpc("tools/call", {"name": name, "arguments": arguments}, id=id))
    return StreamingResponse(srv, mcp_headers(session=sid), body, timeout=10)


def answer(srv, sid, id, result):
    with RawConnection(srv.host, srv.port) as c:
        return c.post({"jsonrpc": "2.0", "id": id, "result": result}, session=sid)


# A request a tool makes of its client, the answer the client gives, and what the tool returns
# with it: elicitation and sampling from the conformance pack's 2025-11-25 tools; roots/list
# from the stdio upstream's `list_roots` (no built-in 2025-11-25 tool asks for roots: the
# conformance pack's roots tool is 2026-07-28 only, where no answer is posted to a host).
CLIENT_REQUESTS = {
    "elicitation": ("test_elicitation", {"message": "Who?"}, {"elicitation": {}}, "elicitation/create",
                    {"action": "accept", "content": {"response": "from B"}}, ["action=accept", "from B"]),
    "sampling": ("test_sampling", {"prompt": "Say hi"}, {"sampling": {}}, "sampling/createMessage",
                 {"role": "assistant", "content": {"type": "text", "text": "hi from B"}, "model": "test-model",
                  "stopReason": "endTurn"}, ["LLM response: hi from B"]),
    "roots": ("list_roots", {}, {"roots": {}}, "roots/list",
              {"roots": [{"uri": "file:///from-b", "name": "b"}]}, ["file:///from-b"]),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", list(CLIENT_REQUESTS))
def test_client_answer_posted_to_b_reaches_the_tool_waiting_on_a(server_factory, host_network, redis, kind):
    tool, arguments, capabilities, method, result, expected = CLIENT_REQUESTS[kind]
    if kind == "roots":
        from test_upstream import upstream_command
        key = secrets.token_hex(32)
        a, b = host_network.start_hosts(server_factory, fronts=FRONTS, executors=1, tools="demo", session_key=key,
                                        extra_args=["--redis", redis.url, "--upstream",
                                                    f"up={upstream_command('--no-resources')}", "--upstream-pool", "1"])
        wait_subscribed(redis, 2 * FRONTS)
    else:
        a, b = start_hosts(host_network, server_factory, redis)
    sid = initialize(a, capabilities)
    other = initialize(b, capabilities)
    with post_tool_call_stream(a, sid, tool, arguments, 7) as call:
        [ask] = call.frames(1, 5)
        assert ask.get("method") == method, ask
        # Refused as on one host: an id no request has, and the right id from another session.
        bogus = answer(b, sid, "sy-made-up", result)
        assert bogus.status == 400 and bogus.json()["id"] is None, bogus
        stolen = answer(b, other, ask["id"], result)
        assert stolen.status == 400, stolen
        ok = answer(b, sid, ask["id"], result)
        assert ok.status == 202, ok
        [done] = call.frames(1, 5)
    assert done.get("id") == 7, done
    text = done["result"]["content"][0]["text"]
    assert all(e in text for e in expected) and not done["result"].get("isError"), done


@pytest.mark.timeout(60)
def test_input_required_retry_completes_on_the_other_host(server_factory, host_network, redis):
    """2026-07-28: the sealed requestState of round 1 on A is good for round 2 on B (one key)."""
    a, b = start_hosts(host_network, server_factory, redis)
    name = "test_input_required_result_request_state"
    req, resp = stateless_post(a, "tools/call", {"name": name, "arguments": {}})
    r1 = resp.json()["result"]
    assert r1["resultType"] == "input_required" and r1["requestState"], r1
    req, resp = stateless_post(b, "tools/call", {
        "name": name, "arguments": {}, "requestState": r1["requestState"],
        "inputResponses": {"confirm": {"action": "accept", "content": {"ok": True}}}})
    r2 = resp.json()["result"]
    assert r2.get("resultType") == "complete" and r2["content"][0]["text"].startswith("state-ok"), r2


@pytest.mark.timeout(90)
def test_redis_down_serves_locally_and_fan_out_resumes(server_factory, host_network, redis):
    a, b = start_hosts(host_network, server_factory, redis)
    sid = initialize(a)
    get = SSEStream(a, sid)
    get.events(1)
    with listen(a, 5) as lst:
        redis.stop()
        trigger(a)
        [local] = data_events(get.events(2, timeout=6))
        assert LOCAL_ID.match(local["id"]), local
        assert methods(lst.frames(1, 6)) == ["notifications/tools/list_changed"]
        redis.start()
        wait_subscribed(redis, 2 * FRONTS, timeout=20)
        # Subscribed is not yet sharing: a front whose command connection is still in its
        # reconnect backoff keeps a change local (degraded mode), so wait for every front of both.
        wait_redis(a, up=True)
        wait_redis(b, up=True)
        trigger(b)
        [shared] = data_events(get.events(3, timeout=10))[1:]
        assert SHARED_ID.match(shared["id"]), shared
        assert methods(lst.frames(1, 10)) == ["notifications/tools/list_changed"]
    get.close()


@pytest.mark.timeout(60)
def test_get_stream_catches_up_from_the_log_after_its_channel_was_cut(server_factory, host_network, redis):
    """A change published while host A's fronts were resubscribing (every pub/sub connection cut)
    still reaches A's GET stream, once: read from the log when the subscription is back."""
    a, b = start_hosts(host_network, server_factory, redis)
    sid = initialize(a)
    get = SSEStream(a, sid)
    get.events(1)
    redis.command("CLIENT", "KILL", "TYPE", "pubsub")
    trigger(b)
    got = data_events(get.events(2, timeout=8))
    assert len(got) == 1 and SHARED_ID.match(got[0]["id"]), got
    assert len(data_events(get.events(3, timeout=3))) == 1, "delivered twice"
    get.close()


@pytest.mark.timeout(120)
def test_streams_across_hosts_on_a_redis_cluster(server_factory, host_network):
    """The same with a three-master Redis Cluster: the log lives on the node of its slot, the
    channel reaches subscribers on every node."""
    with RedisCluster(masters=3, host=host_network.root_address) as cluster:
        key = secrets.token_hex(32)
        a, b = host_network.start_hosts(server_factory, fronts=FRONTS, executors=1, tools="conformance",
                                        session_key=key, extra_args=["--redis-cluster", cluster.seeds])

        def subscribed():
            return sum(int(n.command("PUBSUB", "NUMSUB", "sy:notify")[1]) for n in cluster.nodes) >= 2 * FRONTS
        wait_until(subscribed, 20, interval=0.1, what="every front subscribed to sy:notify")
        sid = initialize(a)
        get = SSEStream(a, sid)
        get.events(1)
        trigger(b)
        [first] = data_events(get.events(2, timeout=5))
        get.close()
        trigger(a)
        owner = cluster.node_for_key("sy:events")
        wait_until(lambda: owner.command("XLEN", "sy:events") == 2, 5, what="both changes in the log")
        r = SSEStream(b, sid, last_event_id=first["id"])
        got = r.events(2, timeout=5)
        assert len(data_events(got)) == 1 and got[-1]["id"] == data_events(got)[0]["id"], got
        r.close()


@pytest.mark.timeout(60)
@pytest.mark.filterwarnings("ignore:.*deprecated as of 2026-07-28")
def test_official_sdk_client_on_a_hears_a_list_change_made_on_b(server_factory, host_network, redis):
    """The official Python SDK client (2025-11-25) on host A: its own GET stream gets the change a
    call on B made. Changes are made until one arrives (the client opens its stream in the
    background), at most 20."""
    import anyio
    import mcp_types as t
    from mcp import Client

    a, b = start_hosts(host_network, server_factory, redis)
    seen: list = []

    async def handler(msg):
        if isinstance(msg, t.ToolListChangedNotification):
            seen.append(msg)

    async def go():
        async with Client(a.url, mode="legacy", cache=None, read_timeout_seconds=10, message_handler=handler) as c:
            await c.list_tools()
            for _ in range(20):
                await anyio.to_thread.run_sync(trigger, b)
                with anyio.move_on_after(0.5):
                    while not seen:
                        await anyio.sleep(0.02)
                if seen:
                    return
    anyio.run(go)
    assert seen, "no notifications/tools/list_changed reached the SDK client on A"


@pytest.mark.timeout(90)
def test_answer_for_another_host_without_redis_or_without_that_host(server_factory, host_network, redis):
    """Redis away: an answer for a tool waiting on another host gets 503 (the client may answer
    again), while the host of the tool still takes it directly. That host gone: 400, as for an id
    no request waits on."""
    a, b = start_hosts(host_network, server_factory, redis)
    sid = initialize(a, {"elicitation": {}})
    with post_tool_call_stream(a, sid, "test_elicitation", {"message": "Who?"}, 8) as call:
        [ask] = call.frames(1, 5)
        redis.stop()
        away = answer(b, sid, ask["id"], {"action": "accept", "content": {"response": "via B"}})
        assert away.status == 503 and away.json()["id"] is None, away
        ok = answer(a, sid, ask["id"], {"action": "accept", "content": {"response": "on A"}})
        assert ok.status == 202, ok
        [done] = call.frames(1, 5)
    assert "on A" in done["result"]["content"][0]["text"], done
    redis.start()
    wait_subscribed(redis, 2 * FRONTS, timeout=20)
    with post_tool_call_stream(a, sid, "test_elicitation", {"message": "Who?"}, 9) as call:
        [ask] = call.frames(1, 5)
        a.stop()
        # Redis drops A's subscriptions when it reads their connections' end of file, which can
        # come after a command of B's: wait until only B's fronts listen.
        wait_until(lambda: int(redis.command("PUBSUB", "NUMSUB", "sy:notify")[1]) == FRONTS, 10,
                   interval=0.05, what="host A's subscriptions gone")
        gone = answer(b, sid, ask["id"], {"action": "accept", "content": {"response": "too late"}})
        assert gone.status == 400 and gone.json()["id"] is None, gone


@pytest.mark.timeout(90)
def test_a_get_stream_opened_while_redis_was_down_catches_up_when_it_returns(server_factory, host_network, redis):
    """A GET stream opened on A while Redis is away starts with a local id and no place in the
    shared log. When Redis returns it gets one: a change that B publishes while A's channel
    copies are lost (A's pub/sub connections, through a proxy, swallow it; they end only once
    the change is in the log) reaches it from the log when A subscribes again, once."""
    from redis_cut_proxy import ReplyLosingProxy
    from test_redis_shared_state import wait_redis
    key = secrets.token_hex(32)
    with ReplyLosingProxy(redis, host_network.root_address) as proxy:
        a = host_network.start_host(server_factory, 0, fronts=FRONTS, executors=1, tools="conformance",
                                    session_key=key, extra_args=["--redis", proxy.url])
        b = host_network.start_host(server_factory, 1, fronts=FRONTS, executors=1, tools="conformance",
                                    session_key=key, extra_args=["--redis", redis.url])
        wait_subscribed(redis, 2 * FRONTS)
        a.front_count = FRONTS
        sid = initialize(a)
        redis.stop()
        wait_redis(a, up=False)
        get = SSEStream(a, sid)
        [priming] = get.events(1)
        assert LOCAL_ID.match(priming["id"]), priming
        redis.start()
        wait_subscribed(redis, 2 * FRONTS, timeout=20)
        wait_redis(a, up=True)
        wait_redis(b, up=True)
        assert proxy.swallow_subscribers() == FRONTS
        before = redis.command("XLEN", "sy:events")
        trigger(b)
        wait_until(lambda: redis.command("XLEN", "sy:events") == before + 1, 5, what="B's change in the log")
        assert data_events(get.events(2, timeout=1)) == [], "A's channel copies were swallowed"
        proxy.drop_swallowed()
        got = data_events(get.events(2, timeout=10))
        assert len(got) == 1 and SHARED_ID.match(got[0]["id"]), got
        assert json.loads(got[0]["data"])["method"] == "notifications/tools/list_changed", got
        assert len(data_events(get.events(3, timeout=3))) == 1, "delivered twice"
        # From now on the stream is on the shared log like any other.
        wait_subscribed(redis, 2 * FRONTS, timeout=20)
        trigger(b)
        [live] = data_events(get.events(4, timeout=10))[1:]
        assert SHARED_ID.match(live["id"]) and shared_id(live) > shared_id(got[0]), live
        get.close()


@pytest.mark.timeout(90)
@pytest.mark.parametrize("channel", ["channel-kept", "channel-cut"])
def test_an_append_whose_reply_is_lost_is_delivered_once_on_its_host(server_factory, host_network, redis, channel):
    """Redis runs front 0's append (log entry and publication) but its reply never comes back:
    front 0 delivers the change itself, and neither the channel's copy (`channel-kept`) nor,
    when the publication is lost too, the log's copy read when the stream catches up
    (`channel-cut`) delivers it again to that host's GET and subscriptions/listen streams."""
    from redis_cut_proxy import ReplyLosingProxy
    key = secrets.token_hex(32)
    with ReplyLosingProxy(redis, host_network.root_address) as proxy:
        a = host_network.start_host(server_factory, 0, fronts=1, executors=1, tools="conformance",
                                    session_key=key, extra_args=["--redis", proxy.url])
        b = host_network.start_host(server_factory, 1, fronts=1, executors=1, tools="conformance",
                                    session_key=key, extra_args=["--redis", redis.url])
        wait_subscribed(redis, 2)
        sid = initialize(a)
        get = SSEStream(a, sid)
        get.events(1)
        with listen(a, 9) as lst:
            trigger(a)  # loads the append script: the armed cut then meets an EVALSHA that runs
            assert len(data_events(get.events(2, timeout=5))) == 1
            assert methods(lst.frames(1, 5)) == ["notifications/tools/list_changed"]
            proxy.arm(b"sy:notify", cut_subscribers=channel == "channel-cut")
            trigger(a)
            wait_until(lambda: proxy.cuts == 1, 5, what="the append's reply cut")
            wait_until(lambda: redis.command("XLEN", "sy:events") == 2, 5, what="the append in the log")
            if channel == "channel-cut":
                wait_subscribed(redis, 2, timeout=20)  # A subscribed again: its GET stream caught up
            events = data_events(get.events(4, timeout=4))
            assert len(events) == 2, f"the second change reached A's GET stream {len(events) - 1} times: {events}"
            assert methods(lst.frames(2, 2)) == ["notifications/tools/list_changed"]
            # Still one server afterwards: a change on B arrives once, with a shared id.
            wait_until(lambda: a.healthz()[1].get("redis", {}).get("synced") is True, 20, interval=0.1,
                       what="A sharing again")
            trigger(b)
            later = data_events(get.events(5, timeout=8))
            assert len(later) == 3 and SHARED_ID.match(later[-1]["id"]), later
            assert methods(lst.frames(1, 8)) == ["notifications/tools/list_changed"]
        get.close()


def open_streams(srv, sid, count):
    """`count` GET streams of session `sid` on `srv`, each on its own connection (so spread
    over the host's fronts), primed."""
    streams = [SSEStream(srv, sid) for _ in range(count)]
    for s in streams:
        assert len(s.events(1)) == 1
    return streams


@pytest.mark.timeout(120)
def test_a_lost_append_is_delivered_once_on_every_front_of_its_host(server_factory, host_network, redis):
    """Host A has two fronts. Front 0's append runs but its reply and the publication are lost:
    front 1 holds its executor's copy until the entry reaches it, from the log when it catches
    up, and delivers it once, like front 0 (which delivers its copy locally and skips the log's)."""
    from redis_cut_proxy import ReplyLosingProxy
    key = secrets.token_hex(32)
    with ReplyLosingProxy(redis, host_network.root_address) as proxy:
        a = host_network.start_host(server_factory, 0, fronts=2, executors=1, tools="conformance",
                                    session_key=key, extra_args=["--redis", proxy.url])
        b = host_network.start_host(server_factory, 1, fronts=1, executors=1, tools="conformance",
                                    session_key=key, extra_args=["--redis", redis.url])
        wait_subscribed(redis, 3)
        sid = initialize(a)
        gets = open_streams(a, sid, 8)
        listens = [listen(a, 60 + i) for i in range(4)]
        try:
            trigger(a)  # loads the append script: the armed cut then meets an EVALSHA that runs
            for g in gets:
                assert len(data_events(g.events(2, timeout=5))) == 1
            for lst in listens:
                assert methods(lst.frames(1, 5)) == ["notifications/tools/list_changed"]
            proxy.arm(b"sy:notify", cut_subscribers=True)
            trigger(a)
            wait_until(lambda: proxy.cuts == 1, 5, what="the append's reply cut")
            wait_until(lambda: redis.command("XLEN", "sy:events") == 2, 5, what="the append in the log")
            wait_subscribed(redis, 3, timeout=20)
            # Past the 2 s a copy waits for its entry: a second delivery would be here by now.
            time.sleep(3)
            counts = [len(data_events(g.events(4, timeout=0.3))) - 1 for g in gets]
            assert counts == [1] * 8, f"times the second change reached each GET stream: {counts}"
            for lst in listens:
                assert methods(lst.frames(2, 0.3)) == ["notifications/tools/list_changed"]
            # Still one server afterwards: a change on B arrives once on every stream.
            wait_until(lambda: a.healthz()[1].get("redis", {}).get("synced") is True, 20, interval=0.1,
                       what="A sharing again")
            trigger(b)
            for g in gets:
                later = data_events(g.events(5, timeout=8))
                assert len(later) == 3 and SHARED_ID.match(later[-1]["id"]), later
            for lst in listens:
                assert methods(lst.frames(1, 8)) == ["notifications/tools/list_changed"]
        finally:
            for lst in listens:
                lst.close()
            for g in gets:
                g.close()


@pytest.mark.timeout(90)
def test_listen_and_get_streams_catch_up_when_only_the_channel_was_lost(server_factory, host_network, redis):
    """Only host A's pub/sub connection loses what is published (its command connection works,
    so front 0 appends as usual and delivers nothing itself): when that connection ends and A
    subscribes again, its `subscriptions/listen` stream as well as its GET stream read the change
    from the log, once."""
    from redis_cut_proxy import ReplyLosingProxy
    key = secrets.token_hex(32)
    with ReplyLosingProxy(redis, host_network.root_address) as proxy:
        a = host_network.start_host(server_factory, 0, fronts=1, executors=1, tools="conformance",
                                    session_key=key, extra_args=["--redis", proxy.url])
        wait_subscribed(redis, 1)
        sid = initialize(a)
        get = SSEStream(a, sid)
        get.events(1)
        with listen(a, 70) as lst:
            trigger(a)
            assert len(data_events(get.events(2, timeout=5))) == 1
            assert methods(lst.frames(1, 5)) == ["notifications/tools/list_changed"]
            assert proxy.swallow_subscribers() == 1
            trigger(a)
            wait_until(lambda: redis.command("XLEN", "sy:events") == 2, 5, what="the append in the log")
            assert lst.frames(1, 1) == [], "the channel's copy was lost"
            proxy.drop_swallowed()
            assert methods(lst.frames(1, 10)) == ["notifications/tools/list_changed"]
            got = data_events(get.events(3, timeout=5))
            assert len(got) == 2 and SHARED_ID.match(got[-1]["id"]), got
            assert lst.frames(1, 2.5) == [], "delivered twice"
            assert len(data_events(get.events(4, timeout=0.5))) == 2, "delivered twice"
        get.close()


def resource_updates(stream, at_least, timeout):
    """The URIs of the notifications/resources/updated a GET stream has carried so far, once
    there are `at_least` of them or `timeout` seconds passed."""
    deadline = time.monotonic() + timeout
    while True:
        got = [json.loads(e["data"]) for e in data_events(stream.events(1000, timeout=0.1))]
        uris = [m["params"]["uri"] for m in got if m.get("method") == "notifications/resources/updated"]
        if len(uris) >= at_least or time.monotonic() >= deadline:
            return uris


@pytest.mark.timeout(90)
def test_a_resource_subscription_made_on_a_holds_for_a_get_stream_on_b(server_factory, host_network, redis):
    """resources/subscribe on host A, GET stream of that session on host B: an update reaches it;
    resources/unsubscribe on B, and the next update does not (while a session still subscribed,
    the other way round, gets both). No built-in pack changes a resource (the conformance pack's
    watched resource never does), so the update comes from a stdio upstream behind each host
    (upstreams/fastmcp_server.py: its tool `touch` sends notifications/resources/updated for
    info://server; the bridge subscribes each copy to the listed resources as it starts)."""
    from test_upstream import upstream_command
    key = secrets.token_hex(32)
    a, b = host_network.start_hosts(server_factory, fronts=FRONTS, executors=1, tools="demo", session_key=key,
                                    extra_args=["--redis", redis.url, "--upstream", f"up={upstream_command()}",
                                                "--upstream-pool", "1"])
    for h in (a, b):
        h.front_count = FRONTS
    wait_subscribed(redis, 2 * FRONTS)
    wait_redis(a, up=True)
    wait_redis(b, up=True)
    uri = "info://server"
    watched, control = initialize(a), initialize(b)

    def subscription(srv, sid, method):
        with RawConnection(srv.host, srv.port) as c:
            r = c.post(rpc(method, {"uri": uri}), session=sid)
        assert r.status == 200 and "error" not in r.json(), r

    def touch(srv):
        """Until the host's upstream copy is subscribed and says it sent the update (once)."""
        def once():
            with RawConnection(srv.host, srv.port) as c:
                r = c.call_tool(initialize(srv), "touch", {})
            assert r.status == 200, r
            return r.json()["result"]["content"][0]["text"] == "updated"
        wait_until(once, 20, interval=0.2, what=f"the upstream copy on {srv.host} reporting an update")

    subscription(a, watched, "resources/subscribe")
    subscription(b, control, "resources/subscribe")
    on_b, on_a = SSEStream(b, watched), SSEStream(a, control)
    try:
        assert len(on_b.events(1)) == 1 and len(on_a.events(1)) == 1
        touch(a)
        assert resource_updates(on_b, 1, timeout=10) == [uri]
        assert resource_updates(on_a, 1, timeout=10) == [uri]
        subscription(b, watched, "resources/unsubscribe")
        touch(b)
        # The session still subscribed hears the second update (so one was sent) ...
        assert resource_updates(on_a, 2, timeout=10) == [uri, uri]
        # ... and the one unsubscribed on B does not, on B.
        assert resource_updates(on_b, 2, timeout=2) == [uri], "an update reached a session unsubscribed on B"
        # Through the shared log: ids of the log on both hosts.
        for stream in (on_a, on_b):
            assert all(SHARED_ID.match(e["id"]) for e in stream.events(1000, timeout=0.1)), stream.body
    finally:
        on_b.close()
        on_a.close()
