from lib.http import JsonHandler, Request


class handler(JsonHandler):
    def post(self, req: Request):
        return {"sub_of": req.query.get("id")}
