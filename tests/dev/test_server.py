"""The local server routes like Vercel and runs the handler classes as Vercel's runtime does."""

from __future__ import annotations

import http.client
import json
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from lib.dev.server import discover, serve_in_thread

SAMPLE = Path(__file__).parent / "sample_api" / "api"
REAL = Path(__file__).resolve().parents[2] / "api"


@pytest.fixture(scope="module")
def base():
    server, url = serve_in_thread(api_dir=SAMPLE)
    yield url
    server.shutdown()
    server.server_close()


def test_file_path_is_url_path_and_id_segments_become_the_id_parameter(base):
    assert httpx.get(f"{base}/api/things?x=1").json() == {"query": {"x": "1"}}
    r = httpx.get(f"{base}/api/things/abc-123?x=2").json()
    assert r == {"id": "abc-123", "path": "/api/things/abc-123", "query": {"x": "2", "id": "abc-123"}}
    assert httpx.post(f"{base}/api/things/n1/sub", json={}).json() == {"sub_of": "n1"}


def test_the_route_value_wins_over_a_client_supplied_id(base):
    assert httpx.get(f"{base}/api/things/real?id=forged").json()["id"] == "real"


def test_static_segments_win_over_dynamic_ones(base):
    assert httpx.get(f"{base}/api/things/special").json() == {"special": True}


def test_unknown_paths_and_underscore_files_are_404_json(base):
    for path in ("/api/nothing", "/api/_helper", "/api/things/a/b/c"):
        r = httpx.get(base + path)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", path


def test_a_method_the_handler_lacks_is_405_json_with_allow(base):
    r = httpx.put(f"{base}/api/things/x", json={})
    assert r.status_code == 405
    assert r.json()["error"]["code"] == "method_not_allowed"
    assert r.headers["allow"] == "GET, DELETE, HEAD"


def test_requests_run_concurrently_on_threads(base):
    # Each handler blocks on a 4-party barrier: this completes only if 4 requests run at once.
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: httpx.get(f"{base}/api/things?mode=barrier", timeout=15).status_code,
                                range(4)))
    assert results == [200] * 4


def test_keep_alive_serves_many_requests_on_one_connection_with_nodelay(base):
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    conn.connect()
    local = conn.sock.getsockname()
    for i in range(20):
        conn.request("GET", f"/api/things/{i}")
        resp = conn.getresponse()
        assert json.loads(resp.read())["id"] == str(i)
        assert conn.sock.getsockname() == local  # same TCP connection throughout
    conn.request("GET", "/api/things?mode=nodelay")
    assert json.loads(conn.getresponse().read()) == {"nodelay": True}
    conn.close()


def test_every_real_route_file_defines_a_handler_class():
    """Vercel detects `class handler` statically: it must be a class statement at the top level of the
    file itself (not imported, not assigned, not nested), as the parser sees the file."""
    import ast

    routes = discover(REAL)
    assert routes
    for route in routes:
        tree = ast.parse(route.file.read_text(), filename=str(route.file))
        classes = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "handler"]
        assert len(classes) == 1 and classes[0].bases, route.file


def test_port_is_released_after_shutdown():
    server, url = serve_in_thread(api_dir=SAMPLE)
    port = server.server_address[1]
    server.shutdown()
    server.server_close()
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))


def test_a_request_line_over_64_kib_is_answered_414_json_and_the_connection_closed(base):
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(b"GET /api/things?q=" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):  # the server closes the connection after answering
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 414 "), head[:200]
    assert b"content-type: application/json" in head.lower()
    assert json.loads(body)["error"]["code"] == "uri_too_long"


def test_a_malformed_request_line_is_400_json_and_the_server_keeps_serving(base):
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(b"GET /api/things with spaces HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 "), head[:200]
    assert json.loads(body)["error"]["code"] == "bad_request"
    assert httpx.get(f"{base}/api/things").status_code == 200


def test_route_modules_are_registered_like_vercels_runtime_registers_them(base):
    """vercel_runtime.resolver puts the entrypoint in sys.modules under its dotted path; so do we, so
    that a handler can find its own file (`inspect.getfile`) the same way in both."""
    import inspect
    import sys

    httpx.get(f"{base}/api/things/x")
    module = sys.modules["api.things.[id]"]
    assert Path(inspect.getfile(module)) == SAMPLE / "things" / "[id].py"
