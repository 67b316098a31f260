"""`switchyard keys new | list | revoke`: the key is printed once, only its hash is stored, the
file is private, names are unique."""
import hashlib
import os
import re
import stat
import subprocess

from conftest import switchyard_bin

KEY = re.compile(r"^sy_[A-Za-z0-9_-]{43}$")


def keys(*args, file):
    return subprocess.run([switchyard_bin(), "keys", *args, "--file", str(file)],
                          capture_output=True, text=True, timeout=30)


def test_new_list_revoke(tmp_path):
    path = tmp_path / "keys.json"
    made = keys("new", "--name", "ci-bot", "--scopes", "tools:read tools:call", file=path)
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert KEY.match(key), "stdout is the key and nothing else"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = path.read_text()
    assert key not in text and key[3:] not in text
    assert hashlib.sha256(key.encode()).hexdigest() in text

    again = keys("new", "--name", "ci-bot", file=path)
    assert again.returncode != 0 and "exists" in again.stderr
    assert keys("new", "--name", "other", file=path).returncode == 0

    listed = keys("list", file=path)
    assert listed.returncode == 0
    rows = [line.split("\t") for line in listed.stdout.splitlines()]
    assert [r[0] for r in rows] == ["ci-bot", "other"]
    assert rows[0][1] == "tools:read tools:call" and rows[1][1] == "-"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", rows[0][2])
    assert key not in listed.stdout

    assert keys("revoke", "--name", "ci-bot", file=path).returncode == 0
    assert [line.split("\t")[0] for line in keys("list", file=path).stdout.splitlines()] == ["other"]
    assert keys("revoke", "--name", "ci-bot", file=path).returncode != 0


def test_a_file_others_can_read_is_refused(tmp_path):
    path = tmp_path / "keys.json"
    assert keys("new", "--name", "a", file=path).returncode == 0
    os.chmod(path, 0o644)
    for args in (["list"], ["new", "--name", "b"], ["revoke", "--name", "a"]):
        result = keys(*args, file=path)
        assert result.returncode != 0 and "readable by other users" in result.stderr, args
