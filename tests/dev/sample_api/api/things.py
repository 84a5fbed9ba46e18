import threading

from lib import errors
from lib.http import JsonHandler, Request

gate = threading.Barrier(4, timeout=10)


class handler(JsonHandler):
    def get(self, req: Request):
        if req.query.get("mode") == "boom":
            raise RuntimeError("internal detail: password=hunter22")
        if req.query.get("mode") == "barrier":
            gate.wait()  # returns only when 4 requests are inside handlers at once
        if req.query.get("mode") == "nodelay":
            import socket
            return {"nodelay": self.request.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0}
        return {"query": req.query}

    def post(self, req: Request):
        body = req.json_object()
        if body.get("fail") == "conflict":
            raise errors.Conflict("already there", code="already_connected")
        return 201, {"received": body, "bytes": len(req.body)}
