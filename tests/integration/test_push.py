"""rustimg push / pull / build --push through the CLI, against the real
docker-registry (plain HTTP, htpasswd over TLS, token auth) on loopback."""
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess

import pytest

from conftest import ROOT, blob, run, rustimg_bin
from registries import make_layout, record_output

EXAMPLE = ROOT / "examples" / "hello"


@pytest.fixture(scope="module")
def hello_layout(rustimg, tmp_path_factory):
    """The example crate built once into an OCI layout."""
    work = tmp_path_factory.mktemp("push-src")
    crate = work / "hello"
    shutil.copytree(EXAMPLE, crate, ignore=shutil.ignore_patterns("target"))
    res = rustimg("build", crate, "--output", f"oci:{work / 'layout'}:v1", env={"SOURCE_DATE_EPOCH": ""})
    assert res.code == 0, res
    return work / "layout", res.out.strip().splitlines()[-1], crate


def cli(rustimg, *args, stdin=None, env=None):
    """Runs the CLI hermetically: no credentials from the caller's home."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_CONFIG", "REGISTRY_AUTH_FILE")}
    # cargo and rustup keep working without the caller's home
    full_env.setdefault("RUSTUP_HOME", os.path.expanduser("~/.rustup"))
    full_env.setdefault("CARGO_HOME", os.path.expanduser("~/.cargo"))
    full_env["HOME"] = "/nonexistent-rustimg-home"
    full_env.update(env or {})
    proc = subprocess.run([str(rustimg_bin()), *map(str, args)], input=stdin, capture_output=True, text=True,
                          env=full_env, timeout=600)
    record_output(proc.stdout, proc.stderr)  # searched for secrets by test_registry
    return proc


def skopeo_raw(ref, *flags):
    return subprocess.run(["skopeo", "inspect", "--raw", *flags, f"docker://{ref}"], capture_output=True,
                          check=True).stdout


def test_push_plain_http_and_podman_runs_it(rustimg, hello_layout, registry_plain, podman):
    layout, digest, _ = hello_layout
    ref = f"{registry_plain.host}/cli/hello:v1"
    proc = cli(rustimg, "push", f"oci:{layout}:v1", ref)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == f"{ref}@{digest}"
    assert "sha256:" + hashlib.sha256(skopeo_raw(ref, "--tls-verify=false")).hexdigest() == digest
    run(*podman, "pull", "--tls-verify=false", ref)
    out = run(*podman, "run", "--rm", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", ref).stdout
    assert "Hello from rustimg, world!" in out


def test_push_tls_basic_auth(rustimg, hello_layout, registry_tls):
    layout, digest, _ = hello_layout
    ref = f"{registry_tls.host}/cli/hello:v2"
    proc = cli(rustimg, "push", "--registry-ca", registry_tls.ca_file, "--username", registry_tls.user,
               f"oci:{layout}:v1", ref, stdin=registry_tls.password + "\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith(f"{ref}@{digest}")
    skopeo_raw(ref, *registry_tls.skopeo_flags())

    # a wrong password: an auth error naming registry and user, never the password
    proc = cli(rustimg, "push", "--registry-ca", registry_tls.ca_file, "--username", registry_tls.user,
               f"oci:{layout}:v1", ref, stdin="not-the-password\n")
    assert proc.returncode == 1, proc.stderr
    assert registry_tls.host in proc.stderr and registry_tls.user in proc.stderr
    assert "not-the-password" not in proc.stderr + proc.stdout

    # without the test CA, TLS verification fails and says what to check
    proc = cli(rustimg, "push", f"oci:{layout}:v1", ref)
    assert proc.returncode == 1
    assert "certificate" in proc.stderr.lower(), proc.stderr


def test_build_push_to_token_registry_from_docker_config(rustimg, hello_layout, registry_token, tmp_path):
    _, digest, crate = hello_layout
    config = tmp_path / "docker"
    config.mkdir()
    auth = base64.b64encode(f"{registry_token.user}:{registry_token.password}".encode()).decode()
    (config / "config.json").write_text(json.dumps({"auths": {registry_token.host: {"auth": auth}}}))
    ref = f"{registry_token.host}/cli/built:v1"
    proc = cli(rustimg, "build", crate, "--push", ref, env={"DOCKER_CONFIG": str(config), "SOURCE_DATE_EPOCH": ""})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[-2] == digest  # the same image as the layout build: reproducible
    assert lines[-1] == f"{ref}@{digest}"


def test_repush_uploads_nothing(rustimg, hello_layout, fault_proxy):
    layout, _, _ = hello_layout
    proxy = fault_proxy(rate=0.0)
    ref = f"{proxy.host}/cli/again:v1"
    assert cli(rustimg, "push", f"oci:{layout}:v1", ref).returncode == 0
    proxy.clear()
    proc = cli(rustimg, "push", f"oci:{layout}:v1", ref)
    assert proc.returncode == 0, proc.stderr
    reqs = [(r["method"], r["path"]) for r in proxy.requests()]
    # The image: one HEAD of its tag. Its SBOM and provenance: found in place
    # (HEAD by digest, the referrers API asked, the tag-schema index read).
    assert [r for r in reqs if r[1] != "/v2/"][0] == ("HEAD", "/v2/cli/again/manifests/v1"), reqs
    assert not [r for r in reqs if r[0] not in ("GET", "HEAD")], reqs  # nothing written
    assert not [r for r in reqs if "/blobs/" in r[1]], reqs
    counts = re.search(r"(\d+) blobs uploaded, (\d+) mounted, (\d+) already there", proc.stderr)
    assert counts and counts.groups()[:2] == ("0", "0") and int(counts[3]) >= 2, proc.stderr


def test_push_every_local_format_and_pull_back(rustimg, hello_layout, registry_plain, docker_engine, tmp_path):
    layout, digest, _ = hello_layout
    # from an OCI archive and a docker-archive written by skopeo
    run("skopeo", "copy", f"oci:{layout}:v1", f"oci-archive:{tmp_path / 'a.tar'}:v1")
    run("skopeo", "copy", f"oci:{layout}:v1", f"docker-archive:{tmp_path / 'd.tar'}:x/y:v1")
    proc = cli(rustimg, "push", f"oci-archive:{tmp_path / 'a.tar'}:v1", f"{registry_plain.host}/cli/arch:v1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith(digest)
    proc = cli(rustimg, "push", f"docker-archive:{tmp_path / 'd.tar'}", f"{registry_plain.host}/cli/dock:v1")
    assert proc.returncode == 0, proc.stderr
    skopeo_raw(f"{registry_plain.host}/cli/dock:v1", "--tls-verify=false")

    # pull into every format; the layout round-trips to the same digest
    ref = f"{registry_plain.host}/cli/arch:v1"
    proc = cli(rustimg, "pull", ref, "--output", f"oci:{tmp_path / 'pulled'}:v1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == digest
    run("oci-image-tool", "validate", "--type", "image", "--ref", "name=v1", tmp_path / "pulled")
    proc = cli(rustimg, "pull", ref, "--platform", "linux/amd64", "--output", f"docker-archive:{tmp_path / 'p.tar'}:p/q:v1")
    assert proc.returncode == 0, proc.stderr
    run("skopeo", "inspect", f"docker-archive:{tmp_path / 'p.tar'}")
    _, text, info = docker_engine.load_and_run(tmp_path / "p.tar")
    assert text.startswith("Hello from rustimg, world!\n"), text
    assert info["RepoTags"] == ["p/q:v1"]
    assert info["Id"] == json.loads(blob(layout, digest))["config"]["digest"]


def test_clear_errors_for_bad_targets(rustimg, hello_layout, tmp_path):
    layout, _, _ = hello_layout
    proc = cli(rustimg, "push", f"oci:{layout}:v1", "no-such-host.invalid/x/y:v1")
    assert proc.returncode == 1 and "no-such-host.invalid" in proc.stderr, proc.stderr
    proc = cli(rustimg, "push", f"oci:{layout}:nope", "127.0.0.1:1/x:v1")
    assert proc.returncode == 2 and "nope" in proc.stderr, proc.stderr
    proc = cli(rustimg, "push", f"oci:{layout}:v1", "Bad/Name")
    assert proc.returncode == 2 and "lower case" in proc.stderr, proc.stderr
    proc = cli(rustimg, "pull", "127.0.0.1:1/x:v1", "--output", f"oci:{tmp_path / 'o'}")
    assert proc.returncode == 1 and "127.0.0.1:1" in proc.stderr, proc.stderr
    assert not (tmp_path / "o").exists()


def test_image_on_registry_base_mounts_base_layers_and_runs(rustimg, hello_layout, registry_plain, podman):
    layout, _, crate = hello_layout
    base = f"{registry_plain.host}/base/hello:v1"
    assert cli(rustimg, "push", f"oci:{layout}:v1", base).returncode == 0
    binary = crate / "target" / "x86_64-unknown-linux-gnu" / "rustimg" / "hello"
    app = f"{registry_plain.host}/apps/hello:v2"
    proc = cli(rustimg, "build", "--binary", binary, "--base", base, "--entrypoint", "/app/hello",
               "--env", "GREETING=Hello on a base", "--push", app)
    assert proc.returncode == 0, proc.stderr
    # the base's two layers came from the base repository, only the app layer was uploaded
    assert "2 mounted" in proc.stderr, proc.stderr
    manifest = json.loads(skopeo_raw(app, "--tls-verify=false"))
    base_manifest = json.loads(skopeo_raw(base, "--tls-verify=false"))
    assert [l["digest"] for l in manifest["layers"][:2]] == [l["digest"] for l in base_manifest["layers"]]
    run(*podman, "pull", "--tls-verify=false", app)
    out = run(*podman, "run", "--rm", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", app).stdout
    assert "Hello on a base, world!" in out
    assert "exe=/app/hello" in out


@pytest.mark.parametrize("damage", ["symlink", "mismatch"])
def test_push_refuses_a_blob_that_is_not_its_own_file_before_sending_anything(rustimg, registry_plain, tmp_path,
                                                                              damage):
    """A layer blob that is a symbolic link (to a file outside the layout holding the very bytes its
    name promises), or a file whose content does not match its name: push refuses it, naming the
    file, and the registry receives no blob of the image."""
    layout = tmp_path / "layout"
    root = make_layout(layout, seed=1201 if damage == "symlink" else 1202, layers=3, tag="v1")
    blobs = layout / "blobs" / "sha256"
    manifest = json.loads((blobs / root["digest"][7:]).read_bytes())
    victim = blobs / manifest["layers"][1]["digest"][7:]
    data = victim.read_bytes()
    victim.unlink()
    if damage == "symlink":
        outside = tmp_path / "outside.bin"
        outside.write_bytes(data)
        victim.symlink_to(outside)
    else:
        victim.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    repo = f"refused/{damage}"
    proc = cli(rustimg, "push", f"oci:{layout}:v1", f"{registry_plain.host}/{repo}:v1")
    assert proc.returncode == 2, proc.stderr
    assert str(victim) in proc.stderr, proc.stderr
    storage = registry_plain.data_dir / "docker" / "registry" / "v2"
    assert not (storage / "repositories" / repo).exists(), "no upload was even started"
    for digest in [manifest["config"]["digest"]] + [l["digest"] for l in manifest["layers"]]:
        hexd = digest[7:]
        assert not (storage / "blobs" / "sha256" / hexd[:2] / hexd).exists(), digest
