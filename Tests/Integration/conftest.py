"""Fixtures for the Switchyard integration tests.

The binary is `$SWITCHYARD_BIN`, else `<repo>/.build/debug/switchyard`. These tests never build it.

Fixtures:
  server           a fresh `switchyard serve` for this test (stopped at teardown)
  shared_server    one server per distinct option set for the whole session (for tests that leave
                   it healthy); both take options from `@pytest.mark.switchyard(...)` or from an
                   indirect parameter (a dict)
  server_factory   a callable `start(**options)` for tests that need several servers or control
                   over the start

Options: fronts, executors, tools, executor_cmds (list of strings passed as --executor-cmd),
prefer_sse, session_key, max_body, extra_args (list), env (dict), tls (the ready line announces
https; implied by --tls-cert in extra_args), netns (a network namespace to run it in, with
`ip netns exec`: see hosts.py).

  host_network     two hosts' addresses for the tests of several hosts: separate network
                   namespaces when run as root (else 127.0.0.2 and 127.0.0.3); the mode is in the
                   test id (`[netns]` or `[loopback]`). See hosts.py.

Every test runs under a hard SIGALRM timeout: `@pytest.mark.timeout(seconds)` (default 30) for the
call phase, 60 s for setup and teardown.
"""

from __future__ import annotations

import collections
import http.client
import json
import os
import queue
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
READY_MARKER = "serving MCP at"
START_TIMEOUT = 30.0
STOP_GRACE = 10.0
DEFAULT_CALL_TIMEOUT = 30.0
PHASE_TIMEOUT = 60.0

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hosts import MODE as HOST_NETWORK_MODE, HostNetwork, describe_mode  # noqa: E402


def switchyard_bin() -> str:
    return os.environ.get("SWITCHYARD_BIN") or str(REPO / ".build" / "debug" / "switchyard")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def python_executor_cmd() -> str:
    return "python3 " + shlex.quote(str(REPO / "proto" / "examples" / "reference_executor.py"))


def pid_alive(pid: int) -> bool:
    """True if `pid` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (FileNotFoundError, IndexError):
        return False


class ServerStartError(RuntimeError):
    pass


class SwitchyardServer:
    """A running `switchyard serve`. Attributes: url, host, port, process, pid, run_dir, log_dir."""

    def __init__(self, log_dir: Path, name: str = "server", *, fronts: int = 2, executors: int = 2,
                 tools: str | None = "demo", executor_cmds: list[str] | tuple = (), prefer_sse: bool = False,
                 session_key: str | None = None, max_body: int | None = None, extra_args=(), env=None,
                 host: str = "127.0.0.1", nofile: int | None = None, tls: bool = False,
                 netns: str | None = None):
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.host = host
        self.netns = netns
        self.options = dict(fronts=fronts, executors=executors, tools=tools, executor_cmds=list(executor_cmds),
                            prefer_sse=prefer_sse, session_key=session_key, max_body=max_body,
                            extra_args=list(extra_args), env=dict(env or {}), nofile=nofile,
                            tls=tls or "--tls-cert" in extra_args)
        # Unix socket paths are limited to 107 bytes, so the run dir is short and separate from the logs.
        self.run_dir = Path(tempfile.mkdtemp(prefix="sy-", dir="/tmp"))
        self.stderr_path = self.log_dir / f"{name}.stderr.log"
        self.stdout_lines: list[str] = []
        self.process: subprocess.Popen | None = None
        self.port = 0
        self.url = ""
        self.exit_code: int | None = None
        self._stderr_file = None
        self._stdout_q: queue.Queue = queue.Queue()

    # ---- lifecycle ------------------------------------------------------------------------

    def argv(self, port: int) -> list[str]:
        o = self.options
        # `ip netns exec` execs in place: the pid (and process group) is still the server's.
        netns = ["ip", "netns", "exec", self.netns] if self.netns else []
        argv = netns + [switchyard_bin(), "serve", "--host", self.host, "--port", str(port),
                "--fronts", str(o["fronts"]), "--executors", str(o["executors"]), "--run-dir", str(self.run_dir)]
        if o["tools"]:
            argv += ["--tools", o["tools"]]
        for cmd in o["executor_cmds"]:
            argv += ["--executor-cmd", cmd]
        if o["prefer_sse"]:
            argv.append("--prefer-sse")
        if o["session_key"]:
            argv += ["--session-key", o["session_key"]]
        if o["max_body"] is not None:
            argv += ["--max-body", str(o["max_body"])]
        return argv + o["extra_args"]

    def start(self, timeout: float = START_TIMEOUT) -> "SwitchyardServer":
        binary = switchyard_bin()
        if not os.access(binary, os.X_OK):
            raise ServerStartError(f"switchyard binary not found or not executable: {binary} "
                                   "(build it first, or set SWITCHYARD_BIN)")
        last_error = None
        for attempt in range(3):  # a free port can be taken between probing and binding
            port = free_port()
            try:
                self._spawn(port, timeout)
                return self
            except ServerStartError as e:
                last_error = e
                if "in use" not in self.stderr_tail(50).lower():
                    raise
        raise last_error

    def _spawn(self, port: int, timeout: float):
        if self._stderr_file:
            self._stderr_file.close()
        self._stderr_file = open(self.stderr_path, "ab")
        self._stderr_file.write(f"---- {' '.join(map(shlex.quote, self.argv(port)))}\n".encode())
        self._stderr_file.flush()
        env = dict(os.environ)
        env.update(self.options["env"])
        nofile = self.options["nofile"]

        def limit_descriptors():  # a low descriptor limit for the server and its children (pressure tests)
            import resource
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))

        self.process = subprocess.Popen(
            self.argv(port), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._stderr_file,
            env=env, cwd=str(REPO), start_new_session=True, preexec_fn=limit_descriptors if nofile else None)
        self._stdout_q = queue.Queue()
        threading.Thread(target=self._pump_stdout, args=(self.process, self._stdout_q), daemon=True).start()
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._kill_group()
                raise ServerStartError(f"no '{READY_MARKER}' line within {timeout}s\n{self.stderr_tail()}")
            try:
                line = self._stdout_q.get(timeout=min(remaining, 0.2))
            except queue.Empty:
                continue
            if line is None:
                self.process.wait(timeout=5)
                self.exit_code = self.process.returncode
                self._kill_group()
                raise ServerStartError(f"switchyard serve exited with {self.exit_code} before it was ready\n"
                                       f"stdout: {self.stdout_lines!r}\n{self.stderr_tail()}")
            if READY_MARKER in line:
                url = line.split(READY_MARKER, 1)[1].strip()
                self.url = url
                self.port = port
                scheme = "https" if self.options["tls"] else "http"
                expected = f"{scheme}://{self.host}:{port}/mcp"
                if url != expected:
                    self.url = expected
                    raise ServerStartError(f"ready line announces {url!r}, expected {expected!r}: {line!r}")
                return

    def _pump_stdout(self, process, q):
        for raw in process.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.stdout_lines.append(line)
            q.put(line)
        q.put(None)

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def terminate(self):
        """Sends SIGTERM to the serve process (not its group)."""
        self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        self.exit_code = self.process.wait(timeout=timeout)
        return self.exit_code

    def stop(self):
        """SIGTERM, then SIGKILL after 10 s; then kills whatever is left in its process group."""
        if self.process is None:
            return
        if self.process.poll() is None:
            try:
                self.process.send_signal(signal.SIGTERM)
                self.process.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
                with open(self.stderr_path, "ab") as f:
                    f.write(b"---- test harness: SIGKILL after 10 s of SIGTERM\n")
        self.exit_code = self.process.returncode
        self._kill_group()
        if self._stderr_file:
            self._stderr_file.close()
            self._stderr_file = None
        shutil.rmtree(self.run_dir, ignore_errors=True)

    def _kill_group(self):
        # The group was created by us (start_new_session) and holds only this server's processes.
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.process.poll() is None:
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass

    # ---- helpers --------------------------------------------------------------------------

    def healthz(self, timeout: float = 5.0) -> tuple[int, dict]:
        """GET /healthz on a fresh connection: (status, parsed JSON body)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request("GET", "/healthz")
            r = conn.getresponse()
            body = r.read()
            try:
                data = json.loads(body) if body else {}
            except ValueError:
                data = {"_raw": body.decode("utf-8", "replace")}
            return r.status, data
        finally:
            conn.close()

    def in_flight(self) -> int:
        """Calls in flight on the executors, as the front that answers this /healthz sees them."""
        _, data = self.healthz()
        return sum(e.get("inFlight", 0) for e in data.get("executors", []))

    def executor_pids(self) -> dict[str, int]:
        status, data = self.healthz()
        return {e["name"]: e.get("pid") for e in data.get("executors", [])}

    def stderr_tail(self, lines: int = 60) -> str:
        try:
            with open(self.stderr_path, "rb") as f:
                tail = collections.deque(f, maxlen=lines)
        except FileNotFoundError:
            return "(no stderr captured)"
        return f"---- {self.name} stderr (last {lines} lines of {self.stderr_path}):\n" + \
            b"".join(tail).decode("utf-8", "replace")


# ---- hard timeouts ------------------------------------------------------------------------

class HardTimeout(Exception):
    pass


def _arm(seconds: float, what: str):
    def on_alarm(signum, frame):
        raise HardTimeout(f"{what} exceeded the hard timeout of {seconds:g} s")
    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    return previous


def _disarm(previous):
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous or signal.SIG_DFL)


def pytest_report_header(config):
    return describe_mode()


def pytest_configure(config):
    config.addinivalue_line("markers", "timeout(seconds): hard timeout for the test's call phase (default 30)")
    config.addinivalue_line("markers", "switchyard(**options): options for the server / shared_server fixtures")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    prev = _arm(PHASE_TIMEOUT, f"setup of {item.nodeid}")
    try:
        yield
    finally:
        _disarm(prev)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    marker = item.get_closest_marker("timeout")
    seconds = float(marker.args[0]) if marker and marker.args else DEFAULT_CALL_TIMEOUT
    prev = _arm(seconds, item.nodeid)
    try:
        yield
    finally:
        _disarm(prev)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item):
    prev = _arm(PHASE_TIMEOUT, f"teardown of {item.nodeid}")
    try:
        yield
    finally:
        _disarm(prev)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for srv in getattr(item, "_switchyard_servers", []):
            rep.sections.append((f"switchyard stderr tail ({srv.name})", srv.stderr_tail()))


# ---- fixtures -----------------------------------------------------------------------------

def _options(request) -> dict:
    opts = {}
    marker = request.node.get_closest_marker("switchyard")
    if marker:
        opts.update(marker.kwargs)
    param = getattr(request, "param", None)
    if isinstance(param, dict):
        opts.update(param)
    return opts


def _attach(request, srv: SwitchyardServer):
    node = request.node
    if not hasattr(node, "_switchyard_servers"):
        node._switchyard_servers = []
    if srv not in node._switchyard_servers:
        node._switchyard_servers.append(srv)


@pytest.fixture
def server_factory(request, tmp_path):
    started: list[SwitchyardServer] = []

    def start(**options) -> SwitchyardServer:
        srv = SwitchyardServer(tmp_path, name=f"server{len(started)}", **options)
        started.append(srv)
        _attach(request, srv)
        return srv.start()

    yield start
    for srv in reversed(started):
        srv.stop()


@pytest.fixture(params=[HOST_NETWORK_MODE])
def host_network(request):
    """Two hosts' addresses (see hosts.py); the mode is the parameter, so it shows in the test id."""
    net = HostNetwork(2, mode=request.param).open()
    try:
        yield net
    finally:
        net.close()
    assert net.leftovers() == [], f"network namespaces left behind: {net.leftovers()}"


@pytest.fixture
def server(request, server_factory) -> SwitchyardServer:
    return server_factory(**_options(request))


@pytest.fixture(scope="session")
def _shared_servers(tmp_path_factory):
    servers: dict[str, SwitchyardServer] = {}
    yield servers
    for srv in servers.values():
        srv.stop()


@pytest.fixture
def shared_server(request, _shared_servers, tmp_path_factory) -> SwitchyardServer:
    opts = _options(request)
    key = json.dumps(opts, sort_keys=True)
    srv = _shared_servers.get(key)
    if srv is not None and not srv.running():
        pytest.fail(f"shared server {srv.name} ({key}) is no longer running (exit {srv.process.returncode})\n"
                    f"{srv.stderr_tail()}")
    if srv is None:
        srv = SwitchyardServer(tmp_path_factory.mktemp("shared"), name=f"shared{len(_shared_servers)}", **opts)
        _attach(request, srv)
        srv.start()
        _shared_servers[key] = srv
    _attach(request, srv)
    return srv
