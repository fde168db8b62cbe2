"""Credentials given for one registry reach that registry only (issue 12).

Registry A is a plain-HTTP docker-registry with htpasswd auth for its own
user (BASE_USER), reached through a TCP relay that keeps every byte clients
send; registry B is the htpasswd-over-TLS registry (TEST_USER). A build on a
base from A that pushes to B with `--username TEST_USER` must authenticate
to A with A's own credentials (from the docker config) and never send B's.
"""
import base64
import json
import socket
import subprocess
import threading

import pytest

from registries import SECRETS, SYSTEM_PYTHON, _start_registry, _stop
from test_build import hello_binary  # noqa: F401  session fixture: the example as a static binary
from test_build import EXAMPLE
from test_push import cli

BASE_USER = "baseuser"
BASE_PASSWORD = "base-0nly-Pa55word-do-not-leak"
SECRETS.append(BASE_PASSWORD)  # searched for in every output and log by test_registry


def basic(user: str, password: str) -> bytes:
    return base64.b64encode(f"{user}:{password}".encode())


class CapturingRelay:
    """A TCP relay on 127.0.0.1 in front of `upstream` ("127.0.0.1:PORT")
    that keeps every byte clients send (requests with their headers)."""

    def __init__(self, upstream: str):
        self.upstream = upstream
        self._sent = bytearray()
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.host = f"127.0.0.1:{self._server.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def sent(self) -> bytes:
        with self._lock:
            return bytes(self._sent)

    def close(self):
        self._server.close()

    def _accept(self):
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _pump(self, src, dst, record):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if record:
                    with self._lock:
                        self._sent += data
                dst.sendall(data)
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def _relay(self, client):
        host, port = self.upstream.rsplit(":", 1)
        try:
            upstream = socket.create_connection((host, int(port)))
        except OSError:
            client.close()
            return
        back = threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True)
        back.start()
        self._pump(client, upstream, True)
        back.join()
        client.close()
        upstream.close()


@pytest.fixture(scope="module")
def registry_a(tmp_path_factory):
    """Registry A: htpasswd (BASE_USER) over plain HTTP, behind a CapturingRelay."""
    tmp = tmp_path_factory.mktemp("registry-a")
    script = ("import crypt,sys\n"
              "print(sys.argv[1]+':'+crypt.crypt(sys.argv[2],crypt.mksalt(crypt.METHOD_BLOWFISH)))")
    line = subprocess.run([SYSTEM_PYTHON, "-W", "ignore", "-c", script, BASE_USER, BASE_PASSWORD],
                          check=True, capture_output=True, text=True).stdout
    (tmp / "htpasswd").write_text(line)
    proc, port, _, _ = _start_registry(tmp, "a", auth_yaml=f"auth: {{htpasswd: {{realm: a, path: {tmp / 'htpasswd'}}}}}\n")
    relay = CapturingRelay(f"127.0.0.1:{port}")
    yield relay
    relay.close()
    _stop(proc)


@pytest.fixture(scope="module")
def base_on_a(rustimg, hello_binary, registry_a, tmp_path_factory):  # noqa: F811
    """The example on the static base, pushed to A as base/hello:v1 (through the relay)."""
    layout = tmp_path_factory.mktemp("base-a") / "layout"
    res = rustimg("build", "--binary", hello_binary, "--base", "static", "--output", f"oci:{layout}:v1")
    assert res.code == 0, res
    ref = f"{registry_a.host}/base/hello:v1"
    proc = cli(rustimg, "push", "--username", BASE_USER, f"oci:{layout}:v1", ref, stdin=BASE_PASSWORD + "\n")
    assert proc.returncode == 0, proc.stderr
    return ref


def docker_config(tmp_path, host, user, password):
    d = tmp_path / "docker"
    d.mkdir()
    (d / "config.json").write_text(json.dumps({"auths": {host: {"auth": basic(user, password).decode()}}}))
    return str(d)


def test_build_push_sends_the_push_credentials_to_the_push_target_only(rustimg, hello_binary, registry_a,  # noqa: F811
                                                                         base_on_a, registry_tls, tmp_path):
    """build --base A --push B --username U: U's password goes to B, never to A;
    A is reached with its own credentials from the docker config."""
    app = f"{registry_tls.host}/scoped/app:v1"
    before = len(registry_a.sent())
    proc = cli(rustimg, "build", "--binary", hello_binary, "--base", base_on_a, "--no-base-cache",
               "--registry-ca", registry_tls.ca_file, "--username", registry_tls.user, "--push", app,
               stdin=registry_tls.password + "\n",
               env={"DOCKER_CONFIG": docker_config(tmp_path, registry_a.host, BASE_USER, BASE_PASSWORD)})
    to_a = registry_a.sent()[before:]
    # Booleans, so that a failure does not print the secrets.
    leaked = basic(registry_tls.user, registry_tls.password) in to_a
    assert not leaked, "B's credentials were sent to A"
    own = basic(BASE_USER, BASE_PASSWORD) in to_a
    assert own, "A was not reached with its own credentials"
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1].startswith(app + "@sha256:")


def test_credentials_for_names_the_registry(rustimg, hello_binary, registry_a, base_on_a, registry_plain,  # noqa: F811
                                            tmp_path):
    """--credentials-for HOST binds --username to HOST instead of the push target."""
    app = f"{registry_plain.host}/scoped/app:v2"
    before = len(registry_a.sent())
    proc = cli(rustimg, "build", "--binary", hello_binary, "--base", base_on_a, "--no-base-cache", "--push", app,
               "--username", BASE_USER, "--credentials-for", registry_a.host, stdin=BASE_PASSWORD + "\n")
    assert proc.returncode == 0, proc.stderr
    own = basic(BASE_USER, BASE_PASSWORD) in registry_a.sent()[before:]
    assert own, "A was not reached with the --credentials-for credentials"

    # Credentials for another registry are not A's: pulling from A is refused.
    proc = cli(rustimg, "pull", base_on_a, "--output", f"oci:{tmp_path / 'pulled'}", "--username", BASE_USER,
               "--credentials-for", registry_plain.host, stdin=BASE_PASSWORD + "\n")
    assert proc.returncode == 1, proc.stderr
    assert registry_a.host in proc.stderr, proc.stderr
    assert not (tmp_path / "pulled").exists()

    # Without --credentials-for, pull's credentials are for the pulled registry,
    # and a build without --push's for its base's registry.
    proc = cli(rustimg, "pull", base_on_a, "--output", f"oci:{tmp_path / 'pulled'}", "--username", BASE_USER,
               stdin=BASE_PASSWORD + "\n")
    assert proc.returncode == 0, proc.stderr
    proc = cli(rustimg, "build", "--binary", hello_binary, "--base", base_on_a, "--no-base-cache",
               "--output", f"oci:{tmp_path / 'built'}", "--username", BASE_USER, stdin=BASE_PASSWORD + "\n")
    assert proc.returncode == 0, proc.stderr


def test_username_with_targets_on_several_registries_must_name_one(rustimg, hello_binary, registry_a,  # noqa: F811
                                                                   base_on_a, registry_plain, tmp_path):
    """Which registry is --username for when the targets are on two? The CLI asks."""
    layout = tmp_path / "img"
    res = rustimg("build", "--binary", hello_binary, "--base", "static", "--output", f"oci:{layout}:v1")
    assert res.code == 0, res
    targets = [f"{registry_plain.host}/scoped/two:v1", f"{registry_a.host}/scoped/two:v1"]
    proc = cli(rustimg, "push", "--username", BASE_USER, f"oci:{layout}:v1", *targets, stdin=BASE_PASSWORD + "\n")
    assert proc.returncode == 2, proc.stderr
    assert registry_plain.host in proc.stderr and registry_a.host in proc.stderr, proc.stderr
    assert "--credentials-for" in proc.stderr, proc.stderr
    proc = cli(rustimg, "push", "--username", BASE_USER, "--credentials-for", registry_a.host, f"oci:{layout}:v1",
               *targets, stdin=BASE_PASSWORD + "\n")
    assert proc.returncode == 0, proc.stderr

    # a host that is not one, and --credentials-for without --username
    proc = cli(rustimg, "push", "--username", BASE_USER, "--credentials-for", "*", f"oci:{layout}:v1", targets[0],
               stdin=BASE_PASSWORD + "\n")
    assert proc.returncode == 2 and "--credentials-for" in proc.stderr and '"*"' in proc.stderr, proc.stderr
    proc = cli(rustimg, "push", "--credentials-for", registry_a.host, f"oci:{layout}:v1", targets[0])
    assert proc.returncode == 2 and "--username" in proc.stderr, proc.stderr


def test_bare_push_sends_the_credentials_to_the_spec_repository_only(rustimg, hello_binary, registry_a,  # noqa: F811
                                                                      base_on_a, registry_tls, tmp_path):
    """build --base A --username U --push (no reference, the spec's "repository"
    on B): U's password goes to B, where the image lands, never to A."""
    spec = tmp_path / "rustimg.json"
    spec.write_text(json.dumps({"repository": f"{registry_tls.host}/from-spec", "tags": ["v9"]}))
    before = len(registry_a.sent())
    proc = cli(rustimg, "build", "--binary", hello_binary, "--crate", EXAMPLE, "--spec", spec, "--base", base_on_a,
               "--no-base-cache", "--registry-ca", registry_tls.ca_file, "--username", registry_tls.user, "--push",
               stdin=registry_tls.password + "\n",
               env={"RUSTIMG_REPO": "",
                    "DOCKER_CONFIG": docker_config(tmp_path, registry_a.host, BASE_USER, BASE_PASSWORD)})
    to_a = registry_a.sent()[before:]
    leaked = basic(registry_tls.user, registry_tls.password) in to_a  # a boolean: no secret in the report
    assert not leaked, "B's credentials were sent to A"
    own = basic(BASE_USER, BASE_PASSWORD) in to_a
    assert own, "A was not reached with its own credentials"
    assert proc.returncode == 0, proc.stderr
    pushed = [line.split("@")[0] for line in proc.stdout.splitlines() if "@sha256:" in line]
    assert pushed == [f"{registry_tls.host}/from-spec/hello:0.1.0", f"{registry_tls.host}/from-spec/hello:v9"], \
        proc.stdout
    tags = subprocess.run(["skopeo", "list-tags", *registry_tls.skopeo_flags(),
                           f"docker://{registry_tls.host}/from-spec/hello"], capture_output=True, text=True)
    image_tags = sorted(t for t in json.loads(tags.stdout)["Tags"] if not t.startswith("sha256-"))  # not referrers
    assert tags.returncode == 0 and image_tags == ["0.1.0", "v9"], tags.stderr


def test_bare_push_beside_a_reference_on_another_registry_must_name_one(rustimg, hello_binary,  # noqa: F811
                                                                         registry_plain, registry_tls, tmp_path):
    """The default references count among the push targets: on another registry
    than --push REF's, --username must say which one it is for."""
    spec = tmp_path / "rustimg.json"
    spec.write_text(json.dumps({"repository": f"{registry_plain.host}/from-spec"}))
    proc = cli(rustimg, "build", "--binary", hello_binary, "--crate", EXAMPLE, "--spec", spec,
               "--registry-ca", registry_tls.ca_file, "--username", registry_tls.user,
               "--push", f"{registry_tls.host}/scoped/both:v1", "--push",
               stdin=registry_tls.password + "\n", env={"RUSTIMG_REPO": ""})
    assert proc.returncode == 2, proc.stderr
    assert registry_plain.host in proc.stderr and registry_tls.host in proc.stderr, proc.stderr
    assert "--credentials-for" in proc.stderr, proc.stderr
