"""A local server that runs the very `handler` classes Vercel runs, routed the way Vercel routes.

- file path = URL path: `api/health.py` serves `/api/health`, `api/v1/numbers.py` `/api/v1/numbers`;
- a `[id]` segment matches one path segment and reaches the handler as the `id` query parameter
  (Vercel's zero-config rewrite `?id=$1`; the pathname is kept, the route's value wins);
- unknown path → 404 JSON, a method the handler lacks → 405 JSON;
- one thread per request (Vercel's Python runtime uses `ThreadingHTTPServer`), HTTP/1.1
  keep-alive and TCP_NODELAY on every accepted socket.
"""

from __future__ import annotations

import importlib.util
import json
import re
import socket
import sys
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[2]
_PROTOCOL_ERRORS = {400: "bad_request", 414: "uri_too_long", 431: "headers_too_large",
                    505: "http_version_not_supported"}


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern
    params: tuple[str, ...]
    file: Path
    static_segments: int


def discover(api_dir: Path) -> list[Route]:
    routes = []
    for file in sorted(api_dir.rglob("*.py")):
        rel = file.relative_to(api_dir.parent).with_suffix("")
        parts = rel.parts
        if any(p.startswith(("_", ".")) for p in parts):  # Vercel skips these paths
            continue
        regex, params, static = [], [], 0
        for part in parts:
            m = re.fullmatch(r"\[([A-Za-z_][A-Za-z0-9_]*)\]", part)
            if m:
                params.append(m.group(1))
                regex.append("([^/]+)")
            else:
                static += 1
                regex.append(re.escape(part))
        routes.append(Route(re.compile("^/" + "/".join(regex) + "/?$"), tuple(params), file, static))
    # Static segments win over dynamic ones, as in Vercel's router.
    routes.sort(key=lambda r: (-r.static_segments, len(r.params)))
    return routes


class _Modules:
    def __init__(self, root: Path) -> None:
        self._root = root
        self._lock = threading.Lock()
        self._classes: dict[Path, type] = {}

    def handler_class(self, file: Path) -> type:
        with self._lock:
            cls = self._classes.get(file)
            if cls is None:
                name = ".".join(file.relative_to(self._root).with_suffix("").parts)
                # As vercel_runtime's resolver loads an entrypoint: registered in sys.modules under its
                # dotted path (so `inspect.getfile(handler)` works the same in both).
                spec = importlib.util.spec_from_file_location(name, file)
                module = importlib.util.module_from_spec(spec)
                sys.modules[name] = module
                spec.loader.exec_module(module)
                cls = next((v for k, v in vars(module).items() if k.lower() == "handler" and isinstance(v, type)), None)
                if cls is None:
                    raise LookupError(f"{file} has no handler class")
                self._classes[file] = cls
            return cls


class Router(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    routes: list[Route] = []
    modules: _Modules

    def setup(self) -> None:
        super().setup()
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle_one_request(self) -> None:
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if len(self.raw_requestline) > 65536:
                # The rest of the line is still unread: answer, then close (as the stdlib does).
                self.requestline, self.request_version, self.command = "", "HTTP/1.1", ""
                self.send_error(414, "the request line is longer than 64 KiB")
                return
            if not self.raw_requestline:
                self.close_connection = True
                return
            if not self.parse_request():
                return
            self._route()
            self.wfile.flush()
        except (TimeoutError, ConnectionError):
            self.close_connection = True

    def _route(self) -> None:
        parts = urlsplit(self.path)
        for route in self.routes:
            m = route.pattern.match(parts.path)
            if m:
                break
        else:
            self._json(404, {"error": {"code": "not_found", "message": f"no route for {parts.path}",
                                       "retryable": False}})
            return
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in route.params]
        query += list(zip(route.params, m.groups(), strict=True))
        target = self.modules.handler_class(route.file)
        inst = target.__new__(target)
        inst.__dict__.update(self.__dict__)
        inst.path = parts.path + ("?" + urlencode(query) if query else "")
        method = getattr(inst, "do_" + self.command, None)
        if method is None:
            message = f"{self.command} is not supported here"
            self._json(405, {"error": {"code": "method_not_allowed", "message": message, "retryable": False}})
            return
        method()
        self.close_connection = inst.close_connection

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Protocol errors (bad request line, 414, too many headers) as JSON, like every other answer."""
        self.close_connection = True
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "error"
        slug = _PROTOCOL_ERRORS.get(code, phrase.lower().replace(" ", "_").replace("-", "_"))
        payload = json.dumps({"error": {"code": slug, "message": message or phrase, "retryable": False}}).encode()
        self.send_response(code, phrase)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _json(self, status: int, body: dict) -> None:
        n = int(self.headers.get("Content-Length") or 0)
        if 0 < n <= 4_500_000:
            self.rfile.read(n)
        elif n:
            self.close_connection = True
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass


class DevServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


def make_server(host: str = "127.0.0.1", port: int = 3000, api_dir: Path | None = None) -> DevServer:
    api_dir = api_dir or ROOT / "api"
    router = type("BoundRouter", (Router,), {"routes": discover(api_dir), "modules": _Modules(api_dir.parent)})
    return DevServer((host, port), router)


def serve_in_thread(host: str = "127.0.0.1", port: int = 0, api_dir: Path | None = None) -> tuple[DevServer, str]:
    """Start a server on a background thread (tests, benchmarks); returns it and its base URL."""
    server = make_server(host, port, api_dir)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="dev-server",
                     daemon=True).start()
    return server, f"http://{host}:{server.server_address[1]}"
