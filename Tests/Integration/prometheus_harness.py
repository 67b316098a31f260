"""A real Prometheus server for tests (standard library only).

    from prometheus_harness import PrometheusServer, ensure_prometheus

    with PrometheusServer(["127.0.0.1:8080"], metrics_path="/metrics") as prom:
        prom.wait_for_target_up()
        prom.wait_until('sum(switchyard_requests_total)', lambda v: v is not None and v >= 100)
        prom.query_value('histogram_quantile(0.99, sum by (le) (rate(switchyard_request_duration_seconds_bucket[5s])))')

`ensure_prometheus()` installs Debian's `prometheus` package when the binary is missing (as root,
with `apt-get`, without recommends, and without letting the package start its own service, which
would take port 9090); otherwise it raises `PrometheusUnavailable` with the command to run.
`PrometheusServer` runs it on a free loopback port with a temporary configuration (every target
scraped every `scrape_interval`, default 1 s) and a temporary storage directory, waits for
`/-/ready`, answers PromQL through `/api/v1/query`, and stops it (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Callable, Optional

DEBIAN_PACKAGE = "prometheus"
CANDIDATES = ("/usr/bin/prometheus", "/usr/local/bin/prometheus")


class PrometheusUnavailable(RuntimeError):
    """Prometheus is not installed and cannot be installed here (not root, or apt failed)."""


class PrometheusError(RuntimeError):
    """The server did not start, or a query failed."""


def find_prometheus() -> Optional[str]:
    found = shutil.which("prometheus")
    if found:
        return found
    for c in CANDIDATES:
        if os.access(c, os.X_OK):
            return c
    return None


def ensure_prometheus(timeout: float = 300.0) -> str:
    """Returns the path of the `prometheus` binary, installing Debian's package when missing."""
    path = find_prometheus()
    if path:
        return path
    command = ["apt-get", "install", "-y", "-q", "--no-install-recommends", DEBIAN_PACKAGE]
    if os.geteuid() != 0:
        raise PrometheusUnavailable("prometheus is not installed; run:  sudo " + " ".join(command))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    # The package's maintainer scripts would start a system Prometheus on :9090; a
    # policy-rc.d that answers 101 ("action forbidden") stops that, as in container images.
    policy = Path("/usr/sbin/policy-rc.d")
    own_policy = not policy.exists()
    if own_policy:
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    try:
        deadline = time.monotonic() + timeout
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            # Package lists may be missing or stale: refresh once and retry.
            subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, text=True,
                           timeout=max(10.0, deadline - time.monotonic()))
            result = subprocess.run(command, env=env, capture_output=True, text=True,
                                    timeout=max(10.0, deadline - time.monotonic()))
        if result.returncode != 0:
            raise PrometheusUnavailable(f"{' '.join(command)} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    finally:
        if own_policy:
            policy.unlink(missing_ok=True)
    path = find_prometheus()
    if not path:
        raise PrometheusUnavailable(f"{DEBIAN_PACKAGE} installed but no prometheus binary found")
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrometheusServer:
    """A Prometheus process scraping `targets` (`host:port` strings) for the life of the object."""

    def __init__(self, targets: list[str], metrics_path: str = "/metrics", scrape_interval: str = "1s",
                 job: str = "switchyard", binary: Optional[str] = None, port: Optional[int] = None):
        self.targets = list(targets)
        self.metrics_path = metrics_path
        self.scrape_interval = scrape_interval
        self.job = job
        self.binary = binary
        self.port = port
        self.process: Optional[subprocess.Popen] = None
        self.workdir: Optional[str] = None
        self.log_path: Optional[Path] = None

    # ---- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> "PrometheusServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config_text(self) -> str:
        # YAML is a superset of JSON: no YAML library needed.
        config = {
            "global": {"scrape_interval": self.scrape_interval, "scrape_timeout": self.scrape_interval,
                       "evaluation_interval": self.scrape_interval},
            "scrape_configs": [{
                "job_name": self.job,
                "metrics_path": self.metrics_path,
                "static_configs": [{"targets": self.targets}],
            }],
        }
        return json.dumps(config, indent=2) + "\n"

    def start(self, timeout: float = 30.0) -> "PrometheusServer":
        binary = self.binary or ensure_prometheus()
        self.workdir = tempfile.mkdtemp(prefix="sy-prometheus-")
        config = Path(self.workdir) / "prometheus.yml"
        config.write_text(self.config_text())
        storage = Path(self.workdir) / "data"
        storage.mkdir()
        self.log_path = Path(self.workdir) / "prometheus.log"
        deadline = time.monotonic() + timeout
        for attempt in range(3):  # a free port can be taken between probe and bind
            port = self.port if (self.port and attempt == 0) else free_port()
            self.port = port
            log = open(self.log_path, "ab")
            self.process = subprocess.Popen(
                [binary, f"--config.file={config}", f"--storage.tsdb.path={storage}",
                 f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=1h",
                 "--log.level=warn"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
            log.close()
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    break
                if self._ready():
                    return self
                time.sleep(0.1)
            if self.process.poll() is None:
                self.stop()
                raise PrometheusError(f"prometheus not ready within {timeout:g} s\n{self.log_tail()}")
        raise PrometheusError(f"prometheus exited at start (code {self.process.returncode})\n{self.log_tail()}")

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/-/ready", timeout=1) as r:
                return r.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        p, self.process = self.process, None
        if p is not None and p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
        if self.workdir and not os.environ.get("SY_KEEP_PROMETHEUS_DIR"):
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:] if self.log_path else ""
        except OSError:
            return ""

    # ---- HTTP API -------------------------------------------------------------------------

    def _get(self, path: str, params: Optional[dict] = None, timeout: float = 10.0) -> dict:
        url = self.url + path + ("?" + urllib.parse.urlencode(params) if params else "")
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r:
                body = json.loads(r.read())
        except urllib.error.HTTPError as e:
            body = json.loads(e.read() or b"{}")
        if body.get("status") != "success":
            raise PrometheusError(f"{path} {params}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str, time_: Optional[float] = None) -> list[dict]:
        """`/api/v1/query`: the result vector, each item `{"metric": {...}, "value": [ts, "v"]}`
        (a scalar result comes back as one item with an empty metric)."""
        params = {"query": expr}
        if time_ is not None:
            params["time"] = f"{time_:.3f}"
        data = self._get("/api/v1/query", params)
        if data["resultType"] in ("scalar", "string"):
            return [{"metric": {}, "value": data["result"]}]
        return data["result"]

    def query_value(self, expr: str) -> Optional[float]:
        """The value of a query with one series (or a scalar); None when the result is empty."""
        result = self.query(expr)
        if not result:
            return None
        if len(result) > 1:
            raise PrometheusError(f"{expr}: {len(result)} series, expected one")
        return float(result[0]["value"][1])

    def targets_status(self) -> list[dict]:
        """`/api/v1/targets` active targets: `scrapeUrl`, `health` ("up"/"down"/"unknown"), `lastError`."""
        return self._get("/api/v1/targets", {"state": "active"})["activeTargets"]

    def wait_until(self, expr: str, predicate: Callable[[Optional[float]], bool], timeout: float = 15.0,
                   interval: float = 0.25) -> Optional[float]:
        """Polls `query_value(expr)` until `predicate(value)`; returns the value or raises."""
        deadline = time.monotonic() + timeout
        value = None
        while True:
            try:
                value = self.query_value(expr)
            except PrometheusError:
                value = None
            if predicate(value):
                return value
            if time.monotonic() >= deadline:
                raise PrometheusError(f"{expr}: last value {value} after {timeout:g} s\n"
                                      f"targets: {self.targets_status()}")
            time.sleep(interval)

    def wait_for_target_up(self, timeout: float = 15.0) -> None:
        """Waits until every target has been scraped successfully at least once."""
        self.wait_until(f'min(up{{job="{self.job}"}})', lambda v: v == 1.0, timeout=timeout)

    def wait_for_scrapes(self, n: int = 1, timeout: float = 15.0) -> None:
        """Waits until `n` more scrapes of every target happened (use after a load ends)."""
        expr = f'min(count_over_time(up{{job="{self.job}"}}[1h]))'
        start = self.query_value(expr) or 0
        self.wait_until(expr, lambda v: v is not None and v >= start + n, timeout=timeout)
