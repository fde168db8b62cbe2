"""A deliberately malicious registry for the hardening tests (issue 12).

HostileRegistry listens on 127.0.0.1 and plays a registry that lies, stalls,
redirects credentials elsewhere or floods the client. It is *not* a stand-in
for an honest registry: the honest protocol is tested against the real
docker-registry. It serves just enough of the distribution API for a client
to reach the hostile part of a scenario, and each test scripts that part with
`route(method, pattern, handler)`.

The same server is also an HTTP forward proxy: a request whose target is an
absolute URL ("PUT http://evil.invalid/upload HTTP/1.1") is recorded under that
URL's host and answered by the routes. With `http_proxy` pointed here (and
`no_proxy=127.0.0.1`), a test sees exactly what a client would have sent to a
foreign host, without any traffic leaving the machine.
"""
import base64
import hashlib
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


@dataclass
class Request:
    method: str
    host: str           # "registry" for requests to this server, else the proxied URL's host
    path: str
    query: dict
    headers: dict       # lower-case names
    body: bytes = b""
    connection: int = 0  # which TCP connection carried it (1, 2, ...)
    index_on_connection: int = 0  # 1 for the first request on its connection


@dataclass
class Content:
    """What the registry serves honestly: blobs by digest, manifests by tag or digest."""
    blobs: dict = field(default_factory=dict)       # digest -> bytes
    manifests: dict = field(default_factory=dict)   # "repo:ref" -> (bytes, media type)
    uploads: dict = field(default_factory=dict)     # upload id -> bytearray

    def add_layout(self, layout: Path, repo: str, tag: str):
        """Serves every blob of an OCI layout, and its index.json's first entry as repo:tag."""
        for f in (layout / "blobs" / "sha256").iterdir():
            self.blobs["sha256:" + f.name] = f.read_bytes()
        root = json.loads((layout / "index.json").read_text())["manifests"][0]
        for digest, data in self.blobs.items():
            try:
                doc = json.loads(data)
            except ValueError:
                continue
            if isinstance(doc, dict) and ("manifests" in doc or "layers" in doc):
                self.manifests[f"{repo}:{digest}"] = (data, doc.get("mediaType", OCI_MANIFEST))
        self.manifests[f"{repo}:{tag}"] = self.manifests[f"{repo}:{root['digest']}"]
        return root


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hostile/1"

    def log_message(self, fmt, *args):
        pass

    def setup(self):
        super().setup()
        with self.server.owner.lock:
            self.server.owner.connections += 1
            self.conn_no = self.server.owner.connections
        self.count = 0

    def _dispatch(self):
        owner = self.server.owner
        self.count += 1
        target = urlsplit(self.path)
        host = target.netloc if target.scheme else "registry"
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        req = Request(self.command, host, target.path, parse_qs(target.query),
                      {k.lower(): v for k, v in self.headers.items()}, body, self.conn_no, self.count)
        with owner.lock:
            owner.requests.append(req)
        for method, pattern, handler in reversed(owner.routes):
            if method in (req.method, "*") and re.fullmatch(pattern, req.path) and \
                    (host == "registry") == (not pattern.startswith("foreign:")):
                handler(self, req)
                return
        for method, pattern, handler in reversed(owner.routes):
            if pattern.startswith("foreign:") and host != "registry" and method in (req.method, "*") \
                    and re.fullmatch(pattern[len("foreign:"):], req.path):
                handler(self, req)
                return
        owner.default(self, req)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch

    # --- replies ---------------------------------------------------------------------
    def reply(self, status, body=b"", headers=None, content_type=None):
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)


class HostileRegistry:
    """Start with `with HostileRegistry() as reg:`; `reg.host` is "127.0.0.1:PORT"."""

    def __init__(self, basic_auth=None):
        self.lock = threading.Lock()
        self.requests: list = []
        self.routes: list = []
        self.connections = 0
        self.content = Content()
        self.basic_auth = basic_auth  # (user, password) required on /v2/ requests, or None
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.owner = self
        self.host = f"127.0.0.1:{self._server.server_address[1]}"
        self.url = f"http://{self.host}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()

    def route(self, method, pattern, handler):
        """handler(h, req) answers requests matching method ("*" for any) and the
        path regex; "foreign:REGEX" matches proxied requests to other hosts."""
        self.routes.append((method, pattern, handler))

    def to(self, host):
        with self.lock:
            return [r for r in self.requests if r.host == host]

    # --- the minimal honest part ------------------------------------------------------
    def _authorized(self, req):
        if self.basic_auth is None:
            return True
        want = "Basic " + base64.b64encode(":".join(self.basic_auth).encode()).decode()
        return req.headers.get("authorization") == want

    def default(self, h, req):
        if req.host != "registry":
            status = {"PUT": 201, "POST": 202, "PATCH": 202}.get(req.method, 200)
            h.reply(status, headers={"Location": req.path} if status == 202 else None)
            return
        if not self._authorized(req):
            h.reply(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"log in"}]}',
                    {"WWW-Authenticate": 'Basic realm="hostile"'}, "application/json")
            return
        m = re.fullmatch(r"/v2/(.+)/(blobs|manifests)/(uploads/)?([^/]*)", req.path)
        if req.path == "/v2/":
            h.reply(200, b"{}", content_type="application/json")
        elif m and m.group(2) == "blobs" and m.group(3):
            self._upload(h, req, m.group(1), m.group(4))
        elif m and m.group(2) == "blobs":
            data = self.content.blobs.get(m.group(4))
            if data is None:
                h.reply(404, b'{"errors":[{"code":"BLOB_UNKNOWN","message":"unknown"}]}',
                        content_type="application/json")
            else:
                h.reply(200, data, {"Docker-Content-Digest": m.group(4)}, "application/octet-stream")
        elif m and m.group(2) == "manifests" and req.method == "PUT":
            digest = "sha256:" + hashlib.sha256(req.body).hexdigest()
            media_type = req.headers.get("content-type", OCI_MANIFEST)
            self.content.manifests[f"{m.group(1)}:{m.group(4)}"] = (req.body, media_type)
            self.content.manifests[f"{m.group(1)}:{digest}"] = (req.body, media_type)
            h.reply(201, headers={"Docker-Content-Digest": digest})
        elif m and m.group(2) == "manifests":
            found = self.content.manifests.get(f"{m.group(1)}:{m.group(4)}")
            if found is None:
                h.reply(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"unknown"}]}',
                        content_type="application/json")
            else:
                data, media_type = found
                h.reply(200, data, {"Docker-Content-Digest": "sha256:" + hashlib.sha256(data).hexdigest()},
                        media_type)
        else:
            h.reply(404)

    def _upload(self, h, req, repo, upload_id):
        if req.method == "POST":
            uid = uuid.uuid4().hex
            self.content.uploads[uid] = bytearray()
            h.reply(202, headers={"Location": f"/v2/{repo}/blobs/uploads/{uid}"})
            return
        buf = self.content.uploads.setdefault(upload_id, bytearray())
        buf.extend(req.body)
        if req.method == "PATCH":
            h.reply(202, headers={"Location": f"/v2/{repo}/blobs/uploads/{upload_id}",
                                  "Range": f"0-{max(len(buf) - 1, 0)}"})
            return
        digest = req.query.get("digest", [""])[0]
        self.content.blobs[digest] = bytes(buf)
        h.reply(201, headers={"Docker-Content-Digest": digest, "Location": f"/v2/{repo}/blobs/{digest}"})


def docker_config(directory: Path, registry: str, user: str, password: str) -> dict:
    """Writes DIR/config.json with credentials for `registry`; returns the env for the CLI."""
    directory.mkdir(parents=True, exist_ok=True)
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    (directory / "config.json").write_text(json.dumps({"auths": {registry: {"auth": auth}}}))
    return {"DOCKER_CONFIG": str(directory)}
