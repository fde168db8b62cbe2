"""rustimg.push / pull / build(push=) against the real docker-registry."""
import shutil
import socket
import subprocess
import time

import pytest

import rustimg

from conftest import ROOT

# bcrypt of "testpass" for user "testuser"
HTPASSWD = "testuser:$2y$05$GeRT2tq5JnOHSjjIRSJiq.gQKdeAOCC1WwUWxI5LGXyZhs1IxxO5u\n"


def start_registry(tmp_path, htpasswd=""):
    tmp_path.mkdir(parents=True, exist_ok=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    auth = ""
    if htpasswd:
        (tmp_path / "htpasswd").write_text(htpasswd)
        auth = f"auth:\n  htpasswd:\n    realm: test\n    path: {tmp_path / 'htpasswd'}\n"
    config = tmp_path / "config.yml"
    config.write_text(f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: "
                      f"{tmp_path / 'data'}\nhttp:\n  addr: 127.0.0.1:{port}\n{auth}")
    proc = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    proc.kill()
    pytest.fail("docker-registry did not start")


@pytest.fixture
def registry(tmp_path):
    proc, host = start_registry(tmp_path / "reg")
    yield host
    proc.kill()
    proc.wait()


@pytest.fixture
def crate(tmp_path):
    dst = tmp_path / "hello"
    shutil.copytree(ROOT / "examples" / "hello", dst, ignore=shutil.ignore_patterns("target"))
    return dst


def test_build_push_and_pull(crate, registry, tmp_path):
    ref = f"{registry}/py/hello:v1"
    res = rustimg.build(crate=crate, output=f"oci:{tmp_path / 'l'}:v1", push=[ref], source_date_epoch=0)
    assert res.pushed == [f"{ref}@{res.digest}"]
    again = rustimg.push(f"oci:{tmp_path / 'l'}:v1", ref, use_config_files=False)
    assert again == [f"{ref}@{res.digest}"]
    digest = rustimg.pull(ref, f"oci:{tmp_path / 'pulled'}:v1", platform="linux/amd64")
    assert digest == res.digest
    out = subprocess.run(["skopeo", "inspect", "--tls-verify=false", f"docker://{ref}"], capture_output=True,
                         text=True, check=True).stdout
    assert res.digest in out


def test_build_streams_to_a_registry_output(crate, registry, tmp_path):
    """output="docker://..." is a destination like oci:: the layers go
    straight to the registry, and the image is the one an OCI layout gets."""
    ref = f"{registry}/py/stream:v1"
    res = rustimg.build(crate=crate, output=f"docker://{ref}", source_date_epoch=0)
    assert res.pushed == [f"{ref}@{res.digest}"]
    local = rustimg.build(crate=crate, output=f"oci:{tmp_path / 'l'}:v1", source_date_epoch=0)
    assert local.digest == res.digest
    assert rustimg.pull(ref, f"oci:{tmp_path / 'pulled'}:v1") == res.digest


def test_auth_error_is_typed_and_keeps_the_secret(tmp_path):
    proc, host = start_registry(tmp_path / "reg", HTPASSWD)
    try:
        res = rustimg.build(binary="/bin/ls", base="scratch", allow_dynamic=True, output=f"oci:{tmp_path / 'l'}")
        with pytest.raises(rustimg.AuthError) as err:
            rustimg.push(f"oci:{tmp_path / 'l'}", f"{host}/py/denied:v1", username="testuser",
                         password="wrong-secret", use_config_files=False)
        assert isinstance(err.value, rustimg.RegistryError) and isinstance(err.value, PermissionError)
        assert err.value.http_status == 401
        assert host in str(err.value) and "testuser" in str(err.value)
        assert "wrong-secret" not in str(err.value)
        ok = rustimg.push(f"oci:{tmp_path / 'l'}", f"{host}/py/allowed:v1", username="testuser",
                          password="testpass", use_config_files=False)
        assert ok == [f"{host}/py/allowed:v1@{res.digest}"]
    finally:
        proc.kill()
        proc.wait()


def test_unreachable_registry(tmp_path):
    rustimg.build(binary="/bin/ls", base="scratch", allow_dynamic=True, output=f"oci:{tmp_path / 'l'}")
    with pytest.raises(rustimg.RegistryError) as err:
        rustimg.push(f"oci:{tmp_path / 'l'}", "127.0.0.1:1/py/x:v1", use_config_files=False)
    assert err.value.http_status == 0
    assert "127.0.0.1:1" in str(err.value)


def test_build_on_a_base_from_a_private_registry(tmp_path):
    """build()'s registry arguments reach the pull of an image base."""
    proc, host = start_registry(tmp_path / "reg", HTPASSWD)
    try:
        rustimg.build(binary="/bin/ls", base="scratch", allow_dynamic=True, output=f"oci:{tmp_path / 'base'}")
        base = f"{host}/py/base:v1"
        rustimg.push(f"oci:{tmp_path / 'base'}", base, username="testuser", password="testpass",
                     use_config_files=False)
        out = f"oci:{tmp_path / 'app'}:v1"
        with pytest.raises(rustimg.AuthError) as err:
            rustimg.build(binary="/bin/ls", base=base, allow_dynamic=True, output=out, use_config_files=False)
        assert err.value.http_status == 401 and host in str(err.value)
        assert not (tmp_path / "app").exists()
        res = rustimg.build(binary="/bin/ls", base=base, allow_dynamic=True, output=out, username="testuser",
                            password="testpass", use_config_files=False)
        raw = subprocess.run(["skopeo", "inspect", "--raw", out], capture_output=True, text=True, check=True).stdout
        assert res.digest.startswith("sha256:") and base in raw
    finally:
        proc.kill()
        proc.wait()


def test_credentials_are_for_one_registry(registry, tmp_path):
    """username=/password= go to one registry: credentials_registry=, else the
    push target (build(push=), push()), the pulled registry, or a build's base."""
    proc, private = start_registry(tmp_path / "private", HTPASSWD)
    creds = {"username": "testuser", "password": "testpass", "use_config_files": False}
    try:
        layout = f"oci:{tmp_path / 'l'}"
        rustimg.build(binary="/bin/ls", base="scratch", allow_dynamic=True, output=layout)
        base = f"{private}/py/base:v1"
        rustimg.push(layout, base, **creds)
        app = f"{registry}/py/app:v1"
        # For the push target by default: the base's registry gets none of them.
        with pytest.raises(rustimg.AuthError) as err:
            rustimg.build(binary="/bin/ls", base=base, allow_dynamic=True, output=f"oci:{tmp_path / 'a'}",
                          push=[app], **creds)
        assert err.value.http_status == 401 and private in str(err.value)
        # Named: the base's registry gets them (the push target needs none).
        res = rustimg.build(binary="/bin/ls", base=base, allow_dynamic=True, output=f"oci:{tmp_path / 'b'}",
                            push=[app], credentials_registry=private, **creds)
        assert res.pushed == [f"{app}@{res.digest}"]
        # Without push=, they are for the base's registry.
        rustimg.build(binary="/bin/ls", base=base, allow_dynamic=True, output=f"oci:{tmp_path / 'c'}", **creds)
        # A pull: for the pulled registry, unless named for another.
        assert rustimg.pull(base, f"oci:{tmp_path / 'p'}", **creds).startswith("sha256:")
        with pytest.raises(rustimg.AuthError):
            rustimg.pull(base, f"oci:{tmp_path / 'q'}", credentials_registry=registry, **creds)
        # Targets on two registries: say which one the credentials are for.
        with pytest.raises(rustimg.InvalidArgumentError) as err:
            rustimg.push(layout, app, f"{private}/py/two:v1", **creds)
        assert registry in str(err.value) and private in str(err.value) and "credentials_registry" in str(err.value)
        assert len(rustimg.push(layout, app, f"{private}/py/two:v1", credentials_registry=private, **creds)) == 2
        with pytest.raises(rustimg.InvalidArgumentError) as err:
            rustimg.push(layout, app, credentials_registry="*", **creds)
        assert "credentials_registry" in str(err.value)
    finally:
        proc.kill()
        proc.wait()


def test_request_timeout_gives_up_on_a_silent_registry(tmp_path):
    """A registry that accepts the connection and never answers is given up
    on after request_timeout= (retried within the retry budget), and the
    error says so."""
    import threading
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                held.append(conn)  # read nothing, answer nothing
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    port = server.getsockname()[1]
    try:
        with pytest.raises(rustimg.RegistryError) as info:
            rustimg.pull(f"127.0.0.1:{port}/app:v1", f"oci:{tmp_path / 'out'}:v1", request_timeout=1,
                         stall_timeout=1)
        assert "timed out" in str(info.value)
        assert held, "the registry was never contacted"
        with pytest.raises(rustimg.InvalidArgumentError):
            rustimg.pull(f"127.0.0.1:{port}/app:v1", f"oci:{tmp_path / 'out'}:v1", request_timeout=0)
    finally:
        stop.set()
        thread.join()
        for c in held:
            c.close()
        server.close()


def test_ctrl_c_stops_a_stalled_pull(tmp_path):
    """Ctrl-C reaches a pull whose registry has gone silent: KeyboardInterrupt
    is raised in the calling program and nothing is left behind."""
    import signal
    import sys
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    port = server.getsockname()[1]
    out = tmp_path / "out"
    script = ("import rustimg, sys\n"
              "try:\n"
              f"    rustimg.pull('127.0.0.1:{port}/app:v1', 'oci:{out}:v1')\n"
              "except KeyboardInterrupt:\n"
              "    print('interrupted'); sys.exit(7)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        server.settimeout(60)
        conn, _ = server.accept()  # the pull is now waiting on a silent registry
        time.sleep(1)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=15)
        conn.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        server.close()
    assert proc.returncode == 7, (stdout, stderr)
    assert "interrupted" in stdout
    assert [p.name for p in tmp_path.rglob("*") if ".rustimg-" in p.name] == []
