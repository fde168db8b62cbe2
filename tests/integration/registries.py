"""Real registries on loopback for the integration tests (issue 5).

Session fixtures start the real `docker-registry serve CONFIG` on 127.0.0.1
with free ports and stop it at session end:

  registry_plain    (a) no auth, plain HTTP
  registry_tls      (b) htpasswd Basic auth over TLS, certificate from a test
                        CA made with openssl (ca_file / cert_dir for clients)
  registry_token    (c) Bearer token auth; the token server
                        (registry_support/tokenserver.py) runs under
                        /usr/bin/python3, which has python3-cryptography
  fault_proxy       factory: a fault-injecting HTTP proxy
                        (registry_support/faultproxy.py) in front of a real
                        registry (relative Location URLs), seeded schedule,
                        logging every request

Also: make_layout() writes small OCI image layouts (random layer contents,
one or several platforms) with the standard library only.

Secrets used by these registries are listed in SECRETS; every process output
and log file is registered through `record_output` / `LOG_FILES` so that a
test can search them all for secrets.
"""
import gzip
import hashlib
import io
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

__all__ = [
    "registry_plain", "registry_referrers", "registry_tls", "registry_token", "fault_proxy", "_proxy_upstream", "registry_tool",
    "make_layout", "Registry", "SECRETS", "LOG_FILES", "OUTPUTS", "record_output",
]

SUPPORT = Path(__file__).resolve().parent / "registry_support"
ROOT = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = "/usr/bin/python3"

TEST_USER = "testuser"
TEST_PASSWORD = "s3cret-Pa55word-do-not-leak"
WRONG_PASSWORD = "wr0ng-Pa55word-do-not-leak"
PULL_USER = "pulluser"
PULL_PASSWORD = "pull-0nly-Pa55word-do-not-leak"
SECRETS = [TEST_PASSWORD, WRONG_PASSWORD, PULL_PASSWORD]

LOG_FILES: list = []   # every log file a registry, token server or proxy writes
OUTPUTS: list = []     # every stdout/stderr text captured from tools


def record_output(*texts):
    OUTPUTS.extend(t for t in texts if t)


def _die_with_parent():
    """Runs in the child before exec: SIGTERM it when pytest dies (Linux PR_SET_PDEATHSIG),
    so no registry outlives a killed test session."""
    import ctypes
    import signal
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


def _popen(args, out):
    return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            preexec_fn=_die_with_parent)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _require(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: run scripts/setup.sh")
    return path


def _wait_port(port: int, proc: subprocess.Popen, what: str, log: Path, timeout=20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{what} exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"{what} did not listen on 127.0.0.1:{port} within {timeout}s")


def _wait_port_file(path: Path, proc: subprocess.Popen, what: str, log: Path, timeout=20.0) -> int:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if path.exists():
            return int(path.read_text())
        if proc.poll() is not None:
            pytest.fail(f"{what} exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.05)
    pytest.fail(f"{what} did not start within {timeout}s")


def _stop(proc: subprocess.Popen):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Registry:
    """A running registry: host is "127.0.0.1:PORT"."""
    host: str
    scheme: str
    data_dir: Path
    log: Path
    ca_file: str = ""
    cert_dir: str = ""
    user: str = ""
    password: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"

    def skopeo_flags(self, creds=True):
        flags = []
        if self.scheme == "http":
            flags.append("--tls-verify=false")
        elif self.cert_dir:
            flags.append(f"--cert-dir={self.cert_dir}")
        if creds and self.user:
            flags.append(f"--creds={self.user}:{self.password}")
        return flags

    def tool_flags(self, creds=True):
        flags = []
        if self.ca_file:
            flags += ["--ca-file", self.ca_file]
        if creds and self.user:
            flags += ["--creds", f"{self.user}:{self.password}"]
        return flags


def _start_registry(tmp: Path, name: str, auth_yaml: str = "", tls_yaml: str = "", relative=False) -> tuple:
    _require("docker-registry")
    port = _free_port()
    data = tmp / f"{name}-data"
    data.mkdir()
    config = tmp / f"{name}.yml"
    config.write_text(
        "version: 0.1\n"
        "log: {level: info, accesslog: {disabled: false}}\n"
        f"storage: {{filesystem: {{rootdirectory: {data}}}, delete: {{enabled: true}}}}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n  relativeurls: {'true' if relative else 'false'}\n"
        f"{tls_yaml}"
        f"{auth_yaml}")
    log = tmp / f"{name}.log"
    LOG_FILES.append(log)
    with open(log, "w") as out:
        proc = _popen(["docker-registry", "serve", str(config)], out)
    _wait_port(port, proc, f"docker-registry ({name})", log)
    return proc, port, data, log


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="session")
def registry_plain(tmp_path_factory):
    """(a) docker-registry without auth over plain HTTP."""
    tmp = tmp_path_factory.mktemp("registry-plain")
    proc, port, data, log = _start_registry(tmp, "plain")
    yield Registry(host=f"127.0.0.1:{port}", scheme="http", data_dir=data, log=log)
    _stop(proc)


@pytest.fixture(scope="session")
def registry_referrers(tmp_path_factory):
    """(d) go-containerregistry's registry (pkg/registry) with the OCI 1.1
    referrers API on, over plain HTTP: tests/registry/referrers, built with
    the Go toolchain (its module comes from the Go module proxy)."""
    _require("go")
    tmp = tmp_path_factory.mktemp("registry-referrers")
    exe = tmp / "referrers-registry"
    build = subprocess.run(["go", "build", "-o", str(exe), "."], cwd=ROOT / "tests" / "registry" / "referrers",
                           capture_output=True, text=True, timeout=900)
    if build.returncode != 0:
        pytest.fail(f"building tests/registry/referrers failed:\n{build.stderr[-3000:]}")
    port_file = tmp / "port"
    log = tmp / "referrers.log"
    LOG_FILES.append(log)
    with open(log, "w") as out:
        proc = _popen([str(exe), "-port-file", str(port_file)], out)
    port = _wait_port_file(port_file, proc, "referrers registry", log)
    _wait_port(port, proc, "referrers registry", log)
    yield Registry(host=f"127.0.0.1:{port}", scheme="http", data_dir=tmp, log=log)
    _stop(proc)


@pytest.fixture(scope="session")
def registry_tls(tmp_path_factory):
    """(b) docker-registry with htpasswd Basic auth over TLS, test CA."""
    _require("openssl")
    tmp = tmp_path_factory.mktemp("registry-tls")
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", "ca.key", "-out", "ca.crt", "-days", "3", "-subj", "/CN=rustimg test CA", cwd=tmp)
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1", cwd=tmp)
    (tmp / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.crt", "-days", "3", "-extfile", "ext.cnf", cwd=tmp)
    cert_dir = tmp / "certs.d"
    cert_dir.mkdir()
    shutil.copy(tmp / "ca.crt", cert_dir / "ca.crt")
    # bcrypt hash with the system python's crypt module (no apache2-utils needed).
    htpasswd = tmp / "htpasswd"
    script = ("import crypt,sys\n"
              "print(sys.argv[1]+':'+crypt.crypt(sys.argv[2],crypt.mksalt(crypt.METHOD_BLOWFISH)))")
    line = subprocess.run([SYSTEM_PYTHON, "-W", "ignore", "-c", script, TEST_USER, TEST_PASSWORD],
                          check=True, capture_output=True, text=True).stdout
    htpasswd.write_text(line)
    proc, port, data, log = _start_registry(
        tmp, "tls",
        auth_yaml=f"auth: {{htpasswd: {{realm: basic-realm, path: {htpasswd}}}}}\n",
        tls_yaml=f"  tls: {{certificate: {tmp / 'server.crt'}, key: {tmp / 'server.key'}}}\n")
    yield Registry(host=f"127.0.0.1:{port}", scheme="https", data_dir=data, log=log,
                   ca_file=str(tmp / "ca.crt"), cert_dir=str(cert_dir), user=TEST_USER, password=TEST_PASSWORD)
    _stop(proc)


@pytest.fixture(scope="session")
def registry_token(tmp_path_factory):
    """(c) docker-registry with token auth and the test token server."""
    if not Path(SYSTEM_PYTHON).exists():
        pytest.fail(f"{SYSTEM_PYTHON} is missing: the token server needs Debian's python3-cryptography")
    check = subprocess.run([SYSTEM_PYTHON, "-c", "import cryptography"], capture_output=True)
    if check.returncode != 0:
        pytest.fail("python3-cryptography is not installed for /usr/bin/python3: run scripts/setup.sh")
    tmp = tmp_path_factory.mktemp("registry-token")
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "token.key", cwd=tmp)
    _openssl("req", "-new", "-x509", "-key", "token.key", "-out", "token.crt", "-days", "3",
             "-subj", "/CN=rustimg-test-issuer", cwd=tmp)
    users = tmp / "users.json"
    users.write_text(json.dumps({
        TEST_USER: {"password": TEST_PASSWORD, "actions": ["pull", "push", "delete"]},
        PULL_USER: {"password": PULL_PASSWORD, "actions": ["pull"]},
        "*anonymous*": {"actions": []},
    }))
    port_file = tmp / "token.port"
    token_log = tmp / "tokenserver.log"
    token_out = tmp / "tokenserver.out"
    LOG_FILES.extend([token_log, token_out])
    with open(token_out, "w") as out:
        token_proc = _popen(
            [SYSTEM_PYTHON, str(SUPPORT / "tokenserver.py"), "--key", str(tmp / "token.key"),
             "--cert", str(tmp / "token.crt"), "--users", str(users), "--port-file", str(port_file),
             "--log", str(token_log), "--service", "test-registry", "--issuer", "rustimg-test-issuer"], out)
    token_port = _wait_port_file(port_file, token_proc, "token server", token_out)
    try:
        proc, port, data, log = _start_registry(
            tmp, "token",
            auth_yaml=("auth:\n  token:\n"
                       f"    realm: http://127.0.0.1:{token_port}/token\n"
                       "    service: test-registry\n"
                       "    issuer: rustimg-test-issuer\n"
                       f"    rootcertbundle: {tmp / 'token.crt'}\n"))
    except BaseException:
        _stop(token_proc)
        raise
    yield Registry(host=f"127.0.0.1:{port}", scheme="http", data_dir=data, log=log, user=TEST_USER,
                   password=TEST_PASSWORD, extra={"token_log": token_log, "token_port": token_port})
    _stop(proc)
    _stop(token_proc)


class FaultProxy:
    def __init__(self, proc, host, log, upstream):
        self.proc, self.host, self.log, self.upstream = proc, host, log, upstream

    def requests(self):
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]

    def clear(self):
        self.log.write_text("")


@pytest.fixture(scope="session")
def _proxy_upstream(tmp_path_factory):
    """A plain registry behind the fault proxies, answering with relative Locations."""
    tmp = tmp_path_factory.mktemp("registry-behind-proxy")
    proc, port, data, log = _start_registry(tmp, "proxied", relative=True)
    yield Registry(host=f"127.0.0.1:{port}", scheme="http", data_dir=data, log=log)
    _stop(proc)


@pytest.fixture
def fault_proxy(_proxy_upstream, tmp_path):
    """Factory: fault_proxy(seed=1, rate=0.0, faults="drop,500,503,429,truncate", upstream=None,
    redirect_blobs=False, throttle=0) -> FaultProxy (throttle: request bodies read at that many bytes/s). The default upstream is a plain registry answering with
    relative Locations; pass e.g. registry_token to put the proxy in front of another (HTTP) one."""
    started = []

    def start(seed=1, rate=0.0, faults="drop,500,503,429,truncate", max_consecutive=3, upstream=None,
              redirect_blobs=False, throttle=0):
        upstream = upstream or _proxy_upstream
        n = len(started)
        port_file = tmp_path / f"proxy{n}.port"
        log = tmp_path / f"proxy{n}.log"
        out = tmp_path / f"proxy{n}.out"
        LOG_FILES.extend([log, out])
        with open(out, "w") as o:
            proc = _popen(
                [sys.executable, str(SUPPORT / "faultproxy.py"), "--upstream", upstream.host,
                 "--port-file", str(port_file), "--log", str(log), "--seed", str(seed), "--rate", str(rate),
                 "--faults", faults, "--max-consecutive", str(max_consecutive), "--throttle", str(throttle)]
                + (["--redirect-blobs"] if redirect_blobs else []), o)
        started.append(proc)
        port = _wait_port_file(port_file, proc, "fault proxy", out)
        return FaultProxy(proc, f"127.0.0.1:{port}", log, upstream)

    yield start
    for p in started:
        _stop(p)


# --- the C++ driver ---------------------------------------------------------------

class ToolResult:
    def __init__(self, proc):
        self.code = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    @property
    def summary(self):
        lines = [l for l in self.out.splitlines() if l.startswith("{")]
        return json.loads(lines[-1]) if lines else None

    @property
    def last_line(self):
        lines = self.out.strip().splitlines()
        return lines[-1] if lines else ""

    def __repr__(self):
        return f"<exit {self.code}\nstdout:\n{self.out}\nstderr:\n{self.err}>"


@pytest.fixture(scope="session")
def registry_tool():
    """Runs rustimg_registry_tool: registry_tool("push", layout, ref, *flags, env=None) -> ToolResult."""
    root = Path(__file__).resolve().parents[2]
    build = Path(os.environ.get("RUSTIMG_BUILD_DIR", root / "build"))
    exe = build / "bin" / "rustimg_registry_tool"
    if not exe.exists():
        pytest.fail(f"{exe} is missing: build first (cmake --build {build})")

    def run(*args, env=None, timeout=600):
        # Hermetic: no credentials or proxies from the caller's environment.
        full_env = {k: v for k, v in os.environ.items()
                    if k not in ("DOCKER_CONFIG", "REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME")
                    and k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}
        full_env["HOME"] = full_env.get("RUSTIMG_TEST_HOME", "/nonexistent-rustimg-home")
        full_env.update(env or {})
        proc = subprocess.run([str(exe), *map(str, args)], env=full_env, capture_output=True, text=True,
                              timeout=timeout)
        record_output(proc.stdout, proc.stderr)
        return ToolResult(proc)

    return run


# --- OCI layouts -------------------------------------------------------------------

def _write_blob(layout: Path, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    path = layout / "blobs" / "sha256" / digest[7:]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return digest


def _layer(rng: random.Random, name: str, size: int) -> tuple:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        payload = rng.randbytes(size)
        info = tarfile.TarInfo(name)
        info.size = len(payload)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(payload))
    tar_bytes = raw.getvalue()
    gz = gzip.compress(tar_bytes, compresslevel=1, mtime=0)
    return gz, "sha256:" + hashlib.sha256(tar_bytes).hexdigest()


def _file_layer(files: dict) -> tuple:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, (data, mode) in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = mode
            tar.addfile(info, io.BytesIO(data))
    tar_bytes = raw.getvalue()
    return gzip.compress(tar_bytes, compresslevel=1, mtime=0), "sha256:" + hashlib.sha256(tar_bytes).hexdigest()


def _image(layout: Path, rng: random.Random, layers: int, layer_size: int, arch: str, variant: str = "",
           files=None, entrypoint=None):
    descs, diff_ids = [], []
    built = [_layer(rng, f"data/{arch}-layer-{i}.bin", layer_size) for i in range(layers)]
    if files:
        built.append(_file_layer(files))
    for gz, diff_id in built:
        descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                      "digest": _write_blob(layout, gz), "size": len(gz)})
        diff_ids.append(diff_id)
    config = {"architecture": arch, "os": "linux",
              "config": {"Entrypoint": entrypoint} if entrypoint else {"Cmd": ["/data"]},
              "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    if variant:
        config["variant"] = variant
    config_bytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": _write_blob(layout, config_bytes), "size": len(config_bytes)},
                "layers": descs}
    mbytes = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    return {"mediaType": manifest["mediaType"], "digest": _write_blob(layout, mbytes), "size": len(mbytes)}


def make_layout(path: Path, seed: int, layers: int = 3, layer_size: int = 50_000, platforms=None,
                tag: str = "latest", files=None, entrypoint=None) -> dict:
    """Writes an OCI image layout; returns its index.json entry (the root descriptor).

    platforms: None for a single linux/amd64 image, else a list such as
    ["linux/amd64", "linux/arm64"] for an index over several images.
    files: {"path/in/image": (bytes, mode)} added as one more layer (single
    platform only), entrypoint: the config's Entrypoint.
    """
    rng = random.Random(seed)
    path.mkdir(parents=True, exist_ok=True)
    (path / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    if platforms is None:
        root = _image(path, rng, layers, layer_size, "amd64", files=files, entrypoint=entrypoint)
    else:
        children = []
        for p in platforms:
            parts = p.split("/")
            d = _image(path, rng, layers, layer_size, parts[1], parts[2] if len(parts) > 2 else "")
            d["platform"] = {"os": parts[0], "architecture": parts[1]}
            if len(parts) > 2:
                d["platform"]["variant"] = parts[2]
            children.append(d)
        index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": children}
        ibytes = json.dumps(index, sort_keys=True, separators=(",", ":")).encode()
        root = {"mediaType": index["mediaType"], "digest": _write_blob(path, ibytes), "size": len(ibytes)}
    root["annotations"] = {"org.opencontainers.image.ref.name": tag}
    (path / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [root]}))
    return root
