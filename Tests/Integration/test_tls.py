"""TLS on the fronts: the official MCP client over HTTPS with a test CA, certificate reload with
connections held open, session resumption across fronts, client certificates, refusals.

The CA and certificates are made with the openssl CLI in a temporary directory (nothing private
is committed)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from conftest import switchyard_bin


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


class PKI:
    """A test CA and the certificates the tests use, in `directory`."""

    def __init__(self, directory: Path):
        self.dir = directory
        self.ca = self.make_ca("ca", "/CN=Switchyard Test CA")
        self.other_ca = self.make_ca("other-ca", "/CN=Other CA")
        san = "subjectAltName=DNS:localhost,IP:127.0.0.1"
        self.gen1 = self.make_leaf("gen1", "ca", "/O=gen1/CN=localhost", san)
        self.gen2 = self.make_leaf("gen2", "ca", "/O=gen2/CN=localhost", san)
        self.alice = self.make_leaf("alice", "ca", "/O=Example/CN=alice", "extendedKeyUsage=clientAuth")
        self.stranger = self.make_leaf("stranger", "other-ca", "/CN=stranger", "extendedKeyUsage=clientAuth")

    def make_ca(self, name: str, subject: str) -> Path:
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", str(self.dir / f"{name}.key"), "-out", str(self.dir / f"{name}.pem"),
                "-days", "2", "-subj", subject)
        os.chmod(self.dir / f"{name}.key", 0o600)
        return self.dir / f"{name}.pem"

    def make_leaf(self, name: str, ca: str, subject: str, ext: str) -> tuple[Path, Path]:
        key, csr, cert = self.dir / f"{name}.key", self.dir / f"{name}.csr", self.dir / f"{name}.pem"
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", str(key), "-out", str(csr), "-subj", subject)
        os.chmod(key, 0o600)
        (self.dir / f"{name}.ext").write_text(ext + "\n")
        openssl("x509", "-req", "-in", str(csr), "-CA", str(self.dir / f"{ca}.pem"),
                "-CAkey", str(self.dir / f"{ca}.key"), "-CAcreateserial", "-out", str(cert), "-days", "2",
                "-extfile", str(self.dir / f"{name}.ext"))
        return cert, key

    def install(self, leaf: tuple[Path, Path], into: Path) -> tuple[Path, Path]:
        """Copies a certificate and key to `into`/server.pem and server.key (atomically, by rename)."""
        into.mkdir(exist_ok=True)
        for src, name in ((leaf[0], "server.pem"), (leaf[1], "server.key")):
            tmp = into / (name + ".tmp")
            shutil.copyfile(src, tmp)
            os.chmod(tmp, 0o600)
            os.replace(tmp, into / name)
        return into / "server.pem", into / "server.key"


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> PKI:
    return PKI(tmp_path_factory.mktemp("pki"))


def tls_args(cert: Path, key: Path, *more: str) -> list[str]:
    return ["--tls-cert", str(cert), "--tls-key", str(key), *more]


def client_context(pki: PKI, *, cert=None, maximum=None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki.ca))
    ctx.set_alpn_protocols(["http/1.1"])
    if cert:
        ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    if maximum:
        ctx.maximum_version = maximum
    return ctx


class TLSClient:
    """One TLS connection speaking HTTP/1.1 keep-alive, kept open until `close()`."""

    def __init__(self, server, ctx: ssl.SSLContext, session=None):
        raw = socket.create_connection((server.host, server.port), timeout=10)
        self.sock = ctx.wrap_socket(raw, server_hostname="localhost", session=session)
        self.buf = b""

    def peer_organization(self) -> str:
        subject = dict(x[0] for x in self.sock.getpeercert()["subject"])
        return subject["organizationName"]

    def get(self, path: str) -> tuple[int, bytes]:
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            assert chunk, "closed before an answer"
            self.buf += chunk
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        length = next(int(v) for k, _, v in (l.partition(": ") for l in lines[1:]) if k.lower() == "content-length")
        while len(rest) < length:
            rest += self.sock.recv(65536)
        self.buf = rest[length:]
        return status, rest[:length]

    def front(self) -> int:
        status, body = self.get("/healthz")
        assert status == 200, body
        return json.loads(body)["front"]

    def close(self):
        self.sock.close()


async def sdk_calls(url: str, ctx: ssl.SSLContext, mode: str, between=None) -> list[str]:
    """Runs the official client over HTTPS: echo, then `between()` (in a thread), then echo again."""
    texts = []
    async with httpx2.AsyncClient(verify=ctx, timeout=20) as http:
        async with Client(streamable_http_client(url, http_client=http), mode=mode, read_timeout_seconds=10) as c:
            r = await c.call_tool("echo", {"text": "before"})
            texts.append(r.content[0].text)
            if between:
                await anyio.to_thread.run_sync(between)
            r = await c.call_tool("echo", {"text": "after"})
            texts.append(r.content[0].text)
    return texts


def run(coro_fn, *args, budget: float = 40.0):
    async def main():
        with anyio.fail_after(budget):
            return await coro_fn(*args)
    return anyio.run(main)


def wait_for(predicate, timeout: float = 10.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_official_client_over_https(server_factory, pki, tmp_path, mode):
    cert, key = pki.install(pki.gen1, tmp_path)
    server = server_factory(extra_args=tls_args(cert, key))
    assert server.url.startswith("https://"), server.url
    assert run(sdk_calls, server.url, client_context(pki), mode) == ["before", "after"]
    # The client must verify: without the test CA the same URL is refused.
    with pytest.raises(Exception):
        run(sdk_calls, server.url, ssl.create_default_context(), mode, budget=15)


@pytest.mark.timeout(90)
def test_certificate_reload_keeps_open_connections(server_factory, pki, tmp_path):
    cert, key = pki.install(pki.gen1, tmp_path / "live")
    server = server_factory(fronts=2, extra_args=tls_args(cert, key))
    ctx = client_context(pki)
    held = [TLSClient(server, ctx) for _ in range(4)]  # most likely on both fronts
    assert {c.peer_organization() for c in held} == {"gen1"}
    for c in held:
        c.front()

    def reload(leaf_or_garbage):
        if isinstance(leaf_or_garbage, tuple):
            pki.install(leaf_or_garbage, tmp_path / "live")
        else:
            (tmp_path / "live" / "server.pem").write_text(leaf_or_garbage)
        out = subprocess.run([switchyard_bin(), "reload", "--tls", "--run-dir", str(server.run_dir)],
                             capture_output=True, text=True, timeout=10)
        assert out.returncode == 0, out.stderr

    def new_connection_org() -> str:
        c = TLSClient(server, ctx)
        try:
            return c.peer_organization()
        finally:
            c.close()

    def swap_to_gen2():
        reload(pki.gen2)
        # Every front: 20 new connections in a row see the new certificate.
        wait_for(lambda: all(new_connection_org() == "gen2" for _ in range(20)), what="gen2 on new connections")

    # The official client holds its session (and its keep-alive connection) across the reload.
    assert run(sdk_calls, server.url, ctx, "legacy", swap_to_gen2) == ["before", "after"]

    # Connections opened before the reload still answer, on their old certificate.
    for c in held:
        c.front()
        assert c.peer_organization() == "gen1"

    # A certificate that does not load: logged with the file and the reason, the current one kept.
    reload("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    wait_for(lambda: server.stderr_tail(200).count("TLS certificate reload failed") >= 2, what="the failure log")
    log = server.stderr_tail(200)
    assert str(tmp_path / "live" / "server.pem") in log
    assert all(new_connection_org() == "gen2" for _ in range(10))
    key_lines = [l for l in (tmp_path / "live" / "server.key").read_text().splitlines() if not l.startswith("-----")]
    assert key_lines and not any(l in log for l in key_lines), "key material in the log"
    for c in held:
        assert c.front() in (0, 1)
        c.close()
    assert server.running()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("maximum", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3], ids=["tls12", "tls13"])
def test_session_resumes_on_another_front(server_factory, pki, tmp_path, maximum):
    cert, key = pki.install(pki.gen1, tmp_path)
    server = server_factory(fronts=2, extra_args=tls_args(cert, key))
    ctx = client_context(pki, maximum=maximum)
    first = TLSClient(server, ctx)
    issuer = first.front()  # TLS 1.3: the ticket arrives after the handshake, with the first answer
    session = first.sock.session
    assert session is not None and not first.sock.session_reused
    # Connections stay open until the end: OpenSSL marks a client session unusable when a
    # connection using it is freed without close_notify.
    opened = [first]
    elsewhere = None
    for _ in range(60):
        c = TLSClient(server, ctx, session=session)
        opened.append(c)
        front = c.front()
        assert c.sock.session_reused, f"not resumed on front {front}"
        if front != issuer:
            elsewhere = front
            break
    assert elsewhere is not None, "every connection landed on the issuing front"
    for c in opened:
        c.close()


@pytest.mark.timeout(60)
def test_client_certificates(server_factory, pki, tmp_path):
    cert, key = pki.install(pki.gen1, tmp_path)
    server = server_factory(fronts=1, extra_args=tls_args(cert, key, "--tls-client-ca", str(pki.ca)))
    # A certificate from the client CA, and none at all, are served.
    for client_cert in (pki.alice, None):
        c = TLSClient(server, client_context(pki, cert=client_cert))
        assert c.front() == 0
        c.close()
    # One from another CA is refused in the handshake (TLS 1.3: the alert comes with the first read).
    with pytest.raises((ssl.SSLError, ConnectionError, AssertionError)):
        c = TLSClient(server, client_context(pki, cert=pki.stranger))
        c.front()


@pytest.mark.timeout(60)
def test_refusals(server_factory, pki, tmp_path):
    cert, key = pki.install(pki.gen1, tmp_path)
    server = server_factory(fronts=1, extra_args=tls_args(cert, key, "--tls-min-version", "1.3"))
    # Plain HTTP to the TLS port: a plain 400 saying so, then the close.
    with socket.create_connection((server.host, server.port), timeout=5) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        answer = b""
        while chunk := s.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400 "), answer
    assert answer.endswith(b"This port speaks HTTPS, not HTTP.\n"), answer
    # A TLS 1.2 client below --tls-min-version 1.3.
    with pytest.raises(ssl.SSLError):
        TLSClient(server, client_context(pki, maximum=ssl.TLSVersion.TLSv1_2))
    # A client that offers only h2.
    ctx = client_context(pki)
    ctx.set_alpn_protocols(["h2"])
    with pytest.raises(ssl.SSLError):
        TLSClient(server, ctx)
    # Garbage: closed without an answer; the server keeps serving.
    with socket.create_connection((server.host, server.port), timeout=5) as s:
        s.sendall(b"\x16\x03\x01\x00\x05hello" + os.urandom(2000))
        try:
            while s.recv(4096):
                pass
        except ConnectionResetError:
            pass
    c = TLSClient(server, client_context(pki))
    assert c.front() == 0 and c.sock.version() == "TLSv1.3" and c.sock.selected_alpn_protocol() == "http/1.1"
    c.close()


def test_key_readable_by_others_is_refused(pki, tmp_path):
    cert, key = pki.install(pki.gen1, tmp_path)
    os.chmod(key, 0o644)
    out = subprocess.run([switchyard_bin(), "serve", "--port", "1", "--run-dir", str(tmp_path / "run"),
                          "--tls-cert", str(cert), "--tls-key", str(key)], capture_output=True, text=True, timeout=20)
    assert out.returncode != 0
    assert str(key) in out.stderr and "readable by other users" in out.stderr, out.stderr
    key_lines = [l for l in key.read_text().splitlines() if not l.startswith("-----")]
    assert not any(l in out.stderr + out.stdout for l in key_lines)


def test_mismatched_key_names_the_file(pki, tmp_path):
    cert, _ = pki.install(pki.gen1, tmp_path)
    out = subprocess.run([switchyard_bin(), "serve", "--port", "1", "--run-dir", str(tmp_path / "run"),
                          "--tls-cert", str(cert), "--tls-key", str(pki.alice[1])],
                         capture_output=True, text=True, timeout=20)
    assert out.returncode != 0
    assert f"TLS key file {pki.alice[1]}" in out.stderr, out.stderr


@pytest.mark.timeout(60)
def test_config_file_keys(server_factory, pki, tmp_path):
    cert, key = pki.install(pki.gen1, tmp_path)
    config = tmp_path / "switchyard.json"
    config.write_text(json.dumps({"tlsCert": str(cert), "tlsKey": str(key), "tlsMinVersion": "1.3",
                                  "tlsClientCa": str(pki.ca)}))
    server = server_factory(fronts=1, tls=True, extra_args=["--config", str(config)])
    assert server.url.startswith("https://")
    c = TLSClient(server, client_context(pki, cert=pki.alice))
    assert c.front() == 0 and c.sock.version() == "TLSv1.3"
    c.close()
    with pytest.raises(ssl.SSLError):  # tlsMinVersion from the file
        TLSClient(server, client_context(pki, maximum=ssl.TLSVersion.TLSv1_2))


async def _whoami(url: str, ctx: ssl.SSLContext):
    async with httpx2.AsyncClient(verify=ctx, timeout=20) as http:
        async with Client(streamable_http_client(url, http_client=http), mode="legacy", read_timeout_seconds=10) as c:
            return (await c.call_tool("whoami", {})).structured_content


def test_client_certificate_subject_is_the_principal(server_factory, pki, tmp_path):
    """With authentication on (API keys here) and --tls-client-ca, a request without a bearer
    token but with a verified client certificate is that certificate's subject; with neither,
    it is refused with 401."""
    cert, key = pki.install(pki.gen1, tmp_path)
    keys = tmp_path / "keys.json"
    subprocess.run([switchyard_bin(), "keys", "new", "--name", "bot", "--scopes", "mcp:tools", "--file", str(keys)],
                   capture_output=True, text=True, check=True)
    server = server_factory(fronts=1, extra_args=tls_args(cert, key, "--tls-client-ca", str(pki.ca),
                                                          "--api-keys", str(keys)))
    who = run(_whoami, server.url, client_context(pki, cert=pki.alice))
    assert who["auth"] == "client-certificate" and "CN=alice" in who["subject"], who
    c = TLSClient(server, client_context(pki))
    c.sock.sendall(b"POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                   b"Accept: application/json, text/event-stream\r\nContent-Length: 40\r\n\r\n"
                   b'{"jsonrpc":"2.0","id":1,"method":"ping"}')
    head = b""
    while b"\r\n\r\n" not in head:
        head += c.sock.recv(65536)
    assert head.startswith(b"HTTP/1.1 401"), head
    c.close()


async def _token_session(url: str, ctx: ssl.SSLContext, token: str):
    async with httpx2.AsyncClient(verify=ctx, timeout=20, headers={"Authorization": f"Bearer {token}"}) as http:
        async with Client(streamable_http_client(url, http_client=http), mode="auto", read_timeout_seconds=10) as c:
            names = {t.name for t in (await c.list_tools()).tools}
            return names, (await c.call_tool("whoami", {})).structured_content


def test_official_client_over_https_with_a_token(server_factory, pki, tmp_path):
    """The whole stack at once: HTTPS with the test CA, a JWT minted here (PyJWT) checked against
    a JWKS file, a policy filtering the list, the official client carrying the token."""
    from test_auth import AUDIENCE, ISSUER, Issuer
    issuer = Issuer()
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(issuer.jwks()))
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"defaultScopes": ["mcp:tools"], "tools": {"sha256": {"scopes": ["tools:admin"]}}}))
    cert, key = pki.install(pki.gen1, tmp_path)
    server = server_factory(fronts=2, extra_args=tls_args(cert, key) + [
        "--auth-issuer", ISSUER, "--auth-audience", AUDIENCE, "--auth-jwks", str(jwks), "--policy", str(policy)])
    assert server.url.startswith("https://")
    names, who = run(_token_session, server.url, client_context(pki), issuer.token(sub="carol"))
    assert "echo" in names and "sha256" not in names, names
    assert who["subject"] == "carol" and who["auth"] == "oauth", who
    c = TLSClient(server, client_context(pki))
    status, body = c.get("/.well-known/oauth-protected-resource/mcp")
    assert status == 200 and json.loads(body)["resource"] == AUDIENCE, body
    c.close()
