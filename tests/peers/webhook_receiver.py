#!/usr/bin/env python3
"""Independent webhook receiver (Python's http.server and hmac): verifies the
HMAC-SHA256 signature over `TIMESTAMP.BODY` with a constant-time compare, answers
500 to the first FAIL requests and 429 with `Retry-After: WAIT` to the next
THROTTLE, then 200 to every correctly signed request (401 otherwise). Appends one
JSON line per request to OUT: {"t": arrival, "status": answered, "body": ...}.

usage: webhook_receiver.py PORT SECRET_FILE OUT FAIL THROTTLE WAIT
PORT 0 picks a free port; the port is printed on the first line of stdout.
"""
import hashlib
import hmac
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

port, secret_file, out_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
fail, throttle, wait = int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
secret = open(secret_file, "rb").read().rstrip(b"\r\n")
out = open(out_path, "a", encoding="utf-8")
seen = 0


def signed(headers, body):
    ts = headers.get("X-Edgewatch-Timestamp", "")
    sig = headers.get("X-Edgewatch-Signature", "")
    if not ts.isdigit() or abs(time.time() - int(ts)) > 300:
        return False
    mac = hmac.new(secret, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest("v1=" + mac, sig)


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        global seen
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        seen += 1
        extra = {}
        if seen <= fail:
            status = 500
        elif seen <= fail + throttle:
            status = 429
            extra["Retry-After"] = wait
        else:
            status = 200 if signed(self.headers, body) else 401
        self.send_response(status)
        for k, v in extra.items():
            self.send_header(k, v)
        self.send_header("Content-Length", "0")
        self.end_headers()
        record = {"t": time.time(), "status": status, "body": body.decode(errors="replace"),
                  "key": self.headers.get("X-Edgewatch-Key")}
        out.write(json.dumps(record) + "\n")
        out.flush()

    def log_message(self, *args):
        pass


server = HTTPServer(("127.0.0.1", port), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
