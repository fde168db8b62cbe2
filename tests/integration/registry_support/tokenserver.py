#!/usr/bin/python3
"""A small Docker/OCI token server for the integration tests.

Run with the system interpreter (/usr/bin/python3), which has Debian's
python3-cryptography. It implements the parts of the distribution token spec
(docs/content/spec/auth/token.md and oauth.md) that clients use:

  GET  /token?service=..&scope=..&scope=..[&offline_token=true]   Basic or anonymous
  POST /token  grant_type=password | refresh_token (form body; repeated or
               space-separated scope; chunked or sized body)

Tokens are ES256 JWTs whose x5c header carries the signing certificate; the
registry trusts that certificate through `rootcertbundle`.

Users come from a JSON file: {"user": {"password": "..", "actions": ["pull", "push"]},
"*anonymous*": {"actions": []}}. Granted actions are the intersection of the
requested and the allowed ones. Every request is logged (method, grant, user,
requested and granted scopes) to --log; passwords and tokens never are.
"""
import argparse
import base64
import json
import secrets
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class State:
    def __init__(self, args):
        with open(args.key, "rb") as f:
            self.key = serialization.load_pem_private_key(f.read(), password=None)
        with open(args.cert, "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        self.x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
        self.issuer = args.issuer
        self.service = args.service
        self.expires_in = args.expires_in
        with open(args.users) as f:
            self.users = json.load(f)
        self.refresh = {}  # refresh token -> user
        self.lock = threading.Lock()
        self.log = open(args.log, "a", buffering=1)

    def write_log(self, entry):
        with self.lock:
            self.log.write(json.dumps(entry, sort_keys=True) + "\n")

    def grant(self, user, scopes):
        allowed = set(self.users.get(user or "*anonymous*", {}).get("actions", []))
        access = []
        for scope in scopes:
            parts = scope.split(":")
            if len(parts) < 3:
                continue
            typ, name, actions = parts[0], ":".join(parts[1:-1]), parts[-1].split(",")
            granted = [a for a in actions if a in allowed or "*" in allowed]
            access.append({"type": typ, "name": name, "actions": granted})
        return access

    def token(self, user, access):
        now = int(time.time())
        header = {"typ": "JWT", "alg": "ES256", "x5c": [self.x5c]}
        claims = {"iss": self.issuer, "sub": user or "", "aud": self.service, "exp": now + self.expires_in,
                  "nbf": now - 10, "iat": now, "jti": secrets.token_hex(8), "access": access}
        signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                         b64url(json.dumps(claims, separators=(",", ":")).encode()))
        der = self.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return signing_input + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: State = None

    def log_message(self, fmt, *args):  # keep stderr quiet; we log to the file
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def basic_user(self):
        """(user, ok): user None when anonymous; ok False on bad credentials."""
        auth = self.headers.get("Authorization", "")
        if not auth.lower().startswith("basic "):
            return None, True
        try:
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        except Exception:
            return None, False
        entry = self.state.users.get(user)
        return user, bool(entry) and entry.get("password") == password

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def issue(self, user, scopes, offline, how):
        access = self.state.grant(user, scopes)
        body = {"token": self.state.token(user, access), "expires_in": self.state.expires_in,
                "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        body["access_token"] = body["token"]
        if offline and user:
            rt = secrets.token_hex(16)
            self.state.refresh[rt] = user
            body["refresh_token"] = rt
        self.state.write_log({"method": self.command, "grant": how, "user": user or "", "scopes": scopes,
                              "granted": access, "refresh_token_issued": "refresh_token" in body})
        self.reply(200, body)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/token":
            return self.reply(404, {"errors": [{"code": "NOT_FOUND", "message": "no such endpoint"}]})
        q = urllib.parse.parse_qs(url.query)
        user, ok = self.basic_user()
        if not ok:
            self.state.write_log({"method": "GET", "grant": "basic", "user": user or "", "result": "denied"})
            return self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "invalid username or password"}]})
        scopes = [s for v in q.get("scope", []) for s in v.split(" ") if s]
        self.issue(user, scopes, q.get("offline_token", ["false"])[0] == "true", "basic" if user else "anonymous")

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/token":
            return self.reply(404, {"errors": [{"code": "NOT_FOUND", "message": "no such endpoint"}]})
        form = urllib.parse.parse_qs(self.read_body().decode())
        scopes = [s for v in form.get("scope", []) for s in v.split(" ") if s]
        grant = form.get("grant_type", [""])[0]
        if grant == "password":
            user = form.get("username", [""])[0]
            entry = self.state.users.get(user)
            if not entry or entry.get("password") != form.get("password", [""])[0]:
                self.state.write_log({"method": "POST", "grant": grant, "user": user, "result": "denied"})
                return self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "invalid username or password"}]})
            return self.issue(user, scopes, form.get("access_type", [""])[0] == "offline", grant)
        if grant == "refresh_token":
            user = self.state.refresh.get(form.get("refresh_token", [""])[0])
            if not user:
                self.state.write_log({"method": "POST", "grant": grant, "user": "", "result": "denied"})
                return self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "invalid refresh token"}]})
            return self.issue(user, scopes, True, grant)
        self.reply(400, {"errors": [{"code": "UNSUPPORTED", "message": "unsupported grant_type"}]})


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--key", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--users", required=True)
    p.add_argument("--issuer", default="rustimg-test-issuer")
    p.add_argument("--service", default="test-registry")
    p.add_argument("--expires-in", type=int, default=300)
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    args = p.parse_args()
    Handler.state = State(args)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    import os
    os.replace(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
