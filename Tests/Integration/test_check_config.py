"""`switchyard check-config FILE`: every check `serve --config` makes, without starting anything,
and the effective configuration printed with secrets redacted."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

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
        ({"fronts": 0}, "'fronts' must be a whole number in 1...64, got 0"),
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


BIG = "9223372036854775807"  # Int.max: overflows once turned into bytes or ms


def run_command(args, timeout=30):
    return subprocess.run([switchyard_bin(), *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def assert_refused(r, expected, what):
    # A clear error and exit 64 (a usage error), never a trap (SIGILL, rc 132 or -4) or a crash.
    assert r.returncode == 64, (what, r.returncode, r.stderr[-2000:])
    assert expected in r.stderr, (what, r.stderr[-2000:])
    assert "Fatal error" not in r.stderr and "not representable" not in r.stderr, (what, r.stderr[-2000:])


# Every numeric option of serve, stdio, front and executor, with a value out of its range:
# negative, zero where it means nothing, or large enough to overflow once converted.
OPTION_CASES = [
    (["stdio", "--heartbeat-interval-ms=-1"], "--heartbeat-interval-ms must be 0...3600000, got -1"),
    (["serve", "--executor-max-rss-mb", BIG], "--executor-max-rss-mb must be 1...1048576"),
    (["stdio", "--executor-max-rss-mb", BIG], "--executor-max-rss-mb must be 1...1048576"),
    (["serve", "--heartbeat-timeout-ms", "0"], "--heartbeat-timeout-ms must be 1...3600000, got 0"),
    (["serve", "--call-timeout-ms", "0"], "--call-timeout-ms must be 1...31536000000, got 0"),
    (["stdio", "--call-timeout-ms", BIG], "--call-timeout-ms must be 1...31536000000"),
    (["serve", "--max-body=-5"], "--max-body must be 1...1099511627776, got -5"),
    (["stdio", "--compress-threshold", "99999999999"], "--compress-threshold must be 0...4294967295"),
    (["serve", "--restart-period-ms=-1"], "--restart-period-ms must be 1...31536000000, got -1"),
    (["serve", "--restart-max-delay-ms", BIG], "--restart-max-delay-ms must be 0...31536000000"),
    (["stdio", "--restart-intensity=-1"], "--restart-intensity must be 0...1000000, got -1"),
    (["serve", "--executors=-1"], "--executors must be 0...256, got -1"),
    (["serve", "--upstream-pool", "0"], "--upstream-pool must be 1...64, got 0"),
    (["serve", "--executor-max-concurrency", "0"], "--executor-max-concurrency must be 1...65536, got 0"),
    (["serve", "--max-queued=-1"], "--max-queued must be 0...100000000, got -1"),
    (["stdio", "--max-result", "0"], "--max-result must be 1...1099511627776, got 0"),
    (["serve", "--list-page-size", "0"], "--list-page-size must be 1...100000, got 0"),
    (["serve", "--result-cache-mb=-1"], "--result-cache-mb must be 0...65536, got -1"),
    (["serve", "--tool-timeout", "echo=" + BIG], "--tool-timeout takes NAME=MS with MS 1...31536000000"),
    (["serve", "--port", "0"], "--port must be 1...65535, got 0"),
    (["serve", "--fronts", BIG], "--fronts must be 1...64"),
    (["serve", "--idle-timeout", BIG], "--idle-timeout must be 1...31536000"),
    (["serve", "--head-timeout=-1"], "--head-timeout must be 1...31536000000, got -1"),
    (["serve", "--body-min-rate=-1"], "--body-min-rate must be 0...1099511627776, got -1"),
    (["serve", "--max-conns-per-address=-1"], "--max-conns-per-address must be 0...100000000, got -1"),
    (["serve", "--session-idle-timeout=-1"], "--session-idle-timeout must be 0...31536000, got -1"),
    (["serve", "--event-store-size=-1"], "--event-store-size must be 0...1000000, got -1"),
    (["serve", "--event-store-age", BIG], "--event-store-age must be 0...31536000"),
    (["serve", "--auth-clock-skew=-1"], "--auth-clock-skew must be 0...31536000, got -1"),
    (["front", "--run-dir", "{tmp}", "--idle-timeout", BIG], "--idle-timeout must be 1...31536000"),
    (["front", "--run-dir", "{tmp}", "--event-store-age", BIG], "--event-store-age must be 0...31536000"),
    (["front", "--run-dir", "{tmp}", "--call-timeout-ms=-1"], "--call-timeout-ms must be 1...31536000000"),
    (["front", "--run-dir", "{tmp}", "--head-timeout", "0"], "--head-timeout must be 1...31536000000"),
    (["front", "--run-dir", "{tmp}", "--session-idle-timeout=-1"], "--session-idle-timeout must be 0...31536000"),
    (["front", "--run-dir", "{tmp}", "--list-page-size", "0"], "--list-page-size must be 1...100000"),
    (["front", "--run-dir", "{tmp}", "--max-body", "0"], "--max-body must be 1...1099511627776"),
    (["executor", "--socket", "{tmp}/x.sock", "--max-concurrency", "0"], "--max-concurrency must be 1...65536"),
    (["executor", "--socket", "{tmp}/x.sock", "--compress-threshold=-1"], "--compress-threshold must be 0...4294967295"),
]


@pytest.mark.parametrize("args, expected", OPTION_CASES, ids=[" ".join(a[:3]) for a, _ in OPTION_CASES])
def test_a_numeric_option_out_of_range_is_a_clear_error(tmp_path, args, expected):
    r = run_command([a.replace("{tmp}", str(tmp_path)) for a in args])
    assert_refused(r, expected, args)


# Config keys: fractions, 1e300 (no Int holds it), -0, negatives, strings, Int.max.
CONFIG_CASES = [
    ({"callTimeoutMs": 1e300}, "'callTimeoutMs' must be a whole number in 1...31536000000, "),
    ({"heartbeatIntervalMs": -1}, "'heartbeatIntervalMs' must be a whole number in 0...3600000, got -1"),
    ({"executorMaxRssMb": int(BIG)}, "'executorMaxRssMb' must be a whole number in 1...1048576"),
    ({"maxBody": 1.5}, "'maxBody' must be a whole number in 1...1099511627776, got 1.5"),
    ({"port": -0.0}, "'port' must be a whole number in 1...65535"),
    ({"restartIntensity": "3"}, "'restartIntensity' must be a whole number in 0...1000000"),
    ({"eventStoreAge": 1e300}, "'eventStoreAge' must be a whole number in 0...31536000"),
    ({"idleTimeout": 0}, "'idleTimeout' must be a whole number in 1...31536000, got 0"),
    ({"upstreamPool": 0}, "'upstreamPool' must be a whole number in 1...64, got 0"),
    ({"resultCacheMb": 1e300}, "'resultCacheMb' must be a whole number in 0...65536"),
    ({"authClockSkew": -1}, "'authClockSkew' must be a whole number in 0...31536000, got -1"),
    ({"compressThreshold": 2.5e10}, "'compressThreshold' must be a whole number in 0...4294967295"),
    ({"executors": -0.5}, "'executors' must be a whole number in 0...256"),
    ({"upstreams": {"u": {"command": "true", "timeoutMs": 1e300}}}, "'timeoutMs' must be a whole number"),
]


@pytest.mark.parametrize("obj, expected", CONFIG_CASES, ids=[next(iter(o)) for o, _ in CONFIG_CASES])
def test_a_numeric_config_key_out_of_range_is_a_clear_error(tmp_path, obj, expected):
    cfg = write(tmp_path / "bad.json", obj)
    assert_refused(check(cfg), expected, ("check-config", obj))
    assert_refused(run_command(["serve", "--config", str(cfg)]), expected, ("serve", obj))
    if not ({"port", "idleTimeout", "eventStoreAge", "authClockSkew"} & obj.keys()):  # HTTP-only keys: stdio refuses them
        assert_refused(run_command(["stdio", "--config", str(cfg)]), expected, ("stdio", obj))
