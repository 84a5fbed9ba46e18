"""What both simulators share: a threaded HTTP server on 127.0.0.1, failure injection, a record
of requests, and webhook delivery on a background thread that tests can wait on (no sleeps).

Failure modes (`fail(mode, ...)`):
- "down"    the listening socket is closed: connections are refused until `clear_failures()`;
- "slow"    answers after `delay` seconds;
- "status"  answers `status` with `body`;
- "garbage" answers 200 with a body that is not JSON;
- "hang"    reads the request, then never answers until `release()` or `stop()`.
`times` limits a mode to that many requests.
"""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    json: Any


@dataclass
class Delivery:
    event: str
    status: int | None
    attempts: int
    headers: dict[str, str] = field(default_factory=dict)


class Reply(Exception):
    """Raised by a route to answer with a status and a JSON (or text) body."""

    def __init__(self, status: int, body: Any):
        self.status = status
        self.body = body


class Simulator:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, retry_delays: tuple[float, ...] = (0.05, 0.1, 0.2),
                 non_retryable: tuple[int, ...] = ()):
        self.host, self.port = host, port
        self.lock = threading.RLock()
        self.requests: list[Recorded] = []
        self.deliveries: list[Delivery] = []
        self._delivered = threading.Condition(self.lock)
        self._failure: dict[str, Any] | None = None
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._queue: queue.Queue = queue.Queue()
        self._worker: threading.Thread | None = None
        self.retry_delays = retry_delays
        self.non_retryable = non_retryable
        self._http = httpx.Client(timeout=5)
        self._stopped = False
        self._pending = 0

    # -- lifecycle -----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Simulator:
        self._listen()
        if self._worker is None:
            self._worker = threading.Thread(target=self._deliver_loop, name=f"{type(self).__name__}-hooks", daemon=True)
            self._worker.start()
        return self

    def _listen(self) -> None:
        sim = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no 40 ms delayed-ACK stalls

            def _any(self) -> None:
                sim._handle(self)

            do_GET = do_POST = do_DELETE = do_PUT = _any  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def _close_listener(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def stop(self) -> None:
        self._stopped = True  # webhooks still queued are dropped: the simulated server is gone
        self._release.set()
        self._close_listener()
        self._queue.put(None)

    # -- failures --------------------------------------------------------------------------------
    def fail(self, mode: str, times: int | None = None, status: int = 500, body: Any = None,
             delay: float = 1.0) -> None:
        with self.lock:
            self._failure = {"mode": mode, "times": times, "status": status, "body": body, "delay": delay}
            self._release.clear()
        if mode == "down":
            self._close_listener()

    def clear_failures(self) -> None:
        with self.lock:
            was_down = self._failure is not None and self._failure["mode"] == "down"
            self._failure = None
        self._release.set()
        if was_down:
            self._listen()

    def release(self) -> None:
        self._release.set()

    def _take_failure(self) -> dict[str, Any] | None:
        with self.lock:
            f = self._failure
            if f is None:
                return None
            if f["times"] is not None:
                f["times"] -= 1
                if f["times"] <= 0:
                    self._failure = None
            return dict(f)

    # -- requests --------------------------------------------------------------------------------
    def route(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
              body: Any) -> tuple[int, Any]:
        raise NotImplementedError

    def mask(self, path: str) -> str:
        return path

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        from urllib.parse import parse_qsl, urlsplit  # noqa: PLC0415

        n = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(n) if n else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        parts = urlsplit(h.path)
        headers = {k.lower(): v for k, v in h.headers.items()}
        with self.lock:
            self.requests.append(Recorded(h.command, self.mask(parts.path), headers, body))
        with self.lock:
            down = self._failure is not None and self._failure["mode"] == "down"
        if down:  # a connection kept alive from before the outage: drop it unanswered
            h.close_connection = True
            return
        failure = self._take_failure()
        if failure:
            mode = failure["mode"]
            if mode == "hang":
                self._release.wait()
                h.close_connection = True
                return
            if mode == "slow":
                time.sleep(failure["delay"])  # the simulated provider is slow; not a test synchronisation
            elif mode == "garbage":
                return self._write(h, 200, "<html>502 upstream garbage</html>")
            elif mode == "status":
                return self._write(h, failure["status"], failure["body"] if failure["body"] is not None else "error")
        try:
            if parts.path.startswith("/__control/") and h.command == "POST":
                status, out = self._control(parts.path.removeprefix("/__control/"), body)
            else:
                status, out = self.route(h.command, parts.path, dict(parse_qsl(parts.query)), headers, body)
        except Reply as r:
            status, out = r.status, r.body
        self._write(h, status, out)

    CONTROLS: tuple[str, ...] = ()

    def _control(self, action: str, body: Any) -> tuple[int, Any]:
        """`POST /__control/<action>` with the action's keyword arguments as JSON (for `make dev`)."""
        if action not in self.CONTROLS or not isinstance(body, dict):
            raise Reply(404, {"error": f"controls: {', '.join(self.CONTROLS)}"})
        try:
            return 200, {"result": getattr(self, action)(**body)}
        except (KeyError, TypeError) as exc:
            raise Reply(400, {"error": str(exc)}) from None

    @staticmethod
    def _write(h: BaseHTTPRequestHandler, status: int, body: Any) -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "text/html" if isinstance(body, str) else "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    # -- webhooks --------------------------------------------------------------------------------
    def emit(self, url: str | None, event: str, payload: dict[str, Any],
             headers: Callable[[], dict[str, str]] | dict[str, str] | None = None, ordered_key: Any = None) -> None:
        """Queue a webhook; headers are built once per event (as Evolution mints its JWT once)."""
        if not url:
            return
        hdrs = headers() if callable(headers) else dict(headers or {})
        with self._delivered:
            self._pending += 1
        self._queue.put((url, event, payload, hdrs))

    def _deliver_loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            url, event, payload, headers = item
            if self._stopped:
                with self._delivered:
                    self._pending -= 1
                    self._delivered.notify_all()
                continue
            status, attempts = None, 0
            for delay in (0.0, *self.retry_delays):
                if delay:
                    time.sleep(delay)  # the provider's own retry back-off
                attempts += 1
                try:
                    # ASCII-escaped JSON, as Node's JSON.stringify sends a lone surrogate (`\ud83d`):
                    # httpx's own encoding would raise on it and end this thread.
                    status = self._http.post(url, content=json.dumps(payload).encode(),
                                             headers={"Content-Type": "application/json", **headers}).status_code
                except Exception:  # noqa: BLE001 - a delivery that fails is retried; the thread goes on
                    status = None
                if status is not None and (self.accepted(status) or status in self.non_retryable):
                    break
            with self._delivered:
                self.deliveries.append(Delivery(event, status, attempts, headers))
                self._pending -= 1
                self._delivered.notify_all()

    @property
    def sent(self) -> list[dict[str, Any]]:
        """Every message sent through this simulator (each instance keeps its own list)."""
        with self.lock:
            return [m for i in getattr(self, "instances", {}).values() for m in i.sent]

    def accepted(self, status: int) -> bool:
        return 200 <= status < 300

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Return once every webhook emitted so far has been delivered (or given up on)."""
        with self._delivered:
            if not self._delivered.wait_for(lambda: self._pending == 0, timeout):
                raise TimeoutError(f"{self._pending} webhook deliveries still pending after {timeout} s")

    def wait_for_deliveries(self, n: int, timeout: float = 10.0) -> list[Delivery]:
        with self._delivered:
            if not self._delivered.wait_for(lambda: len(self.deliveries) >= n, timeout):
                raise TimeoutError(f"{len(self.deliveries)} of {n} webhook deliveries after {timeout} s")
            return list(self.deliveries)


def serve_until_interrupted(sim: Simulator, label: str) -> None:
    """The `python -m lib.sim.<provider>` entry point: print the address, serve until Ctrl-C."""
    print(f"{label} simulator at {sim.url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        sim.stop()
