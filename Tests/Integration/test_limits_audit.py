"""Rate limits per principal × tool, shared by every front (README.md, "Security"), and the
hash-chained audit log: real servers with two fronts, API keys made with `switchyard keys new`,
connections spread over the fronts by SO_REUSEPORT, anonymous clients from several 127.0.0.x
addresses, `switchyard audit verify` on the log, after a rotation (SIGUSR1) and after tampering."""

from __future__ import annotations

import json
import os
import signal
import subprocess

import pytest

from conftest import switchyard_bin
from conformance_util import request_meta, stateless_post
from sy_http import RawConnection, rpc, wait_until


def make_key(keys, name: str, scopes: str = "mcp:tools") -> str:
    out = subprocess.run([switchyard_bin(), "keys", "new", "--name", name, "--scopes", scopes, "--file", str(keys)],
                         capture_output=True, text=True, check=True).stdout
    return out.strip().splitlines()[-1].strip()


def call(srv, key: str, text: str = "x"):
    """A stateless echo call with an API key, on a new connection (SO_REUSEPORT spreads those
    over the fronts)."""
    _, r = stateless_post(srv, "tools/call", {"name": "echo", "arguments": {"text": text}},
                          extra_headers={"Authorization": f"Bearer {key}"})
    return r


def test_limits_hold_across_fronts_per_principal_and_tool(server_factory, tmp_path):
    keys = tmp_path / "keys.json"
    a, b = make_key(keys, "alpha"), make_key(keys, "beta")
    srv = server_factory(fronts=2, extra_args=["--api-keys", str(keys), "--rate-limit", "echo=5/m",
                                               "--rate-limit", "*=1000/s"])
    statuses = [call(srv, a, f"a{i}").status for i in range(5)]  # a new connection each: both fronts
    assert statuses == [200] * 5, statuses
    r = call(srv, a, "over")
    assert r.status == 429, r
    retry = int(r.header("retry-after"))
    assert 1 <= retry <= 60, retry
    body = r.json()
    assert body["error"]["code"] == -32000 and "echo" in body["error"]["message"], body
    assert body["id"] is not None, body
    # Another principal, and another tool of the same principal, are not affected.
    assert call(srv, b, "b").status == 200
    _, r = stateless_post(srv, "tools/call", {"name": "add_numbers", "arguments": {"a": 1, "b": 2}},
                          extra_headers={"Authorization": f"Bearer {a}"})
    assert r.status == 200, r


def test_anonymous_clients_are_limited_per_source_address(server_factory):
    srv = server_factory(fronts=2, extra_args=["--rate-limit", "echo=3/m"])

    def anon(source):
        msg = rpc("tools/call", {"name": "echo", "arguments": {"text": "x"}})
        msg["params"]["_meta"] = request_meta()
        with RawConnection(srv.host, srv.port, source=source) as c:
            return c.post(msg, version="2026-07-28",
                          extra={"Mcp-Method": "tools/call", "Mcp-Name": "echo"}).status

    assert [anon("127.0.0.2") for _ in range(3)] == [200] * 3
    assert anon("127.0.0.2") == 429
    assert anon("127.0.0.3") == 200


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_source(server_factory, tmp_path):
    """--trusted-proxy 127.0.0.2: requests it forwards are limited and audited per the client its
    last X-Forwarded-For names; the same header from any other address is ignored."""
    log = tmp_path / "audit.log"
    srv = server_factory(fronts=1, extra_args=["--rate-limit", "echo=2/m", "--trusted-proxy", "127.0.0.2/32",
                                               "--audit-log", str(log), "--max-conns-per-address", "2"])

    def anon(source, forwarded):
        msg = rpc("tools/call", {"name": "echo", "arguments": {"text": "x"}})
        msg["params"]["_meta"] = request_meta()
        extra = {"Mcp-Method": "tools/call", "Mcp-Name": "echo"}
        if forwarded is not None:
            extra["X-Forwarded-For"] = forwarded
        with RawConnection(srv.host, srv.port, source=source) as c:
            return c.post(msg, version="2026-07-28", extra=extra).status

    # Through the proxy: one bucket per forwarded client, whatever the client wrote further left.
    assert [anon("127.0.0.2", "198.51.100.1") for _ in range(2)] == [200, 200]
    assert anon("127.0.0.2", "203.0.113.50, 198.51.100.1") == 429
    assert anon("127.0.0.2", "198.51.100.2") == 200
    # Not a trusted proxy: the header changes nothing, the peer address is the bucket.
    assert [anon("127.0.0.3", "198.51.100.3") for _ in range(2)] == [200, 200]
    assert anon("127.0.0.3", "198.51.100.4") == 429
    # The proxy holds more connections than --max-conns-per-address allows one address.
    conns = [RawConnection(srv.host, srv.port, source="127.0.0.2") for _ in range(4)]
    try:
        for c in conns:
            assert c.request("GET", "/healthz").status == 200
    finally:
        for c in conns:
            c.close()
    wait_until(lambda: log.exists() and "198.51.100.2" in log.read_text(), 10, what="the audit line")
    sources = {json.loads(l).get("source") for l in log.read_text().splitlines() if l.strip()}
    assert {"198.51.100.1", "198.51.100.2", "127.0.0.3"} <= sources, sources
    assert "198.51.100.3" not in sources and "203.0.113.50" not in sources, sources


def verify(path) -> subprocess.CompletedProcess:
    return subprocess.run([switchyard_bin(), "audit", "verify", str(path)], capture_output=True, text=True)


def test_audit_log_chain_rotation_and_tampering(server_factory, tmp_path):
    keys = tmp_path / "keys.json"
    key = make_key(keys, "auditor")
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"defaultScopes": ["mcp:tools"], "tools": {"sha256": {"scopes": ["admin"]}}}))
    log = tmp_path / "audit.log"
    srv = server_factory(fronts=2, extra_args=["--api-keys", str(keys), "--policy", str(policy),
                                               "--audit-log", str(log)])
    auth = {"Authorization": f"Bearer {key}"}
    for i in range(6):
        stateless_post(srv, "tools/call", {"name": "echo", "arguments": {"text": f"secret-argument-{i}"}},
                       extra_headers=auth)
    _, denied = stateless_post(srv, "tools/call", {"name": "sha256", "arguments": {"text": "x"}},
                               extra_headers=auth)
    assert denied.status == 403
    _, unauth = stateless_post(srv, "tools/list", extra_headers={"Authorization": "Bearer sy_forged"})
    assert unauth.status == 401
    # A 2025-03-26 batch: each member is a line of its own, naming its tool.
    with RawConnection(srv.host, srv.port) as c:
        r = c.post(rpc("initialize", {"protocolVersion": "2025-03-26", "capabilities": {},
                                      "clientInfo": {"name": "t", "version": "1"}}), version=None, extra=auth)
        sid = r.header("mcp-session-id")
        batch = [rpc("tools/call", {"name": "echo", "arguments": {"text": "in-batch"}}),
                 rpc("tools/call", {"name": "sha256", "arguments": {"text": "in-batch"}})]
        r = c.post(batch, session=sid, version="2025-03-26", extra=auth)
        assert r.status == 200, r

    def lines(path):
        return [json.loads(l) for l in path.read_text().splitlines() if l.strip()] if path.exists() else []
    wait_until(lambda: len([r for r in lines(log) if r.get("method") == "batch"]) == 1, 10, what="the audit lines")
    records = lines(log)
    members = [r for r in records if r.get("method") == "tools/call" and r.get("argsHash")
               and r.get("session") == next(b["session"] for b in records if b.get("method") == "batch")]
    assert sorted((m["name"], m["decision"]) for m in members) == [("echo", "allow"), ("sha256", "deny")], members
    text = log.read_text()
    assert key not in text and "secret-argument" not in text, "a key or an argument value in the audit log"
    allowed = [r for r in records if r.get("decision") == "allow" and r.get("name") == "echo" and r["method"] != "batch"
               and r not in members]
    assert len(allowed) == 6 and all(r["subject"] == "auditor" and r["auth"] == "api-key" for r in allowed), records
    deny = [r for r in records if r.get("decision") == "deny"]
    assert {r.get("status") for r in deny} >= {401, 403}, deny
    assert all(r.get("reason") for r in deny), deny
    ok = verify(log)
    assert ok.returncode == 0, ok.stdout + ok.stderr

    # Rotation: the file is renamed, SIGUSR1 makes every front start a new one.
    rotated = tmp_path / "audit.log.1"
    os.rename(log, rotated)
    os.kill(srv.pid, signal.SIGUSR1)
    wait_until(lambda: log.exists(), 10, what="the reopened audit log")
    for i in range(4):
        stateless_post(srv, "tools/call", {"name": "echo", "arguments": {"text": "after"}}, extra_headers=auth)
    wait_until(lambda: len(lines(log)) >= 4, 10, what="lines in the new file")
    assert verify(rotated).returncode == 0 and verify(log).returncode == 0

    # Tampering with one line of the rotated file is found, naming the line.
    raw = rotated.read_text().splitlines()
    target = next(i for i, l in enumerate(raw) if '"echo"' in l)
    raw[target] = raw[target].replace('"allow"', '"deny"')
    rotated.write_text("\n".join(raw) + "\n")
    bad = verify(rotated)
    assert bad.returncode == 1, bad.stdout
    assert f"line {target + 1}" in bad.stdout, bad.stdout
