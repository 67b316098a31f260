"""The official MCP Swift SDK client (modelcontextprotocol/swift-sdk 0.12.1) against `switchyard serve`.

The client is Tests/Integration/swift-sdk-client/main.swift. It is built here against a patched copy
of the SDK prepared outside the repository, as bench/anchors/build-swift-sdk.sh does for the bench
anchor: the SDK's manifest names swift-docc-plugin on branch `main` and ships a Package.resolved with
revisions a package mirror may lack, so the copy drops both. Nothing of the SDK is committed here.

Build directory: `$SWIFT_SDK_CLIENT_DIR`, else `${TMPDIR:-/tmp}/switchyard-swift-sdk-client`. The built
client is cached under a hash of its sources, the SDK version and the toolchain, so only the first run
pays for the build (a few minutes).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
CLIENT_SRC = HERE / "swift-sdk-client"
SDK_URL = "https://github.com/modelcontextprotocol/swift-sdk"
SDK_VERSION = os.environ.get("SWIFT_SDK_VERSION", "0.12.1")
BUILD_TIMEOUT = 480.0
CLIENT_TIMEOUT = 60.0
STATIC_TEXT = "This is the content of the static text resource."


def _build_dir() -> Path:
    explicit = os.environ.get("SWIFT_SDK_CLIENT_DIR")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("TMPDIR") or "/tmp") / "switchyard-swift-sdk-client"


def _log(msg: str):
    print(f"[swift-sdk-client] {msg}", file=sys.stderr, flush=True)


def _run_streaming(argv: list[str], cwd: Path, timeout: float):
    """Runs `argv`, echoing its output as progress; raises with the output's tail on failure."""
    _log(f"$ {' '.join(argv)}  (in {cwd})")
    tail: list[str] = []
    deadline = time.monotonic() + timeout
    with subprocess.Popen(argv, cwd=str(cwd), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL, start_new_session=True) as p:
        try:
            for raw in p.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                tail = (tail + [line])[-60:]
                _log(f"  {line}")
                if time.monotonic() > deadline:
                    raise subprocess.TimeoutExpired(argv, timeout)
            p.wait(timeout=max(1.0, deadline - time.monotonic()))
        except BaseException:
            p.kill()
            p.wait()
            raise
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited with {p.returncode}\n" + "\n".join(tail))


def _prepare_sdk(root: Path) -> Path:
    """A shallow clone of the SDK at SDK_VERSION with its Package.resolved and docc plugin removed."""
    sdk = root / f"sdk-{SDK_VERSION}" / "swift-sdk"  # a path package's identity is its directory name
    marker = sdk / ".switchyard-patched"
    if marker.exists():
        return sdk
    shutil.rmtree(sdk, ignore_errors=True)
    sdk.parent.mkdir(parents=True, exist_ok=True)
    _run_streaming(["git", "clone", "-q", "--depth", "1", "--branch", SDK_VERSION, SDK_URL, str(sdk)],
                   root, timeout=180)
    (sdk / "Package.resolved").unlink(missing_ok=True)
    for manifest in sdk.glob("Package*.swift"):
        lines = manifest.read_text().splitlines(keepends=True)
        manifest.write_text("".join(l for l in lines if "swift-docc-plugin" not in l))
    marker.write_text(SDK_VERSION + "\n")
    return sdk


def _source_key() -> str:
    h = hashlib.sha256()
    for name in ("Package.swift.template", "main.swift"):
        h.update(name.encode() + b"\0" + (CLIENT_SRC / name).read_bytes() + b"\0")
    h.update(SDK_VERSION.encode() + b"\0")
    version = subprocess.run(["swift", "--version"], capture_output=True, text=True, timeout=60)
    h.update((version.stdout + version.stderr).encode())
    return h.hexdigest()


def build_swift_sdk_client() -> Path:
    """Builds (or reuses) the Swift SDK test client and returns the executable's path."""
    if shutil.which("swift") is None or shutil.which("git") is None:
        pytest.skip("the Swift toolchain and git are needed to build the Swift SDK client")
    root = _build_dir()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # concurrent test runs share one build
        key = _source_key()
        pkg = root / "client"
        binary = pkg / ".build" / "debug" / "swift-sdk-client"
        stamp = pkg / ".switchyard-source-key"
        if binary.exists() and stamp.exists() and stamp.read_text().strip() == key:
            _log(f"cached client {binary}")
            return binary
        started = time.monotonic()
        _log(f"building the Swift SDK {SDK_VERSION} client in {root} (the first build takes minutes)")
        sdk = _prepare_sdk(root)
        (pkg / "Sources").mkdir(parents=True, exist_ok=True)
        template = (CLIENT_SRC / "Package.swift.template").read_text()
        (pkg / "Package.swift").write_text(template.replace("@SDK_PATH@", str(sdk)))
        shutil.copyfile(CLIENT_SRC / "main.swift", pkg / "Sources" / "main.swift")
        stamp.unlink(missing_ok=True)
        _run_streaming(["swift", "build", "-c", "debug"], pkg, timeout=BUILD_TIMEOUT)
        if not binary.exists():
            raise RuntimeError(f"swift build succeeded but {binary} is missing")
        stamp.write_text(key + "\n")
        _log(f"built {binary} in {time.monotonic() - started:.1f} s")
        return binary


@pytest.mark.timeout(900)
def test_swift_sdk_client_tools_call_and_resources_read(server_factory):
    binary = build_swift_sdk_client()
    srv = server_factory(fronts=2, executors=2, tools="demo,conformance")
    r = subprocess.run([str(binary), srv.url, "resources", str(int(CLIENT_TIMEOUT - 10))],
                       capture_output=True, text=True, timeout=CLIENT_TIMEOUT, stdin=subprocess.DEVNULL)
    _log(f"client exit {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}")
    assert r.returncode == 0, f"client exited with {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    lines = r.stdout.splitlines()
    assert "SERVER switchyard" in lines, lines
    protocol = next((l.split(" ", 1)[1] for l in lines if l.startswith("PROTOCOL ")), None)
    assert protocol in ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"), lines
    tools = next((l.split(" ", 1)[1].split(",") for l in lines if l.startswith("TOOLS ")), [])
    assert "echo" in tools, lines
    assert "TOOL from swift" in lines, lines
    assert f"RESOURCE {STATIC_TEXT}" in lines, lines
    assert lines[-1] == "OK", lines
