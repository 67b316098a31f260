"""A TCP proxy in front of a Redis server that loses one reply on purpose (for the shared event
log's lost-reply tests, issue 16).

    with ReplyLosingProxy(redis, host) as proxy:     # proxy.url: give it to one host's --redis
        proxy.arm(b"sy:notify", cut_subscribers=False)
        ...                                            # proxy.cuts == 1 once it happened

Armed, the first command chunk from a client that has not subscribed (a command connection)
containing the marker is forwarded to Redis, which runs it; from then on nothing more reaches
that client (and, with `cut_subscribers`, nothing more reaches any subscribed client of this
proxy either: the published message is lost too), and 0.3 s later those connections are closed.
The client sees its command's connection end without a reply.

    proxy.swallow_subscribers()   # from now on nothing published reaches this proxy's subscribers
    proxy.drop_swallowed()        # those connections end: the clients subscribe again

Every thread and socket ends with `close()`.
"""

from __future__ import annotations

import socket
import threading
import time


class _Pair:
    def __init__(self, client: socket.socket, upstream: socket.socket):
        self.client = client
        self.upstream = upstream
        self.subscriber = False
        self.swallow = False
        self.closed = False

    def close(self):
        self.closed = True
        for s in (self.client, self.upstream):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


class ReplyLosingProxy:
    def __init__(self, redis, host: str):
        self.redis = redis
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, 0))
        self.listener.listen(64)
        self.host, self.port = host, self.listener.getsockname()[1]
        self.pairs: list[_Pair] = []
        self.lock = threading.Lock()
        self.marker: bytes | None = None
        self.cut_subscribers = False
        self.cuts = 0
        self.closed = False
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def arm(self, marker: bytes, cut_subscribers: bool = False):
        with self.lock:
            self.marker = marker
            self.cut_subscribers = cut_subscribers

    def swallow_subscribers(self) -> int:
        """Loses everything Redis sends to the subscribed connections from now on (they stay
        open: their clients think they are listening); returns how many."""
        with self.lock:
            subscribers = [p for p in self.pairs if p.subscriber and not p.swallow and not p.closed]
            for p in subscribers:
                p.swallow = True
        return len(subscribers)

    def drop_swallowed(self):
        """Ends the connections whose replies are being swallowed."""
        with self.lock:
            swallowed = [p for p in self.pairs if p.swallow and not p.closed]
        for p in swallowed:
            p.close()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection((self.redis.host, self.redis.port), timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            pair = _Pair(client, upstream)
            with self.lock:
                self.pairs.append(pair)
            for target in (self._to_server, self._to_client):
                t = threading.Thread(target=target, args=(pair,), daemon=True)
                t.start()
                self.threads.append(t)

    def _to_server(self, pair: _Pair):
        while True:
            try:
                data = pair.client.recv(65536)
            except OSError:
                break
            if not data:
                break
            if b"SUBSCRIBE" in data.upper():
                pair.subscriber = True
            cut = []
            with self.lock:
                if self.marker and not pair.subscriber and self.marker in data:
                    self.marker = None
                    self.cuts += 1
                    cut = [pair] + ([p for p in self.pairs if p.subscriber] if self.cut_subscribers else [])
                    for p in cut:
                        p.swallow = True
            try:
                pair.upstream.sendall(data)
            except OSError:
                break
            if cut:
                time.sleep(0.3)
                for p in cut:
                    p.close()
                return
        pair.close()

    def _to_client(self, pair: _Pair):
        while True:
            try:
                data = pair.upstream.recv(65536)
            except OSError:
                break
            if not data:
                break
            if pair.swallow:
                continue
            try:
                pair.client.sendall(data)
            except OSError:
                break
        pair.close()

    def close(self):
        self.closed = True
        self.listener.close()
        with self.lock:
            pairs = list(self.pairs)
        for p in pairs:
            p.close()
        for t in self.threads:
            t.join(timeout=2)

    def __enter__(self) -> "ReplyLosingProxy":
        return self

    def __exit__(self, *exc):
        self.close()
