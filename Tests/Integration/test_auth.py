"""Switchyard as an OAuth 2.1 resource server (README.md, "Security"), driven over real sockets:
tokens minted here with PyJWT against keys made here, a JWKS file and an https JWKS endpoint served
by the test, API keys made with `switchyard keys new`, and the official MCP Python client carrying
the bearer token. Covers every 401/400/403 case, list filtering by policy, step-up after
insufficient_scope, a session used with another principal's token, and JWKS rotation."""

from __future__ import annotations

import base64
import json
import os
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import anyio
import httpx2
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from conftest import switchyard_bin
from conformance_util import stateless_post
from sy_http import RawConnection, rpc, wait_until

ISSUER = "https://auth.switchyard.test"
AUDIENCE = "https://mcp.switchyard.test/mcp"
METADATA_URL = "https://mcp.switchyard.test/.well-known/oauth-protected-resource/mcp"
POLICY = {"defaultScopes": ["mcp:tools"], "tools": {"sha256": {"scopes": ["tools:admin"]}}}


def b64url(n: int, size: int | None = None) -> str:
    raw = n.to_bytes(size or (n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def rsa_jwk(key, kid: str) -> dict:
    pub = key.public_key().public_numbers()
    return {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": b64url(pub.n), "e": b64url(pub.e)}


def ec_jwk(key, kid: str) -> dict:
    pub = key.public_key().public_numbers()
    # RFC 7518 §6.2.1.2: each coordinate is exactly 32 bytes for P-256, leading zeros kept.
    return {"kty": "EC", "kid": kid, "crv": "P-256", "x": b64url(pub.x, 32), "y": b64url(pub.y, 32)}


class Issuer:
    """The authorization server's signing side: keys, and tokens signed with them."""

    def __init__(self):
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.keys = {"rsa-1": (self.rsa, "RS256"), "ec-1": (self.ec, "ES256")}

    def jwks(self, kids=None) -> dict:
        out = []
        for kid, (key, alg) in self.keys.items():
            if kids is None or kid in kids:
                out.append(rsa_jwk(key, kid) if alg.startswith(("RS", "PS")) else ec_jwk(key, kid))
        return {"keys": out}

    def token(self, sub="alice", scope="mcp:tools", kid="rsa-1", lifetime=300, **claims) -> str:
        key, alg = self.keys[kid]
        now = int(time.time())
        body = {"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "iat": now, "exp": now + lifetime,
                "scope": scope, "client_id": "test-client"}
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, key, algorithm=alg, headers={"kid": kid})


@pytest.fixture(scope="module")
def issuer():
    return Issuer()


@pytest.fixture
def auth_server(server_factory, tmp_path, issuer):
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(issuer.jwks()))
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(POLICY))
    keys = tmp_path / "keys.json"
    made = subprocess.run([switchyard_bin(), "keys", "new", "--name", "ci-bot", "--scopes", "mcp:tools",
                           "--file", str(keys)], capture_output=True, text=True, check=True)
    api_key = made.stdout.strip().splitlines()[-1].strip()
    assert api_key.startswith("sy_"), made.stdout
    srv = server_factory(fronts=2, extra_args=["--auth-issuer", ISSUER, "--auth-audience", AUDIENCE,
                                               "--auth-jwks", str(jwks), "--policy", str(policy),
                                               "--api-keys", str(keys)])
    srv.api_key = api_key
    srv.keys_file = keys
    return srv


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def post(srv, msg, headers=None, session=None):
    with RawConnection(srv.host, srv.port) as c:
        return c.post(msg, session=session, extra=headers)


def initialize(srv, token) -> str:
    with RawConnection(srv.host, srv.port) as c:
        r = c.post(rpc("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                      "clientInfo": {"name": "t", "version": "1"}}),
                   version=None, extra=bearer(token))
        assert r.status == 200, r
        sid = r.header("mcp-session-id")
        c.post({"jsonrpc": "2.0", "method": "notifications/initialized"}, session=sid, extra=bearer(token))
        return sid


def listed(srv, token) -> int:
    """The status of a stateless tools/list with `token`."""
    return stateless_post(srv, "tools/list", extra_headers=bearer(token))[1].status


def challenge(r) -> str:
    return r.header("www-authenticate") or ""


def test_metadata_and_401_without_a_token(auth_server):
    srv = auth_server
    with RawConnection(srv.host, srv.port) as c:
        for path in ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"]:
            r = c.request("GET", path)
            assert r.status == 200, r
            doc = r.json()
            assert doc["resource"] == AUDIENCE and doc["authorization_servers"] == [ISSUER], doc
            assert doc["scopes_supported"] == ["mcp:tools", "tools:admin"], doc
            assert doc["bearer_methods_supported"] == ["header"], doc
    r = post(srv, rpc("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                     "clientInfo": {"name": "t", "version": "1"}}, id=7))
    assert r.status == 401, r
    assert challenge(r) == f'Bearer resource_metadata="{METADATA_URL}", scope="mcp:tools"', challenge(r)
    assert r.json()["id"] == 7, r
    # /metrics on the main port shows tool names: a credential is needed; health is public.
    with RawConnection(srv.host, srv.port) as c:
        assert c.request("GET", "/metrics").status == 401
        assert c.request("GET", "/healthz").status == 200
        assert c.request("GET", "/metrics", headers={"Authorization": f"Bearer {srv.api_key}"}).status == 200


@pytest.mark.parametrize("case", ["expired", "not-yet-valid", "wrong-issuer", "wrong-audience", "wrong-signature",
                                  "alg-none", "hmac", "unknown-kid", "no-exp", "garbage"])
def test_invalid_tokens_get_invalid_token(auth_server, issuer, case):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    tokens = {
        "expired": lambda: issuer.token(lifetime=-3600),
        "not-yet-valid": lambda: issuer.token(nbf=now + 3600),
        "wrong-issuer": lambda: issuer.token(iss="https://evil.test"),
        "wrong-audience": lambda: issuer.token(aud="https://other.test/mcp"),
        "wrong-signature": lambda: jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "exp": now + 300},
                                              other, algorithm="RS256", headers={"kid": "rsa-1"}),
        "alg-none": lambda: jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "exp": now + 300},
                                       None, algorithm="none"),
        "hmac": lambda: jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "exp": now + 300},
                                   "a-shared-secret-nobody-configured", algorithm="HS256"),
        "unknown-kid": lambda: jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "exp": now + 300},
                                          other, algorithm="RS256", headers={"kid": "not-in-the-set"}),
        "no-exp": lambda: issuer.token(exp=None, lifetime=0),
        "garbage": lambda: "bm90.YS5qd3Q.c2lnbmF0dXJl",
    }
    token = tokens[case]()
    r = post(auth_server, rpc("tools/list"), headers=bearer(token))
    assert r.status == 401, (case, r)
    c = challenge(r)
    assert c.startswith('Bearer error="invalid_token"'), (case, c)
    assert f'resource_metadata="{METADATA_URL}"' in c, c
    assert token not in r.body.decode() and token not in c, "the token must not be echoed"


def test_malformed_credentials_are_400(auth_server):
    for value in ["Bearer", "Bearer two tokens", "Bearer a=b"]:
        r = post(auth_server, rpc("ping"), headers={"Authorization": value})
        assert r.status == 400 and challenge(r).startswith('Bearer error="invalid_request"'), (value, r)


async def _official_client(url: str, token: str, mode: str):
    async with httpx2.AsyncClient(headers=bearer(token), timeout=10) as http:
        async with Client(streamable_http_client(url, http_client=http), mode=mode, read_timeout_seconds=10) as c:
            names = {t.name for t in (await c.list_tools()).tools}
            echo = await c.call_tool("echo", {"text": "authenticated"})
            who = await c.call_tool("whoami", {})
            return names, echo, who


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_official_client_with_a_token_sees_what_its_scopes_allow(auth_server, issuer, mode):
    async def main():
        with anyio.fail_after(20):
            return await _official_client(auth_server.url, issuer.token(), mode)
    names, echo, who = anyio.run(main)
    assert "echo" in names and "whoami" in names and "sha256" not in names, names
    assert echo.content[0].text == "authenticated", echo
    assert who.structured_content == {"subject": "alice", "auth": "oauth", "scopes": ["mcp:tools"],
                                      "clientId": "test-client"}, who

    async def admin():
        with anyio.fail_after(20):
            return await _official_client(auth_server.url, issuer.token(kid="ec-1", scope="mcp:tools tools:admin"),
                                          mode)
    names, _, _ = anyio.run(admin)
    assert "sha256" in names, names


def test_insufficient_scope_then_step_up_on_the_same_session(auth_server, issuer):
    srv = auth_server
    sid = initialize(srv, issuer.token())
    call = rpc("tools/call", {"name": "sha256", "arguments": {"text": "x"}}, id=11)
    r = post(srv, call, headers=bearer(issuer.token()), session=sid)
    assert r.status == 403, r
    c = challenge(r)
    assert c.startswith('Bearer error="insufficient_scope", scope="tools:admin"'), c
    assert f'resource_metadata="{METADATA_URL}"' in c, c
    assert r.json()["id"] == 11, r
    # The client asks its authorization server for the named scope and retries.
    r = post(srv, call, headers=bearer(issuer.token(scope="mcp:tools tools:admin")), session=sid)
    assert r.status == 200 and r.json()["result"]["isError"] is False, r


def test_a_session_refuses_another_principals_token_on_every_front(auth_server, issuer):
    srv = auth_server
    sid = initialize(srv, issuer.token(sub="alice"))
    for _ in range(6):  # new connections: SO_REUSEPORT spreads them over both fronts
        r = post(srv, rpc("tools/call", {"name": "echo", "arguments": {"text": "x"}}),
                 headers=bearer(issuer.token(sub="mallory")), session=sid)
        assert r.status == 403, r
        r = post(srv, rpc("ping"), headers=bearer(issuer.token(sub="alice")), session=sid)
        assert r.status == 200, r


def test_api_keys(auth_server):
    srv = auth_server
    _, r = stateless_post(srv, "tools/call", {"name": "whoami", "arguments": {}},
                          extra_headers=bearer(srv.api_key))
    assert r.status == 200, r
    assert r.json()["result"]["structuredContent"] == {"subject": "ci-bot", "auth": "api-key",
                                                       "scopes": ["mcp:tools"]}, r
    tampered = srv.api_key[:-2] + ("AA" if not srv.api_key.endswith("AA") else "BB")
    r = post(srv, rpc("ping"), headers=bearer(tampered))
    assert r.status == 401 and challenge(r).startswith('Bearer error="invalid_token"'), r
    # Revoked while the server runs: refused by every front within seconds, no restart.
    subprocess.run([switchyard_bin(), "keys", "revoke", "--name", "ci-bot", "--file", str(srv.keys_file)],
                   capture_output=True, text=True, check=True)
    wait_until(lambda: all(listed(srv, srv.api_key) == 401 for _ in range(4)), 10, interval=0.2,
               what="the revoked key to be refused")


class _JWKSHandler(BaseHTTPRequestHandler):
    jwks: dict = {}
    fetches = 0

    def do_GET(self):
        type(self).fetches += 1
        body = json.dumps(type(self).jwks).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _test_ca(tmp: Path):
    """A CA and a server certificate for 127.0.0.1 signed by it, as PEM files."""
    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = __import__("datetime").datetime.now(__import__("datetime").timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("Switchyard test CA")).issuer_name(name("Switchyard test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now).not_valid_after(now + __import__("datetime").timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(name("127.0.0.1")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + __import__("datetime").timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    (tmp / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (tmp / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp / "server.key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                       serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    return tmp / "ca.pem", tmp / "server.pem", tmp / "server.key"


def test_jwks_rotation_from_an_https_endpoint(server_factory, tmp_path, issuer):
    ca, cert, key = _test_ca(tmp_path)
    _JWKSHandler.jwks = issuer.jwks(kids=["rsa-1"])
    _JWKSHandler.fetches = 0
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _JWKSHandler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"https://127.0.0.1:{httpd.server_address[1]}/jwks.json"
        srv = server_factory(fronts=1, extra_args=["--auth-issuer", ISSUER, "--auth-audience", AUDIENCE,
                                                   "--auth-jwks", url, "--auth-jwks-ca-file", str(ca)])
        ok = issuer.token(kid="rsa-1")
        wait_until(lambda: listed(srv, ok) == 200, 10,
                   what="the first JWKS fetch")
        # The issuer rotates: a new key, published at the same URL. A token signed with it is
        # refused until the front refetches (on the unknown kid), then accepted; the old key
        # keeps working throughout.
        _JWKSHandler.jwks = issuer.jwks()
        rotated = issuer.token(kid="ec-1")
        wait_until(lambda: listed(srv, rotated) == 200, 40,
                   interval=0.5, what="the rotated key to be fetched")
        assert listed(srv, ok) == 200
        assert _JWKSHandler.fetches >= 2
    finally:
        httpd.shutdown()
