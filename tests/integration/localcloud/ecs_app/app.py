"""A tiny service for the ECS tests: answers its version, pid and port, logs each request.

It honours the local cloud's task contract (listen on $HOST:$PORT). ``APP_VERSION`` names the
version; ``HEALTH_STATUS`` is the status of ``GET /`` (the load balancer's health check);
``?delay=<seconds>`` makes a request take that long (a request in flight while a task stops).
"""

import json
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

VERSION = os.environ.get("APP_VERSION", "v1")
HEALTH_STATUS = int(os.environ.get("HEALTH_STATUS", "200"))
HOST, PORT = os.environ.get("HOST", "0.0.0.0"), int(os.environ.get("PORT", "8080"))


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        url = urlsplit(self.path)
        time.sleep(float(parse_qs(url.query).get("delay", ["0"])[0]))
        status = HEALTH_STATUS if url.path == "/" else 200
        body = json.dumps({"version": VERSION, "pid": os.getpid(), "port": PORT}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        print(f"{VERSION} {self.command} {urlsplit(self.path).path}", flush=True)


if __name__ == "__main__":
    print(f"app {VERSION} listening on {HOST}:{PORT}", flush=True)
    ThreadingHTTPServer((HOST, PORT), Handler).serve_forever()
