"""Secrets stay out of process listings: the session key comes from a private file (or a private
config file), never from the arguments of `serve` or of its children; files other users can
read are refused, and no error or log line repeats the key."""

from __future__ import annotations

import json
import os
import re
import secrets
import stat
import subprocess
from pathlib import Path

import pytest

from conftest import ServerStartError
from sy_http import RawConnection, expect_tool_text, rpc


def _write(path: Path, text: str, mode: int) -> Path:
    path.write_text(text)
    os.chmod(path, mode)
    return path


def _descendants(pid: int) -> list[int]:
    """Every process below `pid` (children, their children...), from `pgrep -P`."""
    out, todo = [], [pid]
    while todo:
        parent = todo.pop()
        r = subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, text=True)
        for line in r.stdout.split():
            out.append(int(line))
            todo.append(int(line))
    return out


def _proc(pid: int, what: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/{what}").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return b""


def _role(pid: int) -> str:
    argv = _proc(pid, "cmdline").split(b"\0")
    return "front" if b"front" in argv else "executor" if b"executor" in argv else "other"


def _assert_key_absent(key: str, blob: bytes, where: str):
    for form in (key.lower(), key.upper()):
        assert form.encode() not in blob, f"the session key appears in {where}"


def _connections_per_front(srv, fronts: int, tries: int = 80) -> dict[int, RawConnection]:
    """One keep-alive connection to each front (the kernel spreads new connections across them)."""
    found: dict[int, RawConnection] = {}
    for _ in range(tries):
        conn = RawConnection(srv.host, srv.port, timeout=10)
        r = conn.request("GET", "/healthz")
        front = r.json()["front"] if r.status == 200 else None
        if front is None or front in found:
            conn.close()
        else:
            found[front] = conn
        if len(found) == fronts:
            return found
    for c in found.values():
        c.close()
    pytest.fail(f"reached fronts {sorted(found)} only, of {fronts}, in {tries} connections")


def _session_crosses_fronts(srv):
    """A session opened on one front is served by every other (they share the key)."""
    conns = _connections_per_front(srv, 2)
    try:
        for issuer, verifier in ((0, 1), (1, 0)):
            sid = conns[issuer].initialize()
            text = f"issued by front {issuer} " + secrets.token_hex(4)
            req = rpc("tools/call", {"name": "echo", "arguments": {"text": text}})
            expect_tool_text(conns[verifier].post(req, session=sid), text, id=req["id"])
            # A session id that is not signed with the key is refused by the same front.
            forged = sid[:-2] + ("00" if not sid.endswith("00") else "11")
            assert conns[verifier].post(rpc("ping"), session=forged).status == 404
    finally:
        for c in conns.values():
            c.close()


@pytest.mark.timeout(60)
def test_key_file_keeps_the_key_out_of_every_process_listing(server_factory, tmp_path):
    key = secrets.token_hex(32)
    key_file = _write(tmp_path / "session.key", f"\n  {key}\n", 0o600)
    srv = server_factory(fronts=2, executors=2, extra_args=["--session-key-file", str(key_file)])

    serve_argv = _proc(srv.pid, "cmdline")
    assert b"--session-key-file" in serve_argv
    _assert_key_absent(key, serve_argv, f"the arguments of serve (pid {srv.pid})")
    children = _descendants(srv.pid)
    roles = {pid: _role(pid) for pid in children}
    assert sorted(roles.values()).count("front") == 2, roles
    assert sorted(roles.values()).count("executor") == 2, roles
    for pid in children:
        _assert_key_absent(key, _proc(pid, "cmdline"), f"the arguments of {roles[pid]} pid {pid}")
        if roles[pid] == "front":
            # Fronts get it through their environment, which only the owner can read.
            assert key.encode() in _proc(pid, "environ"), f"front {pid} has no key in its environment"
            assert stat.S_IMODE(os.stat(f"/proc/{pid}/environ").st_mode) & 0o077 == 0
        else:
            _assert_key_absent(key, _proc(pid, "environ"), f"the environment of {roles[pid]} pid {pid}")

    _session_crosses_fronts(srv)
    _assert_key_absent(key, Path(srv.stderr_path).read_bytes(), "the server's log")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604], ids=["world-readable", "group-readable", "other-readable"])
def test_a_key_file_other_users_can_read_is_refused(server_factory, tmp_path, mode):
    key = secrets.token_hex(32)
    key_file = _write(tmp_path / "session.key", key + "\n", mode)
    with pytest.raises(ServerStartError) as failed:
        server_factory(fronts=1, executors=1, extra_args=["--session-key-file", str(key_file)])
    message = str(failed.value)
    assert re.search(r"exited with [1-9][0-9]* ", message), message
    assert str(key_file) in message and f"mode 0{mode:o}" in message, message
    _assert_key_absent(key, message.encode(), "the refusal")


@pytest.mark.timeout(60)
def test_a_key_file_that_is_not_a_key_is_refused_without_quoting_it(server_factory, tmp_path):
    not_a_key = "correct horse battery staple " + secrets.token_hex(8)
    key_file = _write(tmp_path / "session.key", not_a_key, 0o600)
    with pytest.raises(ServerStartError) as failed:
        server_factory(fronts=1, executors=1, extra_args=["--session-key-file", str(key_file)])
    message = str(failed.value)
    assert "at least 32 hex digits" in message and str(key_file) in message, message
    assert not_a_key not in message and "battery" not in message, message


@pytest.mark.timeout(60)
def test_config_file_with_the_key_must_be_private(server_factory, tmp_path):
    key = secrets.token_hex(32)
    config = _write(tmp_path / "switchyard.json", json.dumps({"sessionKey": key}), 0o644)
    with pytest.raises(ServerStartError) as failed:
        server_factory(fronts=1, executors=1, extra_args=["--config", str(config)])
    message = str(failed.value)
    assert str(config) in message and "mode 0644" in message and "sessionKey" in message, message
    _assert_key_absent(key, message.encode(), "the refusal")

    os.chmod(config, 0o600)
    srv = server_factory(fronts=2, executors=1, extra_args=["--config", str(config)])
    for pid in [srv.pid] + _descendants(srv.pid):
        _assert_key_absent(key, _proc(pid, "cmdline"), f"the arguments of pid {pid}")
    _session_crosses_fronts(srv)


@pytest.mark.timeout(60)
def test_config_naming_a_private_key_file_may_be_readable(server_factory, tmp_path):
    """A config file that only names the key file holds no secret: it may be world-readable."""
    key = secrets.token_hex(32)
    key_file = _write(tmp_path / "session.key", key, 0o600)
    config = _write(tmp_path / "switchyard.json", json.dumps({"sessionKeyFile": str(key_file)}), 0o644)
    srv = server_factory(fronts=2, executors=1, extra_args=["--config", str(config)])
    for pid in [srv.pid] + _descendants(srv.pid):
        _assert_key_absent(key, _proc(pid, "cmdline"), f"the arguments of pid {pid}")
    _session_crosses_fronts(srv)

    os.chmod(key_file, 0o644)
    with pytest.raises(ServerStartError) as failed:
        server_factory(fronts=1, executors=1, extra_args=["--config", str(config)])
    assert str(key_file) in str(failed.value) and "mode 0644" in str(failed.value), failed.value
    _assert_key_absent(key, str(failed.value).encode(), "the refusal")


@pytest.mark.timeout(60)
def test_session_key_on_the_command_line_still_works_with_a_warning(server_factory):
    key = secrets.token_hex(32)
    srv = server_factory(fronts=2, executors=1, session_key=key)
    _session_crosses_fronts(srv)
    log = Path(srv.stderr_path).read_text()
    warnings = [line for line in log.splitlines() if "level=warn" in line and "process listings" in line]
    assert len(warnings) == 1, srv.stderr_tail()
    warning = warnings[0]
    _assert_key_absent(key, warning.encode(), "the warning")
