"""Images on a base image pulled from a registry (issue 5, Build 4).

A base is built with rustimg itself (the example binary on the built-in
"static" base, with its own env, user, workdir, labels, entrypoint and cmd),
pushed to the plain-HTTP test registry with skopeo (as OCI, and converted to
Docker schema 2), and then used as `--base 127.0.0.1:PORT/repo:tag`. Oracles:
podman (load + run: what the app sees), skopeo inspect (layers, digests,
annotations) and the layout's own blobs.
"""
import hashlib
import json
from pathlib import Path

import pytest

from conftest import blob, podman_run, require_tool, run
from test_build import elf_fixtures, hello_binary  # noqa: F401  session fixtures: the example, ELF samples

BASE_ENV = {"GREETING": "Hi from the base", "APP_MODE": "base", "BASE_ONLY": "yes"}


def build(rustimg, *args):
    res = rustimg("build", *args, env={"SOURCE_DATE_EPOCH": ""})
    assert res.code == 0, res
    digest = res.out.strip().splitlines()[-1]
    assert digest.startswith("sha256:") and len(digest) == 71, res
    return digest, res


def skopeo_json(*args):
    return json.loads(run("skopeo", *args).stdout)


@pytest.fixture(scope="module")
def bases(rustimg, hello_binary, registry_plain, tmp_path_factory):  # noqa: F811
    """Pushes the base as base:v1 (OCI) and base-v2s2:v1 (Docker schema 2)."""
    require_tool("skopeo")
    work = tmp_path_factory.mktemp("base")
    layout = work / "layout"
    args = ["--binary", hello_binary, "--base", "static", "--user", "1000:1000", "--workdir", "/tmp",
            "--entrypoint", "/opt/base/hello", "--cmd", "base-arg", "--label", "base.label=kept",
            "--label", "shared.label=base", "--port", "9000"]
    for k, v in BASE_ENV.items():
        args += ["--env", f"{k}={v}"]
    build(rustimg, *args, "--output", f"oci:{layout}:v1")
    host = registry_plain.host
    run("skopeo", "copy", "--dest-tls-verify=false", f"oci:{layout}:v1", f"docker://{host}/base:v1")
    run("skopeo", "copy", "--dest-tls-verify=false", "--format", "v2s2", f"oci:{layout}:v1",
        f"docker://{host}/base-v2s2:v1")
    out = {}
    for name in ("base", "base-v2s2"):
        ref = f"{host}/{name}:v1"
        raw = skopeo_json("inspect", "--tls-verify=false", "--raw", f"docker://{ref}")
        info = skopeo_json("inspect", "--tls-verify=false", f"docker://{ref}")
        out[name] = {"ref": ref, "manifest": raw, "digest": info["Digest"], "layers": info["Layers"]}
    assert out["base-v2s2"]["manifest"]["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert out["base"]["manifest"]["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    return out


@pytest.mark.parametrize("name", ["base", "base-v2s2"])
def test_layers_are_the_base_layers_then_ours(rustimg, hello_binary, bases, name, tmp_path):  # noqa: F811
    base = bases[name]
    layout = tmp_path / "img"
    digest, res = build(rustimg, "--binary", hello_binary, "--base", base["ref"], "--output", f"oci:{layout}:latest")
    assert "[pull]" in res.err, res

    info = skopeo_json("inspect", f"oci:{layout}:latest")
    assert info["Digest"] == digest
    assert info["Layers"][:-1] == base["layers"], "the base's layers, same digests (never recompressed)"
    assert len(info["Layers"]) == len(base["layers"]) + 1  # + the app layer; no built-in base layer

    manifest = json.loads(blob(layout, digest))
    # A Docker schema 2 base gives OCI media types in an OCI layout.
    assert all(l["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip" for l in manifest["layers"]), manifest
    for ours, theirs in zip(manifest["layers"], base["manifest"]["layers"]):
        assert (ours["digest"], ours["size"]) == (theirs["digest"], theirs["size"])
        assert len(blob(layout, ours["digest"])) == theirs["size"]
    assert manifest["annotations"]["org.opencontainers.image.base.name"] == base["ref"]
    assert manifest["annotations"]["org.opencontainers.image.base.digest"] == base["digest"]

    config = json.loads(blob(layout, manifest["config"]["digest"]))
    base_config = skopeo_json("inspect", "--tls-verify=false", "--config", f"docker://{base['ref']}")
    assert config["rootfs"]["diff_ids"][:-1] == base_config["rootfs"]["diff_ids"]
    assert config["history"][:-1] == base_config["history"]
    assert config["history"][-1]["created_by"] == "rustimg: app /usr/local/bin/hello"
    assert config["config"]["Entrypoint"] == ["/usr/local/bin/hello"]
    assert "Cmd" not in config["config"]  # the base's cmd was for its own entrypoint
    assert config["config"]["Labels"]["base.label"] == "kept"
    assert "9000/tcp" in config["config"]["ExposedPorts"]

    # Reproducible: same base digest + same inputs = same image digest.
    again, _ = build(rustimg, "--binary", hello_binary, "--base", base["ref"], "--output",
                     f"oci:{tmp_path / 'again'}:latest")
    assert again == digest


def test_base_config_is_kept_where_the_spec_is_silent(rustimg, hello_binary, bases, podman, docker_engine,  # noqa: F811
                                                      tmp_path):
    archive = tmp_path / "onbase.tar"
    build(rustimg, "--binary", hello_binary, "--base", bases["base"]["ref"], "--env", "APP_MODE=ours",
          "--label", "shared.label=ours", "--output", f"docker-archive:{archive}:test/onbase:v1")
    p = podman
    run(*p, "load", "-i", archive)
    facts, text = podman_run(p, "test/onbase:v1")
    assert text.startswith("Hi from the base, world!\n"), text  # GREETING from the base's Env
    assert facts["uid"] == "1000" and facts["gid"] == "1000", text  # the base's User
    assert facts["cwd"] == "/tmp", text  # the base's WorkingDir
    assert facts["exe"] == "/usr/local/bin/hello", text  # the app is the entrypoint
    assert facts["args"] == "[]", text  # the base's Cmd is dropped
    assert facts["env.APP_MODE"] == "ours", text  # merged by name, ours wins
    assert facts["env.SSL_CERT_FILE"] == "/etc/ssl/certs/ca-certificates.crt", text  # the base's
    assert facts["ca_bundle"] == "present", text  # a file from the base's layers
    inspect = json.loads(run(*p, "image", "inspect", "test/onbase:v1").stdout)[0]
    assert "BASE_ONLY=yes" in inspect["Config"]["Env"]
    assert inspect["Config"]["Labels"]["base.label"] == "kept"
    assert inspect["Config"]["Labels"]["shared.label"] == "ours"
    _, docker_text, docker_inspect = docker_engine.load_and_run(archive)
    assert docker_text == text
    assert docker_inspect["Config"]["Labels"] == inspect["Config"]["Labels"]


def test_spec_overrides_the_base_config(rustimg, hello_binary, bases, podman, docker_engine, tmp_path):  # noqa: F811
    """On the Docker schema 2 base, written with Docker media types."""
    archive = tmp_path / "override.tar"
    build(rustimg, "--binary", hello_binary, "--base", bases["base-v2s2"]["ref"], "--user", "2000:3000",
          "--workdir", "/", "--env", "GREETING=Overridden", "--cmd", "ours", "--format", "docker",
          "--output", f"docker-archive:{archive}:test/override:v1")
    p = podman
    run(*p, "load", "-i", archive)
    facts, text = podman_run(p, "test/override:v1")
    assert text.startswith("Overridden, world!\n"), text
    assert facts["uid"] == "2000" and facts["gid"] == "3000", text
    assert facts["cwd"] == "/", text
    assert facts["args"] == '["ours"]', text
    assert facts["env.APP_MODE"] == "base", text
    assert facts["ca_bundle"] == "present", text
    _, docker_text, _ = docker_engine.load_and_run(archive)
    assert docker_text == text


def test_missing_base_is_a_clear_error(rustimg, hello_binary, registry_plain, tmp_path):  # noqa: F811
    ref = f"{registry_plain.host}/nothing-here:v1"
    out = tmp_path / "never"
    res = rustimg("build", "--binary", hello_binary, "--base", ref, "--output", f"oci:{out}:latest")
    assert res.code == 2, res
    assert f"base image {ref}" in res.err, res
    assert "--base" in res.err, res  # says what to check
    assert not out.exists() or not any(out.iterdir()), "nothing is written"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "staging is cleaned up"


def test_multi_platform_base_gives_each_platform_its_base(rustimg, hello_binary, elf_fixtures, registry_plain,
                                                          tmp_path):  # noqa: F811
    """An index base: every platform is built on the base's image for that platform."""
    arm64 = elf_fixtures / "aarch64-static"
    base_layout = tmp_path / "base"
    build(rustimg, "--binary", hello_binary, "--platform", "linux/amd64", "--binary", arm64, "--platform",
          "linux/arm64", "--env", "FROM=multibase", "--output", f"oci:{base_layout}:v1")
    ref = f"{registry_plain.host}/multibase:v1"
    run("skopeo", "copy", "--all", "--dest-tls-verify=false", f"oci:{base_layout}:v1", f"docker://{ref}")
    raw_index = run("skopeo", "inspect", "--tls-verify=false", "--raw", f"docker://{ref}").stdout.encode()
    base_index = json.loads(raw_index)
    assert base_index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    base_index_digest = "sha256:" + hashlib.sha256(raw_index).hexdigest()
    base_children = {m["platform"]["architecture"]: m["digest"] for m in base_index["manifests"]}

    out = tmp_path / "img"
    digest, _ = build(rustimg, "--binary", hello_binary, "--platform", "linux/amd64", "--binary", arm64,
                      "--platform", "linux/arm64", "--base", ref, "--output", f"oci:{out}:latest")
    index = json.loads(blob(out, digest))
    assert index["annotations"]["org.opencontainers.image.base.name"] == ref
    assert len(index["manifests"]) == 2
    for child in index["manifests"]:
        arch = child["platform"]["architecture"]
        manifest = json.loads(blob(out, child["digest"]))
        base_manifest = json.loads(blob(base_layout, base_children[arch]))
        assert manifest["layers"][:-1] == base_manifest["layers"], arch
        assert manifest["annotations"]["org.opencontainers.image.base.digest"] == base_children[arch], arch
        config = json.loads(blob(out, manifest["config"]["digest"]))
        assert config["architecture"] == arch
        assert "FROM=multibase" in config["config"]["Env"]
    # The index records what the reference resolved to: the base's index.
    assert index["annotations"]["org.opencontainers.image.base.digest"] == base_index_digest

    # One platform from the same base: the amd64 manifest is picked from the index.
    single = tmp_path / "single"
    digest, _ = build(rustimg, "--binary", hello_binary, "--base", ref, "--output", f"oci:{single}:latest")
    manifest = json.loads(blob(single, digest))
    assert manifest["annotations"]["org.opencontainers.image.base.digest"] == base_children["amd64"]

    # A platform the base does not offer: a clear error naming both.
    res = rustimg("build", "--binary", elf_fixtures / "riscv64-static", "--base", ref, "--output",
                  f"oci:{tmp_path / 'riscv'}:latest")
    assert res.code == 2, res
    assert f"base image {ref} for linux/riscv64" in res.err and "linux/amd64" in res.err, res


def test_base_blobs_are_cached_between_builds(rustimg, hello_binary, bases, fault_proxy, registry_plain,
                                              tmp_path):  # noqa: F811
    """A base's layers are downloaded once; a damaged cache entry is noticed and fetched again."""
    proxy = fault_proxy(upstream=registry_plain)
    ref = f"{proxy.host}/base:v1"
    cache = tmp_path / "cache"
    layers = [d["digest"] for d in bases["base"]["manifest"]["layers"]]

    def build_once(name, *extra):
        proxy.clear()
        res = rustimg("build", "--binary", hello_binary, "--base", ref, *extra, "--output",
                      f"oci:{tmp_path / name}:v1", env={"SOURCE_DATE_EPOCH": "", "RUSTIMG_CACHE_DIR": str(cache)})
        assert res.code == 0, res
        gets = [r["path"].rsplit("/", 1)[-1] for r in proxy.requests()
                if r["method"] == "GET" and "/blobs/" in r["path"]]
        return res.out.strip().splitlines()[-1], [g for g in gets if g in layers]

    first, fetched = build_once("first")
    assert sorted(fetched) == sorted(layers)
    cached = {p.name for p in (cache / "blobs" / "sha256").iterdir()}
    assert {d.split(":", 1)[1] for d in layers} <= cached

    second, fetched = build_once("second")
    assert fetched == [] and second == first

    # A cache entry that no longer matches its digest is replaced by a fresh download.
    victim = cache / "blobs" / "sha256" / layers[0].split(":", 1)[1]
    victim.unlink()
    victim.write_bytes(b"not the layer")
    third, fetched = build_once("third")
    assert fetched == [layers[0]] and third == first
    assert "sha256:" + hashlib.sha256(victim.read_bytes()).hexdigest() == layers[0]

    # Without the cache every layer is downloaded again.
    fourth, fetched = build_once("fourth", "--no-base-cache")
    assert sorted(fetched) == sorted(layers) and fourth == first


def test_damaging_the_cache_never_changes_a_written_image(rustimg, hello_binary, bases, tmp_path):  # noqa: F811
    """The cache's files are never an image's files: writing into cached base blobs after two builds
    (one that filled the cache, one that read from it) leaves both images intact."""
    cache = tmp_path / "cache"
    layers = [d["digest"] for d in bases["base"]["manifest"]["layers"]]
    outs = []
    for name in ("filled", "reused"):
        out = tmp_path / name
        res = rustimg("build", "--binary", hello_binary, "--base", bases["base"]["ref"], "--output", f"oci:{out}:v1",
                      env={"SOURCE_DATE_EPOCH": "", "RUSTIMG_CACHE_DIR": str(cache)})
        assert res.code == 0, res
        outs.append(out)
    for digest in layers:
        with open(cache / "blobs" / "sha256" / digest[7:], "r+b") as f:  # in place: a disk error, a careless tool
            f.write(b"damage")
            f.seek(0, 2)
            f.write(b"more")
    for out in outs:
        for digest in layers:
            assert "sha256:" + hashlib.sha256(blob(out, digest)).hexdigest() == digest, (out.name, digest)
        res = run("oci-image-tool", "validate", "--type", "image", "--ref", "name=v1", out)
        assert "Validation succeeded" in res.stdout + res.stderr
