"""rustimg.push / pull / build(push=) against the real docker-registry."""
import dataclasses
import json
import os
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
    assert [p.reference for p in res.pushed] == [f"{ref}@{res.digest}"]
    assert res.pushed[0].blobs_uploaded > 0
    # The SBOM and provenance the build attached went up with it (docker-registry: the tag schema).
    assert [(r["artifact_type"], r["subject"], r["via"]) for r in res.pushed[0].referrers] == [
        ("application/spdx+json", res.digest, "tag-schema"), ("application/vnd.in-toto+json", res.digest, "tag-schema")]
    again = rustimg.push(f"oci:{tmp_path / 'l'}:v1", ref, use_config_files=False)
    assert [p.reference for p in again] == [f"{ref}@{res.digest}"]
    pulled = rustimg.pull(ref, f"oci:{tmp_path / 'pulled'}:v1", platform="linux/amd64")
    assert pulled == rustimg.TransferResult(reference=ref, digest=res.digest)
    out = subprocess.run(["skopeo", "inspect", "--tls-verify=false", f"docker://{ref}"], capture_output=True,
                         text=True, check=True).stdout
    assert res.digest in out


def test_build_streams_to_a_registry_output(crate, registry, tmp_path):
    """output="docker://..." is a destination like oci:: the layers go
    straight to the registry, and the image is the one an OCI layout gets."""
    ref = f"{registry}/py/stream:v1"
    res = rustimg.build(crate=crate, output=f"docker://{ref}", source_date_epoch=0)
    assert [p.reference for p in res.pushed] == [f"{ref}@{res.digest}"]
    local = rustimg.build(crate=crate, output=f"oci:{tmp_path / 'l'}:v1", source_date_epoch=0)
    assert local.digest == res.digest
    assert rustimg.pull(ref, f"oci:{tmp_path / 'pulled'}:v1").digest == res.digest


def layout_blobs(layout, entry=0):
    """The config and layers of the manifest index.json lists at `entry`
    (0: the image; then the artifacts the build attached): [(digest, size)]."""
    def blob(digest):
        return json.loads((layout / "blobs" / "sha256" / digest.split(":")[1]).read_text())
    manifest = blob(json.loads((layout / "index.json").read_text())["manifests"][entry]["digest"])
    return [(d["digest"], d["size"]) for d in [manifest["config"], *manifest["layers"]]]


class Stop(Exception):
    pass


def test_push_reports_progress_and_what_it_transferred(registry, tmp_path):
    """push() reports every blob to progress= and returns what Go's
    TransferResult holds: the first push uploads every blob, a second one
    finds them all on the registry; pull() returns one too. An exception
    from progress= cancels the push and propagates unchanged."""
    layout = f"oci:{tmp_path / 'l'}:v1"
    built = rustimg.build(binary="/bin/ls", base="scratch", allow_dynamic=True, output=layout, source_date_epoch=0)
    blobs = layout_blobs(tmp_path / "l")
    ref = f"{registry}/py/progress:v1"
    events = []
    first, = rustimg.push(layout, ref, progress=lambda stage, message: events.append((stage, message)),
                          use_config_files=False)
    assert isinstance(first, rustimg.TransferResult)
    assert (first.reference, first.digest) == (f"{ref}@{built.digest}", built.digest)
    assert (first.blobs_uploaded, first.blobs_existing, first.blobs_mounted) == (len(blobs), 0, 0)
    assert first.bytes_uploaded == sum(size for _, size in blobs)
    done = {m.split()[1] for s, m in events if s == "done"}
    # The image's blobs, then the SBOM's (the artifact index.json lists after the image).
    sbom_blobs = layout_blobs(tmp_path / "l", 1)
    assert done == {digest for digest, _ in blobs + sbom_blobs}, events
    assert [r["artifact_type"] for r in first.referrers] == ["application/spdx+json"]
    assert any(s == "manifest" and built.digest in m for s, m in events), events
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.digest = "sha256:0"  # type: ignore[misc]

    events.clear()
    second, = rustimg.push(layout, ref, progress=lambda stage, message: events.append((stage, message)),
                           use_config_files=False)
    assert second.digest == built.digest
    assert (second.blobs_uploaded, second.blobs_existing, second.bytes_uploaded) == (0, len(blobs), 0)
    assert not [s for s, _ in events if s in ("uploading", "done")], events

    pulled_events = []
    pulled = rustimg.pull(ref, f"oci:{tmp_path / 'pulled'}:v1", progress=lambda s, m: pulled_events.append(s))
    assert pulled == rustimg.TransferResult(reference=ref, digest=built.digest)
    assert "done" in pulled_events

    def stop(stage, message):
        raise Stop(stage)

    other = f"{registry}/py/stopped:v1"
    with pytest.raises(Stop):
        rustimg.push(layout, other, progress=stop, use_config_files=False)
    with pytest.raises(rustimg.Error):
        rustimg.pull(other, f"oci:{tmp_path / 'none'}:v1")  # the push stopped before its manifest


def test_errors_name_the_base_argument(registry, tmp_path):
    """A missing base is reported with build()'s base= argument, not the CLI's --base."""
    with pytest.raises(rustimg.Error) as err:
        rustimg.build(binary="/bin/ls", base=f"{registry}/py/missing:v1", allow_dynamic=True,
                      output=f"oci:{tmp_path / 'o'}", use_config_files=False)
    assert "base=" in str(err.value) and "--base" not in str(err.value)


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
        assert [p.reference for p in ok] == [f"{host}/py/allowed:v1@{res.digest}"]
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
        assert [p.reference for p in res.pushed] == [f"{app}@{res.digest}"]
        # Without push=, they are for the base's registry.
        rustimg.build(binary="/bin/ls", base=base, allow_dynamic=True, output=f"oci:{tmp_path / 'c'}", **creds)
        # A pull: for the pulled registry, unless named for another.
        assert rustimg.pull(base, f"oci:{tmp_path / 'p'}", **creds).digest.startswith("sha256:")
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


def test_deploy_example_builds_verifies_and_pushes(crate, registry, tmp_path):
    """examples/python/deploy.py, the full deployment script: builds the
    crate, shows each binary's verification, pushes, prints REF@digest."""
    import sys
    ref = f"{registry}/py/deploy:v1"
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "python" / "deploy.py"), str(crate),
                           str(tmp_path / "layout"), "--push", ref], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    printed = proc.stdout.strip()
    assert printed.startswith(f"{ref}@sha256:"), proc.stdout
    assert "linux/amd64: static-pie" in proc.stderr and "fit for scratch: True" in proc.stderr
    assert rustimg.pull(ref, f"oci:{tmp_path / 'pulled'}:v1").digest == printed.split("@")[1]


def _openssl_keypair(directory, name, passphrase=None):
    """A P-256 key made by openssl (encrypted with `passphrase` when given) and its public key."""
    key, pub = directory / f"{name}.pem", directory / f"{name}.pub"
    env = dict(os.environ, KEY_PW=passphrase or "")
    encrypt = ["-aes-256-cbc", "-pass", "env:KEY_PW"] if passphrase else []
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", *encrypt,
                    "-out", str(key)], check=True, capture_output=True, env=env)
    subprocess.run(["openssl", "pkey", "-in", str(key), *(["-passin", "env:KEY_PW"] if passphrase else []),
                    "-pubout", "-out", str(pub)], check=True, capture_output=True, env=env)
    return key, pub


def test_sign_and_verify_image(registry, tmp_path, monkeypatch):
    """sign() signs as cosign does and verify_image() checks it; another key,
    an unsigned image and a missing attestation are VerifyError, and the
    passphrase never appears in what comes back."""
    secret = "py-key-pass-do-not-leak"
    key, pub = _openssl_keypair(tmp_path, "sign", secret)
    _, other_pub = _openssl_keypair(tmp_path, "other")
    layout = f"oci:{tmp_path / 'l'}:v1"
    built = rustimg.build(binary="/bin/ls", base="scratch", allow_dynamic=True, output=layout, source_date_epoch=0)
    ref = f"{registry}/py/signed:v1"
    rustimg.push(layout, ref, use_config_files=False)

    with pytest.raises(rustimg.VerifyError, match="has no signatures"):
        rustimg.verify_image(ref, pub, use_config_files=False)
    monkeypatch.delenv("COSIGN_PASSWORD", raising=False)
    with pytest.raises(rustimg.InvalidArgumentError, match=r"\$COSIGN_PASSWORD is not set"):
        rustimg.sign(ref, key, use_config_files=False)
    monkeypatch.setenv("MY_KEY_PW", secret)
    signed = rustimg.sign(ref, key, key_password_env="MY_KEY_PW", use_config_files=False)
    assert [s.digest for s in signed] == [built.digest]
    assert signed[0].identity == f"{registry}/py/signed"
    assert signed[0].signature.startswith(f"{registry}/py/signed:{built.digest.replace(':', '-')}.sig@sha256:")
    assert secret not in repr(signed)

    valid = rustimg.verify_image(ref, pub, use_config_files=False)
    assert valid == [rustimg.Signature(digest=built.digest, signature=signed[0].signature,
                                       identity=f"{registry}/py/signed")]
    with pytest.raises(rustimg.VerifyError, match="does not verify"):
        rustimg.verify_image(ref, other_pub, use_config_files=False)
    with pytest.raises(rustimg.VerifyError, match="has no attestations"):
        rustimg.verify_attestations(ref, pub, "slsaprovenance1", use_config_files=False)
    with pytest.raises(rustimg.InvalidArgumentError, match='did you mean "spdxjson"'):
        rustimg.verify_attestations(ref, pub, "spdxjsn", use_config_files=False)

    # build(sign_key=) signs what it pushed and attests the SBOM it pushed with
    # it (a prebuilt binary: no provenance); a build that pushes nothing is refused.
    with pytest.raises(rustimg.InvalidArgumentError, match="signs what is pushed"):
        rustimg.build(binary="/bin/ls", base="scratch", allow_dynamic=True, output=layout, sign_key=key,
                      key_password_env="MY_KEY_PW")
    with pytest.raises(rustimg.InvalidArgumentError, match=r"\$COSIGN_PASSWORD is not set"):
        rustimg.build(binary="/bin/ls", base="scratch", allow_dynamic=True, output=layout, sign_key=key,
                      push=[f"{registry}/py/built:v1"])
    built_ref = f"{registry}/py/built:v1"
    res = rustimg.build(binary="/bin/ls", base="scratch", allow_dynamic=True, output=f"oci:{tmp_path / 'b'}:v1",
                        push=[built_ref], sign_key=key, key_password_env="MY_KEY_PW",
                        use_config_files=False, source_date_epoch=0)
    assert [(s.digest, s.predicate_type) for s in res.signed] == [(res.digest, ""),
                                                                  (res.digest, "https://spdx.dev/Document")]
    assert res.signed[1].signature.startswith(f"{registry}/py/built:{res.digest.replace(':', '-')}.att@sha256:")
    assert rustimg.verify_image(built_ref, pub, use_config_files=False)[0].digest == res.digest
    assert len(rustimg.verify_attestations(built_ref, pub, "spdxjson", use_config_files=False)) == 1
    assert secret not in repr(res)


def test_sign_an_image_in_a_layout_then_push_it(registry, tmp_path, monkeypatch):
    """sign("oci:DIR:TAG", identity=, attest=True) signs and attests in the
    layout, naming the repository the image will be pushed to;
    verify_image() checks it there;
    push() carries the signature with the image, where verify_image() finds
    it. Without an identity a layout is refused, saying what to give."""
    key, pub = _openssl_keypair(tmp_path, "layout-key")
    monkeypatch.setenv("COSIGN_PASSWORD", "")
    layout = f"oci:{tmp_path / 'l'}:v1"
    built = rustimg.build(binary="/bin/ls", base="scratch", allow_dynamic=True, output=layout, source_date_epoch=0)
    repo = f"{registry}/py/layout-signed"
    with pytest.raises(rustimg.InvalidArgumentError, match="identity"):
        rustimg.sign(layout, key)
    with pytest.raises(rustimg.VerifyError, match="has no signatures"):
        rustimg.verify_image(layout, pub)
    signed = rustimg.sign(layout, key, identity=repo, attest=True)
    assert [(s.digest, s.identity, s.predicate_type) for s in signed] == [
        (built.digest, repo, ""), (built.digest, repo, "https://spdx.dev/Document")]
    assert signed[0].signature.startswith(f"oci:{tmp_path / 'l'}:{built.digest.replace(':', '-')}.sig@sha256:")
    assert [s.digest for s in rustimg.verify_image(layout, pub)] == [built.digest]

    pushed = rustimg.push(layout, f"{repo}:v1", use_config_files=False)
    tag = built.digest.replace(":", "-")
    assert sorted(s.split("@")[0] for s in pushed[0].signatures) == [f"{repo}:{tag}.att", f"{repo}:{tag}.sig"]
    valid = rustimg.verify_image(f"{repo}:v1", pub, use_config_files=False)
    assert [(s.digest, s.identity) for s in valid] == [(built.digest, repo)]
    assert len(rustimg.verify_attestations(f"{repo}:v1", pub, "spdxjson", use_config_files=False)) == 1


def test_build_base_key_refuses_an_unsigned_base(registry, tmp_path):
    """build(base_key=) builds only on an image base signed by that key: an
    unsigned one is a VerifyError saying so, before anything is written; once
    signed by the key, the build goes ahead. The argument wins over the spec's."""
    key, pub = _openssl_keypair(tmp_path, "base")
    base = f"{registry}/py/base:v1"
    rustimg.build(binary="/bin/ls", base="scratch", allow_dynamic=True, output=f"docker://{base}",
                  use_config_files=False)
    out = tmp_path / "app"
    with pytest.raises(rustimg.VerifyError) as err:
        rustimg.build(binary="/bin/ls", base=base, allow_dynamic=True, output=f"oci:{out}:v1", base_key=pub,
                      use_config_files=False)
    assert f"the base image {base} is not signed by {pub}" in str(err.value), err.value
    assert "has no signatures" in str(err.value), err.value
    assert not out.exists()
    rustimg.sign(base, key, use_config_files=False)
    # The spec names a key that does not exist: base_key= is the one checked.
    res = rustimg.build(binary="/bin/ls", base=base, allow_dynamic=True, output=f"oci:{out}:v1",
                        base_key=pub, overrides={"base-key": "missing.pub"}, use_config_files=False)
    assert res.digest.startswith("sha256:")


def test_build_base_key_pulls_the_base_it_checked(registry, tmp_path):
    """The base is pulled by the digest whose signature was checked: a tag
    moved to another image right after the check (here from the progress
    callback, which the build calls before it goes on) is not followed."""
    key, pub = _openssl_keypair(tmp_path, "base")
    base = f"{registry}/py/moving:v1"
    signed = rustimg.build(binary="/bin/ls", base="scratch", allow_dynamic=True, output=f"docker://{base}",
                           source_date_epoch=0, use_config_files=False)
    rustimg.sign(base, key, use_config_files=False)
    other_layout = f"oci:{tmp_path / 'other'}:v1"
    other = rustimg.build(binary="/bin/cat", base="scratch", allow_dynamic=True, output=other_layout,
                          source_date_epoch=0)
    assert other.digest != signed.digest
    moved = []

    def progress(stage, message):
        if stage == "pull" and "is signed by" in message and not moved:
            rustimg.push(other_layout, base, use_config_files=False)
            moved.append(message)

    out = tmp_path / "app"
    rustimg.build(binary="/bin/ls", base=base, allow_dynamic=True, output=f"oci:{out}:v1", base_key=pub,
                  progress=progress, use_config_files=False)
    assert moved and signed.digest in moved[0]
    # The tag names the unsigned image now...
    with pytest.raises(rustimg.VerifyError, match="has no signatures"):
        rustimg.verify_image(base, pub, use_config_files=False)
    # ...and the image was built on the signed one all the same.
    index = json.loads((out / "index.json").read_text())
    manifest = json.loads((out / "blobs" / "sha256" / index["manifests"][0]["digest"][7:]).read_text())
    assert manifest["annotations"]["org.opencontainers.image.base.digest"] == signed.digest
    assert manifest["annotations"]["org.opencontainers.image.base.name"] == base
