"""The Prometheus harness on its own: a real Prometheus scrapes a tiny HTTP server whose metrics
grow with every scrape, and PromQL answers through the HTTP API. No Switchyard involved."""

from __future__ import annotations

import http.server
import threading

import pytest

from prometheus_harness import PrometheusServer, PrometheusUnavailable, ensure_prometheus

BOUNDS = ["0.001", "0.0025", "0.005", "0.01", "+Inf"]


class FakeTarget:
    """Serves Prometheus text; each scrape adds 10 requests, all observed in (1 ms, 2.5 ms]."""

    def __init__(self):
        self.scrapes = 0
        self.lock = threading.Lock()
        target = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path != "/metrics":
                    self.send_error(404)
                    return
                body = target.render().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.httpd.server_address[1]}"

    def render(self) -> str:
        with self.lock:
            self.scrapes += 1
            n = 10 * self.scrapes
        buckets = [0, n, n, n, n]
        lines = [
            "# HELP switchyard_requests_total HTTP requests answered.",
            "# TYPE switchyard_requests_total counter",
            f'switchyard_requests_total{{method="tools/call",status="200"}} {n}',
            "# HELP switchyard_request_duration_seconds Request latency.",
            "# TYPE switchyard_request_duration_seconds histogram",
        ]
        lines += [f'switchyard_request_duration_seconds_bucket{{method="tools/call",le="{b}"}} {c}'
                  for b, c in zip(BOUNDS, buckets)]
        lines += [f'switchyard_request_duration_seconds_sum{{method="tools/call"}} {n * 0.002}',
                  f'switchyard_request_duration_seconds_count{{method="tools/call"}} {n}']
        return "\n".join(lines) + "\n"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def prometheus_binary():
    try:
        return ensure_prometheus()
    except PrometheusUnavailable as e:
        pytest.skip(str(e))


@pytest.mark.timeout(60)
def test_harness_scrapes_and_queries(prometheus_binary):
    with FakeTarget() as target, PrometheusServer([target.address], binary=prometheus_binary) as prom:
        prom.wait_for_target_up(timeout=20)
        (t,) = prom.targets_status()
        assert t["health"] == "up" and t["scrapeUrl"].endswith(target.address + "/metrics")

        # The counter Prometheus stored is what the target served at some scrape.
        v = prom.wait_until('sum(switchyard_requests_total)', lambda v: v is not None and v >= 30, timeout=20)
        assert v % 10 == 0 and v <= 10 * target.scrapes

        # Two scrapes or more in the window: a rate and a quantile from the histogram.
        rate = prom.wait_until('sum(rate(switchyard_requests_total[5s]))', lambda v: v is not None and v > 0,
                               timeout=20)
        assert 1 < rate < 100  # 10 per scrape, one scrape a second
        p99 = prom.query_value('histogram_quantile(0.99, sum by (le) '
                               '(rate(switchyard_request_duration_seconds_bucket[5s])))')
        assert p99 is not None and 0.001 < p99 <= 0.0025
        assert prom.query('switchyard_requests_total')[0]["metric"]["method"] == "tools/call"

        before = target.scrapes
        prom.wait_for_scrapes(2, timeout=10)
        assert target.scrapes >= before + 2
    assert prom.process is None


def test_config_is_valid_yaml_json():
    import json
    cfg = json.loads(PrometheusServer(["127.0.0.1:1"], metrics_path="/m").config_text())
    job = cfg["scrape_configs"][0]
    assert job["metrics_path"] == "/m" and job["static_configs"][0]["targets"] == ["127.0.0.1:1"]
    assert cfg["global"]["scrape_interval"] == "1s"


REPO = __import__("pathlib").Path(__file__).resolve().parents[2]


@pytest.mark.timeout(60)
def test_deploy_files_are_valid_for_this_prometheus(prometheus_binary):
    """deploy/: promtool accepts the example config, and Prometheus parses every dashboard query."""
    import json
    import shutil
    import subprocess
    promtool = shutil.which("promtool")
    if promtool:
        r = subprocess.run([promtool, "check", "config", str(REPO / "deploy/prometheus/prometheus.yml")],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stdout + r.stderr
    dashboard = json.loads((REPO / "deploy/grafana/switchyard-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert len(exprs) >= 20
    with PrometheusServer(["127.0.0.1:1"], binary=prometheus_binary) as prom:
        for e in exprs:
            prom.query(e.replace("$__rate_interval", "5s").replace("$job", ".*"))  # raises on a parse error
