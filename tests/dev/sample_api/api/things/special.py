from lib.http import JsonHandler


class handler(JsonHandler):
    def get(self, req):
        return {"special": True}
