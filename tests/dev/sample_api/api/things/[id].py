from lib.http import JsonHandler, Request


class handler(JsonHandler):
    def get(self, req: Request):
        return {"id": req.query.get("id"), "path": req.path, "query": req.query}

    def delete(self, req: Request):
        return {"deleted": req.query.get("id")}
