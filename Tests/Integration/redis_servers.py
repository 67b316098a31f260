"""Real Redis servers for the integration tests: one server, a Redis Cluster, a Sentinel set.

Every class is a context manager that starts the Debian binaries (`redis-server`, `redis-sentinel`,
`redis-cli` for cluster creation) on loopback with free ports in a private temporary directory,
and stops every process it started on exit (SIGTERM, then SIGKILL). Nothing is left running.

    with RedisServer() as r:                 # r.url == "redis://127.0.0.1:PORT/0"
        r.command("SET", "k", "v")          # a small RESP client: bytes / int / str / list / None
    with RedisServer(password="s3cret") as r:  # r.url carries the password (":s3cret@")
        ...
    with RedisServer(host="198.18.5.1") as r:  # bound to another local address (hosts.py's root_address)
        ...
    with RedisCluster(masters=3) as c:       # c.seeds == "127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3"
        c.node_for_key("sy:{abc}:rev")      # the RedisServer serving the key's slot
        c.keys_per_node("sy:*")             # {endpoint: [keys]}
        c.migrate_slot(slot, source, target)  # one slot's keys moved (for resharding tests)
    with RedisSentinelSet(replicas=1, sentinels=3) as s:
        s.sentinels, s.master_name          # "h:p,h:p,h:p", "sy"
        s.primary()                         # the RedisServer the sentinels name as master now
        s.kill_primary(); s.wait_failover(old)  # a replica promoted

`command()` raises `RedisError` for an error reply and `OSError` when the server is away.
`RedisServer.stop()` / `.start()` stop and restart a server on the same port (a "Redis down,
then back" test); `.commandstats()` parses INFO commandstats ({"get": calls, ...}).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

START_TIMEOUT = 10.0


class RedisError(Exception):
    """An error reply (`-ERR ...`)."""


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_redis_port(cluster: bool = False) -> int:
    """A free port (and, for a cluster node, its bus port +10000 free too)."""
    for _ in range(200):
        port = random.randint(20000, 54000)
        if _port_free(port) and (not cluster or _port_free(port + 10000)):
            return port
    raise RuntimeError("no free port for redis")


# ---- a minimal RESP2 client -------------------------------------------------------------------

class Connection:
    """One blocking RESP connection (for tests: `command`, and `read_reply` for MONITOR/SUBSCRIBE)."""

    def __init__(self, host: str, port: int, password: str | None = None, timeout: float = 5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        if password:
            self.command("AUTH", password)

    def close(self):
        self.sock.close()

    def send(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            b = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(b), b))
        self.sock.sendall(b"".join(out))

    def command(self, *args):
        self.send(*args)
        return self.read_reply()

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n: int) -> bytes:
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def read_reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read_reply() for _ in range(n)]
        raise RedisError(f"unexpected reply {line!r}")


# ---- one server ------------------------------------------------------------------------------

class RedisServer:
    """One `redis-server` on 127.0.0.1 or `host` (no persistence). Attributes: host, port, endpoint, url."""

    def __init__(self, port: int | None = None, password: str | None = None, host: str = "127.0.0.1",
                 extra: list[str] | tuple = (), directory: Path | None = None, cluster: bool = False,
                 name: str = "redis"):
        self.host = host
        self.port = port or free_redis_port(cluster)
        self.password = password
        self.extra = list(extra)
        self.cluster = cluster
        self.name = name
        self._own_dir = directory is None
        self.dir = Path(directory or tempfile.mkdtemp(prefix="sy-redis-"))
        self.dir.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen | None = None
        self.log_path = self.dir / f"{name}-{self.port}.log"

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}{self.host}:{self.port}/0"

    def argv(self) -> list[str]:
        argv = ["redis-server", "--port", str(self.port), "--bind", self.host, "--save", "",
                "--appendonly", "no", "--dir", str(self.dir), "--logfile", str(self.log_path),
                "--daemonize", "no", "--protected-mode", "no"]
        if self.password:
            argv += ["--requirepass", self.password, "--masterauth", self.password]
        if self.cluster:
            argv += ["--cluster-enabled", "yes", "--cluster-config-file", str(self.dir / f"nodes-{self.port}.conf"),
                     "--cluster-node-timeout", "2000"]
        return argv + self.extra

    def start(self, timeout: float = START_TIMEOUT) -> "RedisServer":
        """Starts (or restarts, on the same port) and waits until it answers PING."""
        if self.running():
            return self
        self.process = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.command("PING") == "PONG":
                    return self
            except (OSError, RedisError):
                pass
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}: {self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server on {self.endpoint} did not answer PING: {self.log_tail()}")
            time.sleep(0.05)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self):
        """SIGTERM (SIGKILL after 5 s); the port is free afterwards."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None

    def kill(self):
        """SIGKILL at once (a crash)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)
        self.process = None

    def close(self):
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "RedisServer":
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc):
        self.close()

    def connect(self, timeout: float = 5.0) -> Connection:
        return Connection(self.host, self.port, self.password, timeout)

    def command(self, *args):
        c = self.connect(timeout=2.0)
        try:
            return c.command(*args)
        finally:
            c.close()

    def commandstats(self) -> dict[str, int]:
        """INFO commandstats as {command (lower case, e.g. "evalsha"): calls}."""
        text = self.command("INFO", "commandstats").decode()
        out = {}
        for line in text.splitlines():
            if line.startswith("cmdstat_"):
                name, fields = line[len("cmdstat_"):].split(":", 1)
                calls = dict(f.split("=", 1) for f in fields.split(","))["calls"]
                out[name] = int(calls)
        return out

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


# ---- Redis Cluster -----------------------------------------------------------------------------

def _crc16(data: bytes) -> int:
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def key_slot(key: str | bytes) -> int:
    """The cluster slot of a key (hash tags honoured)."""
    k = key.encode() if isinstance(key, str) else key
    s = k.find(b"{")
    if s >= 0:
        e = k.find(b"}", s + 1)
        if e > s + 1:
            k = k[s + 1:e]
    return _crc16(k) % 16384


class RedisCluster:
    """`masters` cluster nodes (and `replicas` per master) created with `redis-cli --cluster create`.
    Attributes: nodes (RedisServer list), seeds ("h:p,h:p,..."), password."""

    def __init__(self, masters: int = 3, replicas: int = 0, password: str | None = None, host: str = "127.0.0.1"):
        self.dir = Path(tempfile.mkdtemp(prefix="sy-rcluster-"))
        self.password = password
        self.nodes = [RedisServer(password=password, directory=self.dir, cluster=True, name=f"node{i}", host=host)
                      for i in range(masters * (1 + replicas))]
        self.masters = masters
        self.replicas = replicas

    @property
    def seeds(self) -> str:
        return ",".join(n.endpoint for n in self.nodes[:self.masters])

    def _cli(self, *args, timeout: float = 30.0) -> str:
        argv = ["redis-cli"]
        if self.password:
            argv += ["--no-auth-warning", "-a", self.password]
        r = subprocess.run(argv + list(args), capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError(f"redis-cli {' '.join(args)}: {r.stdout}{r.stderr}")
        return r.stdout

    def start(self) -> "RedisCluster":
        for n in self.nodes:
            n.start()
        self._cli("--cluster", "create", *[n.endpoint for n in self.nodes],
                  "--cluster-replicas", str(self.replicas), "--cluster-yes")
        self.wait_ok()
        return self

    def wait_ok(self, timeout: float = 20.0):
        """Until every node reports cluster_state:ok and agrees on the slot owners."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                states = [n.command("CLUSTER", "INFO").decode() for n in self.nodes if n.running()]
                if all("cluster_state:ok" in s for s in states) and len({self._slot_map_of(n) for n in self.nodes
                                                                         if n.running()}) == 1:
                    return
            except (OSError, RedisError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("redis cluster not ok in time")
            time.sleep(0.1)

    @staticmethod
    def _slot_map_of(node: RedisServer) -> tuple:
        return tuple(sorted((s[0], s[1], s[2][1]) for s in node.command("CLUSTER", "SLOTS")))

    def node_for_key(self, key: str | bytes) -> RedisServer:
        slot = key_slot(key)
        for start, end, master, *_ in self.nodes[0].command("CLUSTER", "SLOTS"):
            if start <= slot <= end:
                return next(n for n in self.nodes if n.port == master[1])
        raise RuntimeError(f"no node serves slot {slot}")

    def node_id(self, node: RedisServer) -> str:
        return node.command("CLUSTER", "MYID").decode()

    def keys_per_node(self, pattern: str = "*") -> dict[str, list[bytes]]:
        """Keys matching `pattern` on each master (KEYS: fine for the few keys of a test)."""
        out = {}
        for n in self.nodes:
            if n.running() and b"role:master" in n.command("INFO", "replication"):
                out[n.endpoint] = sorted(n.command("KEYS", pattern))
        return out

    def migrate_slot(self, slot: int, source: RedisServer, target: RedisServer, batch: int = 100):
        """Moves one slot and its keys from `source` to `target` (the steps of `redis-cli --cluster
        reshard`), so clients see ASK then MOVED redirections."""
        sid, tid = self.node_id(source), self.node_id(target)
        target.command("CLUSTER", "SETSLOT", slot, "IMPORTING", sid)
        source.command("CLUSTER", "SETSLOT", slot, "MIGRATING", tid)
        while True:
            keys = source.command("CLUSTER", "GETKEYSINSLOT", slot, batch)
            if not keys:
                break
            args = ["MIGRATE", target.host, target.port, "", 0, 5000]
            if self.password:
                args += ["AUTH", self.password]
            source.command(*args, "KEYS", *keys)
        for n in (target, source):
            n.command("CLUSTER", "SETSLOT", slot, "NODE", tid)
        for n in self.nodes:
            if n.running() and n is not source and n is not target:
                try:
                    n.command("CLUSTER", "SETSLOT", slot, "NODE", tid)
                except RedisError:
                    pass  # a replica refuses; it learns from its master

    def close(self):
        for n in self.nodes:
            n.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "RedisCluster":
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc):
        self.close()


# ---- Sentinel ----------------------------------------------------------------------------------

class RedisSentinelSet:
    """A primary, `replicas` replicas and `sentinels` sentinels watching it as `master_name`
    (quorum 2; a primary silent 1 s is down), all bound to `host`. Attributes: servers, sentinel_processes,
    sentinels ("h:p,h:p,h:p"), master_name."""

    def __init__(self, replicas: int = 1, sentinels: int = 3, master_name: str = "sy",
                 password: str | None = None, down_after_ms: int = 1000, host: str = "127.0.0.1"):
        self.dir = Path(tempfile.mkdtemp(prefix="sy-rsentinel-"))
        self.host = host
        self.master_name = master_name
        self.password = password
        self.down_after_ms = down_after_ms
        self.servers = [RedisServer(password=password, directory=self.dir, name=f"data{i}", host=host)
                        for i in range(1 + replicas)]
        self.sentinel_ports = [free_redis_port() for _ in range(sentinels)]
        self.sentinel_processes: list[subprocess.Popen] = []

    @property
    def sentinels(self) -> str:
        return ",".join(f"{self.host}:{p}" for p in self.sentinel_ports)

    def start(self) -> "RedisSentinelSet":
        primary = self.servers[0]
        primary.start()
        for r in self.servers[1:]:
            r.extra += ["--replicaof", primary.host, str(primary.port)]
            r.start()
        quorum = max(1, len(self.sentinel_ports) // 2 + 1)
        for port in self.sentinel_ports:
            conf = self.dir / f"sentinel-{port}.conf"
            lines = [f"port {port}", f"bind {self.host}", "protected-mode no", f"dir {self.dir}",
                     f"logfile {self.dir / f'sentinel-{port}.log'}",
                     f"sentinel monitor {self.master_name} {primary.host} {primary.port} {quorum}",
                     f"sentinel down-after-milliseconds {self.master_name} {self.down_after_ms}",
                     f"sentinel failover-timeout {self.master_name} 5000",
                     f"sentinel parallel-syncs {self.master_name} 1"]
            if self.password:
                lines.append(f"sentinel auth-pass {self.master_name} {self.password}")
            conf.write_text("\n".join(lines) + "\n")
            conf.chmod(0o600)
            self.sentinel_processes.append(subprocess.Popen(
                ["redis-sentinel", str(conf)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, start_new_session=True))
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                if all(self._sentinel(p, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.master_name) for p in
                       self.sentinel_ports) and self._replicas_linked():
                    return self
            except (OSError, RedisError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("sentinels did not come up in time")
            time.sleep(0.1)

    def _replicas_linked(self) -> bool:
        info = self.servers[0].command("INFO", "replication").decode()
        return f"connected_slaves:{len(self.servers) - 1}" in info

    def _sentinel(self, port: int, *args):
        c = Connection(self.host, port, timeout=2.0)
        try:
            return c.command(*args)
        finally:
            c.close()

    def primary(self) -> RedisServer:
        """The server the first answering sentinel names as master."""
        for port in self.sentinel_ports:
            try:
                host, p = self._sentinel(port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.master_name)
            except (OSError, RedisError):
                continue
            return next(s for s in self.servers if s.port == int(p))
        raise RuntimeError("no sentinel answers")

    def kill_primary(self) -> RedisServer:
        p = self.primary()
        p.kill()
        return p

    def wait_failover(self, old: RedisServer, timeout: float = 30.0) -> RedisServer:
        """Until the sentinels name another master and it accepts writes; returns it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                p = self.primary()
                if p is not old and p.running() and b"role:master" in p.command("INFO", "replication"):
                    return p
            except (OSError, RedisError, StopIteration, RuntimeError):
                pass
            time.sleep(0.2)
        raise RuntimeError("no failover in time")

    def close(self):
        for proc in self.sentinel_processes:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.sentinel_processes:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        for s in self.servers:
            s.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "RedisSentinelSet":
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc):
        self.close()
