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
