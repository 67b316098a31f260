"""`switchyard check-config FILE`: every check `serve --config` makes, without starting anything,
and the effective configuration printed with secrets redacted."""

from __future__ import annotations

import json
import os
import subprocess

from conftest import switchyard_bin

KEY = "00112233445566778899aabbccddeeff0011223344556677"


def check(path):
    return subprocess.run([switchyard_bin(), "check-config", str(path)], capture_output=True, text=True, timeout=30)


def write(path, obj, mode=0o600):
    path.write_text(json.dumps(obj))
    os.chmod(path, mode)
    return path


def test_effective_configuration_with_the_key_redacted(tmp_path):
    keys = tmp_path / "keys.json"
    subprocess.run([switchyard_bin(), "keys", "new", "--name", "ci", "--scopes", "mcp:tools", "--file", str(keys)],
                   capture_output=True, text=True, check=True)
    policy = write(tmp_path / "policy.json", {"defaultScopes": ["mcp:tools"]})
    cfg = write(tmp_path / "serve.json", {"fronts": 3, "sessionKey": KEY, "maxBody": 1000,
                                          "rateLimits": ["echo=5/s", "*=100/m"], "apiKeys": str(keys),
                                          "policy": str(policy), "auditLog": str(tmp_path / "audit.log")})
    r = check(cfg)
    assert r.returncode == 0, r.stderr
    assert KEY not in r.stdout and KEY not in r.stderr
    out = json.loads(r.stdout)
    assert out["fronts"] == 3 and out["front"]["maxBody"] == 1000, out
    assert out["front"]["rateLimit"] == ["echo=5/s", "*=100/m"], out
    assert out["front"]["apiKeys"] == str(keys) and out["front"]["policy"] == str(policy), out
    assert out["sessionKey"].startswith("(redacted"), out


def test_errors_name_the_key_and_the_problem(tmp_path):
    cases = [
        ({"frontz": 3}, "unknown key 'frontz'"),
        ({"rateLimits": ["echo=5/h"]}, "echo=5/h"),
        ({"fronts": 0}, "--fronts must be 1...64"),
        ({"policy": str(tmp_path / "missing.json"), "apiKeys": str(tmp_path / "missing-keys.json")}, "missing"),
        ({"authIssuer": "https://auth.test"}, "--auth-audience"),
        ({"tlsCert": str(tmp_path / "nope.pem"), "tlsKey": str(tmp_path / "nope.key")}, "nope"),
    ]
    for i, (obj, expected) in enumerate(cases):
        r = check(write(tmp_path / f"bad{i}.json", obj))
        assert r.returncode != 0, (obj, r.stdout)
        assert expected in r.stderr, (obj, r.stderr)


def test_a_secret_in_a_readable_file_is_refused(tmp_path):
    r = check(write(tmp_path / "open.json", {"sessionKey": KEY}, mode=0o644))
    assert r.returncode != 0 and "chmod 600" in r.stderr, r.stderr
    assert KEY not in r.stderr
