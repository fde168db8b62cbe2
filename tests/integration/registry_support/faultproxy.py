#!/usr/bin/env python3
"""A fault-injecting HTTP proxy in front of a real registry (stdlib only).

It forwards every request to --upstream unchanged (including the Host header,
so the registry's absolute Location URLs point back at the proxy), except
that a seeded schedule replaces some requests by a fault:

  drop      close the connection without any response (request not forwarded)
  500, 503  answer with that status and a JSON UNAVAILABLE error (not forwarded)
  429       answer 429 TOOMANYREQUESTS with Retry-After: 1 (not forwarded)
  truncate  forward the request, then send the response headers with the full
            Content-Length but only half the body, and close; for a response
            without a body (HEAD, 201, 202) close without answering at all

With --redirect-blobs, a blob GET is answered with 307 to another host name
(localhost instead of 127.0.0.1) and a one-time path, like an object store's
pre-signed URL; the proxy serves that path from the registry with the
Authorization of the original request, so a client must not (and need not)
send its credentials there. Log entries carry "auth": whether an
Authorization header came with the request (never its value).

With --throttle N, request bodies are read at about N bytes a second, so a
client's upload takes a known least time (e.g. to see its progress drawn).

Each request draws from random.Random(seed): with probability --rate it gets
a fault chosen uniformly from --faults, but never more than
--max-consecutive faults in a row. Every request is logged as one JSON line
{"n", "method", "path", "status", "fault"} to --log (the path without its
query string).
"""
import argparse
import http.client
import json
import os
import random
import re
import secrets
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade", "content-length"}


class Schedule:
    def __init__(self, seed, rate, faults, max_consecutive):
        self.rng = random.Random(seed)
        self.rate = rate
        self.faults = faults
        self.max_consecutive = max_consecutive
        self.consecutive = 0
        self.n = 0
        self.lock = threading.Lock()

    def next(self):
        with self.lock:
            self.n += 1
            draw = self.rng.random()
            choice = self.rng.choice(self.faults) if self.faults else None
            if self.rate > 0 and draw < self.rate and self.consecutive < self.max_consecutive:
                self.consecutive += 1
                return self.n, choice
            self.consecutive = 0
            return self.n, None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream = None
    schedule = None
    log_file = None
    log_lock = threading.Lock()
    redirect_blobs = False
    redirects = {}  # one-time id -> (path, authorization)
    port = 0
    throttle = 0  # bytes per second of request bodies; 0: as fast as they come

    def log_message(self, fmt, *args):
        pass

    def record(self, n, status, fault):
        path = urllib.parse.urlsplit(self.path).path
        with self.log_lock:
            self.log_file.write(json.dumps({"n": n, "method": self.command, "path": path, "status": status,
                                            "fault": fault, "auth": "Authorization" in self.headers}) + "\n")
            self.log_file.flush()

    def read(self, size):
        """`size` bytes of the request body, at --throttle's pace when set."""
        if not self.throttle:
            return self.rfile.read(size)
        out = b""
        while len(out) < size:
            piece = self.rfile.read(min(size - len(out), 64 << 10))
            if not piece:
                break
            out += piece
            time.sleep(len(piece) / self.throttle)
        return out

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length", "0") or 0)
        return self.read(length) if length else b""

    def drop(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def error_reply(self, status, code, extra=None):
        body = json.dumps({"errors": [{"code": code, "message": "injected fault", "detail": None}]}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        body = self.read_body()
        n, fault = self.schedule.next()
        if fault == "drop":
            self.record(n, 0, fault)
            return self.drop()
        if fault in ("500", "503"):
            self.record(n, int(fault), fault)
            return self.error_reply(int(fault), "UNAVAILABLE")
        if fault == "429":
            self.record(n, 429, fault)
            return self.error_reply(429, "TOOMANYREQUESTS", {"Retry-After": "1"})
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        path = self.path
        if self.redirect_blobs and self.command == "GET":
            if path.startswith("/_redirected/"):
                target = self.redirects.pop(path[len("/_redirected/"):], None)
                if target is None:
                    self.record(n, 404, None)
                    return self.error_reply(404, "BLOB_UNKNOWN")
                path = target[0]
                headers.pop("Authorization", None)
                if target[1]:
                    headers["Authorization"] = target[1]
            elif re.match(r"^/v2/.+/blobs/sha256:[0-9a-f]{64}$", urllib.parse.urlsplit(path).path):
                rid = secrets.token_hex(8)
                self.redirects[rid] = (path, self.headers.get("Authorization"))
                self.record(n, 307, None)
                self.send_response(307)
                self.send_header("Location", f"http://localhost:{self.port}/_redirected/{rid}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        conn = http.client.HTTPConnection(*self.upstream, timeout=120)
        headers["Content-Length"] = str(len(body))
        try:
            conn.request(self.command, path, body=body if body or self.command in ("POST", "PUT", "PATCH") else None,
                         headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except OSError:
            self.record(n, 502, "upstream-error")
            return self.error_reply(502, "UNAVAILABLE")
        finally:
            conn.close()
        if fault == "truncate" and (self.command == "HEAD" or not data):
            # Nothing to cut short: the request took effect upstream, but the
            # client never hears about it.
            self.record(n, 0, "truncate")
            return self.drop()
        self.record(n, resp.status, fault)
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in HOP_BY_HOP:
                self.send_header(k, v)
        length = resp.getheader("Content-Length")
        self.send_header("Content-Length", length if (self.command == "HEAD" and length) else str(len(data)))
        if fault == "truncate":
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        if fault == "truncate":
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            return self.drop()
        self.wfile.write(data)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--upstream", required=True, help="host:port of the registry")
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rate", type=float, default=0.0)
    p.add_argument("--faults", default="drop,500,503,429,truncate")
    p.add_argument("--max-consecutive", type=int, default=3)
    p.add_argument("--redirect-blobs", action="store_true")
    p.add_argument("--throttle", type=int, default=0, help="bytes per second of request bodies")
    args = p.parse_args()
    host, _, port = args.upstream.rpartition(":")
    Handler.upstream = (host, int(port))
    Handler.schedule = Schedule(args.seed, args.rate, [f for f in args.faults.split(",") if f], args.max_consecutive)
    Handler.log_file = open(args.log, "a")
    Handler.redirect_blobs = args.redirect_blobs
    Handler.throttle = args.throttle
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Handler.port = server.server_address[1]
    server.daemon_threads = True
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
