"""rustimg build: the example crate becomes an image that real tools accept
(oci-image-tool, umoci, skopeo, podman + runc), byte-for-byte reproducibly."""
import gzip
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from conftest import (EXAMPLE, ROOT, assert_runs_the_example, blob, layout_images, podman_run, require_tool, run,
                      rustimg_bin, validate_with_oci_image_tool)
TRIPLE = "x86_64-unknown-linux-gnu"
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")


@pytest.fixture(scope="session")
def hello_binary(tmp_path_factory):
    """The example crate, built once per session as a static-pie gnu binary."""
    require_tool("cargo")
    target_dir = tmp_path_factory.mktemp("cargo-target")
    run("cargo", "build", "--release", "--locked", "--manifest-path", EXAMPLE / "Cargo.toml",
        "--target", TRIPLE, "--target-dir", target_dir,
        "--config", f'target.{TRIPLE}.rustflags=["-C","target-feature=+crt-static"]', timeout=900)
    binary = target_dir / TRIPLE / "release" / "hello"
    assert binary.is_file()
    return binary


def build(rustimg, binary, output, *extra, env=None, cwd=None):
    """Runs rustimg build (with the example crate's metadata) and returns the digest."""
    res = rustimg("build", "--binary", binary, "--crate", EXAMPLE, *extra, "--output", output,
                  env={"SOURCE_DATE_EPOCH": "", **(env or {})}, cwd=cwd)
    assert res.code == 0, res
    digest = res.out.strip().splitlines()[-1]
    assert digest.startswith("sha256:") and len(digest) == 71, res
    assert "[verify]" in res.err and "static-pie" in res.err, res  # progress goes to stderr
    return digest


def manifest_and_config(layout: Path, digest: str):
    manifest = json.loads(blob(layout, digest))
    config = json.loads(blob(layout, manifest["config"]["digest"]))
    return manifest, config


@pytest.fixture(scope="session")
def hello_layout(rustimg, hello_binary, tmp_path_factory):
    out = tmp_path_factory.mktemp("layout") / "hello"
    digest = build(rustimg, hello_binary, f"oci:{out}:latest")
    return out, digest


@pytest.fixture(scope="session")
def custom_spec(tmp_path_factory):
    """A spec file that sets every field the container can observe."""
    d = tmp_path_factory.mktemp("spec")
    spec = d / "rustimg.json"
    spec.write_text(json.dumps({
        "user": "1000:1001",
        "workdir": "/tmp",
        "entrypoint": ["/app/hello", "--from-entrypoint"],
        "cmd": ["from-cmd"],
        "env": {"APP_MODE": "test"},
        "labels": {"com.example.team": "rustimg"},
    }))
    return spec


# --- the oracles -------------------------------------------------------------------

def test_oci_image_tool_validates_layout(hello_layout):
    require_tool("oci-image-tool")
    out, _ = hello_layout
    res = run("oci-image-tool", "validate", "--type", "image", "--ref", "name=latest", out)
    assert "Validation succeeded" in res.stdout + res.stderr
    assert "imageLayout" in res.stdout + res.stderr


def test_umoci_unpack_checks_diff_ids_and_runtime_config(hello_layout, tmp_path):
    require_tool("umoci")
    out, _ = hello_layout
    bundle = tmp_path / "bundle"
    run("umoci", "unpack", "--rootless", "--image", f"{out}:latest", bundle)
    cfg = json.loads((bundle / "config.json").read_text())
    assert cfg["process"]["args"] == ["/usr/local/bin/hello"]
    assert cfg["process"]["user"]["uid"] == 65532 and cfg["process"]["user"]["gid"] == 65532
    assert cfg["process"]["cwd"] == "/"
    env = cfg["process"]["env"]
    assert "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" in env
    assert "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt" in env
    assert "GREETING=Hello from rustimg" in env  # from [package.metadata.rustimg]
    rootfs = bundle / "rootfs"
    assert (rootfs / "usr/local/bin/hello").stat().st_mode & 0o777 == 0o755
    assert "nonroot:x:65532:65532" in (rootfs / "etc/passwd").read_text()
    assert (rootfs / "etc/nsswitch.conf").read_text() == "hosts: files dns\n"
    assert (rootfs / "tmp").stat().st_mode & 0o7777 == 0o1777
    assert (rootfs / "etc/ssl/certs/ca-certificates.crt").read_bytes() == HOST_CA.read_bytes()


def test_skopeo_inspect_and_digest(hello_layout):
    require_tool("skopeo")
    out, digest = hello_layout
    info = json.loads(run("skopeo", "inspect", f"oci:{out}:latest").stdout)
    assert info["Digest"] == digest
    assert info["Architecture"] == "amd64" and info["Os"] == "linux"
    assert info["Created"] == "1970-01-01T00:00:00Z"
    raw = run("skopeo", "inspect", "--raw", f"oci:{out}:latest").stdout.encode()
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == digest
    manifest = json.loads(raw)
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert manifest["annotations"]["org.opencontainers.image.created"] == "1970-01-01T00:00:00Z"
    assert manifest["annotations"]["org.opencontainers.image.title"] == "hello"
    assert manifest["annotations"]["org.opencontainers.image.version"] == "0.1.0"  # from Cargo.toml
    assert info["Labels"]["org.opencontainers.image.version"] == "0.1.0"


def test_skopeo_copies_between_our_formats(rustimg, hello_binary, hello_layout, docker_engine, tmp_path):
    require_tool("skopeo")
    out, digest = hello_layout
    oci_archive = tmp_path / "img.oci.tar"
    docker_archive = tmp_path / "img.docker.tar"
    assert build(rustimg, hello_binary, f"oci-archive:{oci_archive}:latest") == digest
    assert build(rustimg, hello_binary, f"docker-archive:{docker_archive}:test/hello:v1") == digest

    # Our OCI archive -> OCI layout keeps the manifest bytes.
    run("skopeo", "copy", f"oci-archive:{oci_archive}:latest", f"oci:{tmp_path / 'copy1'}:v1")
    assert json.loads(run("skopeo", "inspect", f"oci:{tmp_path / 'copy1'}:v1").stdout)["Digest"] == digest
    # Our docker-archive is readable and carries the same config.
    info = json.loads(run("skopeo", "inspect", f"docker-archive:{docker_archive}").stdout)
    assert info["Architecture"] == "amd64"
    run("skopeo", "copy", f"docker-archive:{docker_archive}", f"oci:{tmp_path / 'copy2'}:v1")
    manifest, config = manifest_and_config(out, digest)
    # Docker Engine loads it as the same config and runs it.
    _, text, loaded = docker_engine.load_and_run(docker_archive)
    assert loaded["Id"] == manifest["config"]["digest"]
    assert text.startswith("Hello from rustimg, world!\n"), text
    cfg2 = json.loads(run("skopeo", "inspect", "--config", f"oci:{tmp_path / 'copy2'}:v1").stdout)
    assert cfg2["rootfs"]["diff_ids"] == config["rootfs"]["diff_ids"]
    assert cfg2["config"] == config["config"]
    # Our layout -> docker-archive and back.
    run("skopeo", "copy", f"oci:{out}:latest", f"docker-archive:{tmp_path / 'sk.tar'}:test/hello:v2")
    run("skopeo", "copy", f"docker-archive:{tmp_path / 'sk.tar'}", f"oci-archive:{tmp_path / 'sk.oci.tar'}:v2")
    run("skopeo", "inspect", f"oci-archive:{tmp_path / 'sk.oci.tar'}:v2")


# --- running it -------------------------------------------------------------------

def test_podman_and_docker_run_docker_archive(rustimg, hello_binary, podman, docker_engine, tmp_path):
    archive = tmp_path / "hello.docker.tar"
    build(rustimg, hello_binary, f"docker-archive:{archive}:test/hello:v1")
    p = podman
    assert "test/hello:v1" in run(*p, "load", "-i", archive).stdout
    facts, text = podman_run(p, "test/hello:v1")
    _, docker_text, info = docker_engine.load_and_run(archive)
    assert info["RepoTags"] == ["test/hello:v1"]
    assert docker_text == text
    assert_runs_the_example(facts, text)


def test_podman_runs_oci_archive_with_spec_settings(rustimg, hello_binary, custom_spec, podman, tmp_path):
    archive = tmp_path / "hello.oci.tar"
    build(rustimg, hello_binary, f"oci-archive:{archive}:test/custom:v2", "--spec", custom_spec,
          "--env", "FROM_FLAG=yes")
    p = podman
    run(*p, "load", "-i", archive)
    facts, text = podman_run(p, "test/custom:v2")
    assert text.startswith("Hello from rustimg, world!\n"), text
    assert facts["uid"] == "1000" and facts["gid"] == "1001", text
    assert facts["cwd"] == "/tmp", text
    assert facts["exe"] == "/app/hello", text
    assert facts["args"] == '["--from-entrypoint", "from-cmd"]', text
    assert facts["env.APP_MODE"] == "test", text
    inspect = json.loads(run(*p, "image", "inspect", "test/custom:v2").stdout)[0]
    assert "FROM_FLAG=yes" in inspect["Config"]["Env"]
    assert inspect["Config"]["Labels"]["com.example.team"] == "rustimg"


# --- reproducibility ----------------------------------------------------------------

def test_same_inputs_same_digest_anywhere_anytime(rustimg, hello_binary, tmp_path):
    digests, layouts = [], []
    for i, stamp in enumerate([1_000_000_000, 1_700_000_000]):
        work = tmp_path / f"work{i}" / ("deeper" * (i + 1))
        crate = work / "crate"
        crate.mkdir(parents=True)
        shutil.copy(hello_binary, work / "hello")
        (crate / "static").mkdir()
        (crate / "static" / "index.html").write_text("<h1>hi</h1>\n")
        (crate / "rustimg.json").write_text(json.dumps({
            "bin": "hello", "assets": [{"source": "static/*.html", "dest": "/srv/www/"}]}))
        for f in [work / "hello", crate / "static" / "index.html", crate / "rustimg.json"]:
            os.utime(f, (stamp, stamp))
        res = rustimg("build", "--binary", work / "hello", "--spec", crate / "rustimg.json",
                      "--output", f"oci:{work / 'out'}:latest", cwd=work, env={"SOURCE_DATE_EPOCH": ""})
        assert res.code == 0, res
        digests.append(res.out.strip().splitlines()[-1])
        layouts.append(work / "out")
        time.sleep(1.1)
    assert digests[0] == digests[1]
    assert (layouts[0] / "index.json").read_bytes() == (layouts[1] / "index.json").read_bytes()
    manifest, _ = manifest_and_config(layouts[0], digests[0])
    for layer in manifest["layers"]:
        assert blob(layouts[0], layer["digest"]) == blob(layouts[1], layer["digest"])


def mask_times(doc):
    if isinstance(doc, dict):
        return {k: ("TIME" if k in ("created", "org.opencontainers.image.created") else mask_times(v))
                for k, v in doc.items()}
    if isinstance(doc, list):
        return [mask_times(v) for v in doc]
    return doc


def layer_members(layout, desc):
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob(layout, desc["digest"])))) as tf:
        return [(m.name, m.type, m.mode, m.uid, m.gid, m.uname, m.gname, m.size, m.linkname, m.mtime,
                 tf.extractfile(m).read() if m.isfile() else None) for m in tf.getmembers()]


def test_source_date_epoch_changes_only_time_fields(rustimg, hello_binary, tmp_path):
    sde = 1_700_000_000
    a = build(rustimg, hello_binary, f"oci:{tmp_path / 'a'}:latest")
    b = build(rustimg, hello_binary, f"oci:{tmp_path / 'b'}:latest", env={"SOURCE_DATE_EPOCH": str(sde)})
    assert a != b
    ma, ca = manifest_and_config(tmp_path / "a", a)
    mb, cb = manifest_and_config(tmp_path / "b", b)
    assert cb["created"] == "2023-11-14T22:13:20Z"
    assert mb["annotations"]["org.opencontainers.image.created"] == "2023-11-14T22:13:20Z"
    assert all(h["created"] == "2023-11-14T22:13:20Z" for h in cb["history"])
    ca.pop("rootfs"), cb.pop("rootfs")  # diff_ids differ through the tar mtimes, checked below
    assert mask_times(ca) == mask_times(cb)
    for la, lb in zip(ma["layers"], mb["layers"]):
        members_a, members_b = layer_members(tmp_path / "a", la), layer_members(tmp_path / "b", lb)
        assert all(m[9] == 0 for m in members_a)
        assert all(m[9] == sde for m in members_b)
        assert [m[:9] + m[10:] for m in members_a] == [m[:9] + m[10:] for m in members_b]
    assert mask_times({k: v for k, v in ma.items() if k not in ("config", "layers")}) == \
        mask_times({k: v for k, v in mb.items() if k not in ("config", "layers")})


def test_invalid_source_date_epoch_is_an_error(rustimg, hello_binary, tmp_path):
    res = rustimg("build", "--binary", hello_binary, "--output", f"oci:{tmp_path / 'x'}",
                  env={"SOURCE_DATE_EPOCH": "yesterday"})
    assert res.code == 2, res
    assert "SOURCE_DATE_EPOCH" in res.err


# --- size, layout handling, refusal ----------------------------------------------

def test_image_is_no_larger_than_its_compressed_parts(hello_binary, hello_layout):
    out, digest = hello_layout
    manifest = json.loads(blob(out, digest))
    total = len(blob(out, digest)) + manifest["config"]["size"] + sum(l["size"] for l in manifest["layers"])
    budget = len(gzip.compress(hello_binary.read_bytes(), 6, mtime=0)) + \
        len(gzip.compress(HOST_CA.read_bytes(), 6, mtime=0)) + 16 * 1024
    assert total <= budget, f"image {total} bytes > budget {budget}"


def test_layout_keeps_other_tags(rustimg, hello_binary, custom_spec, tmp_path):
    require_tool("skopeo")
    out = tmp_path / "shared"
    first = build(rustimg, hello_binary, f"oci:{out}:one")
    second = build(rustimg, hello_binary, f"oci:{out}:two", "--spec", custom_spec)
    assert first != second
    again = build(rustimg, hello_binary, f"oci:{out}:one", "--user", "4242")
    tags = {m["annotations"]["org.opencontainers.image.ref.name"]: m["digest"] for m in layout_images(out)}
    assert tags == {"one": again, "two": second}
    for tag, digest in tags.items():
        assert json.loads(run("skopeo", "inspect", f"oci:{out}:{tag}").stdout)["Digest"] == digest
    assert not [p for p in out.rglob(".rustimg-*")]
    assert not [p for p in tmp_path.glob(".rustimg-*")]  # staging removed


def test_dynamic_binary_refused_on_scratch(rustimg, tmp_path):
    dynamic = Path("/bin/true")
    out = tmp_path / "dyn"
    res = rustimg("build", "--binary", dynamic, "--base", "scratch", "--output", f"oci:{out}")
    assert res.code == 1, res
    assert "/bin/true" in res.err and "--allow-dynamic" in res.err and "crt-static" in res.err, res
    assert "interpreter" in res.err or "dynamic" in res.err, res
    assert res.out == ""
    assert not (out / "index.json").exists()

    res = rustimg("build", "--binary", dynamic, "--base", "scratch", "--allow-dynamic", "--output", f"oci:{out}")
    assert res.code == 0, res
    assert res.out.strip().startswith("sha256:")
    manifest = json.loads(blob(out, res.out.strip()))
    assert len(manifest["layers"]) == 1  # scratch: the binary only


def test_bad_output_and_missing_binary(rustimg, hello_binary, tmp_path):
    res = rustimg("build", "--binary", hello_binary, "--output", "docker://example.com/x")
    assert res.code == 2 and "oci:DIR" in res.err, res
    res = rustimg("build", "--binary", tmp_path / "nope", "--output", f"oci:{tmp_path / 'o'}")
    assert res.code == 2 and str(tmp_path / "nope") in res.err, res
    res = rustimg("build", "--output", f"oci:{tmp_path / 'o'}")
    assert res.code == 2 and "--binary" in res.err, res


def test_docker_format(rustimg, hello_binary, docker_engine, tmp_path):
    require_tool("skopeo")
    archive = tmp_path / "docker-format.tar"
    build(rustimg, hello_binary, f"docker-archive:{archive}:test/docker:v1", "--format", "docker")
    info = json.loads(run("skopeo", "inspect", f"docker-archive:{archive}").stdout)
    assert info["Architecture"] == "amd64"
    _, text, _ = docker_engine.load_and_run(archive)
    assert text.startswith("Hello from rustimg, world!\n"), text
    res = rustimg("build", "--binary", hello_binary, "--format", "docker", "--output", f"oci:{tmp_path / 'l'}")
    assert res.code == 2 and "use the oci format" in res.err, res


@pytest.fixture(scope="session")
def elf_fixtures(tmp_path_factory):
    out = tmp_path_factory.mktemp("elf")
    run("bash", ROOT / "tests" / "fixtures" / "elf" / "make_fixtures.sh", out, timeout=900)
    return out


def test_several_platforms_make_an_index(rustimg, hello_binary, elf_fixtures, tmp_path):
    require_tool("skopeo")
    require_tool("oci-image-tool")
    out = tmp_path / "multi"
    arm64 = elf_fixtures / "aarch64-static"
    digest = build(rustimg, hello_binary, f"oci:{out}:multi", "--platform", "linux/amd64",
                   "--binary", arm64, "--platform", "linux/arm64")
    index = json.loads(blob(out, digest))
    assert index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert [m["platform"] for m in index["manifests"]] == [
        {"architecture": "amd64", "os": "linux"}, {"architecture": "arm64", "os": "linux", "variant": "v8"}]
    assert index["annotations"]["org.opencontainers.image.created"] == "1970-01-01T00:00:00Z"
    validate_with_oci_image_tool(out, tmp_path)
    raw = run("skopeo", "inspect", "--raw", f"oci:{out}:multi").stdout.encode()
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == digest
    info = json.loads(run("skopeo", "--override-arch", "arm64", "inspect", f"oci:{out}:multi").stdout)
    assert info["Architecture"] == "arm64"
    arm_manifest, arm_config = manifest_and_config(out, index["manifests"][1]["digest"])
    assert arm_config["architecture"] == "arm64" and arm_config["variant"] == "v8"
    amd_manifest, amd_config = manifest_and_config(out, index["manifests"][0]["digest"])
    assert arm_config["config"]["Entrypoint"] == amd_config["config"]["Entrypoint"] == ["/usr/local/bin/hello"]
    # The base layer is shared, the app layer is per platform.
    assert arm_manifest["layers"][0] == amd_manifest["layers"][0]
    assert arm_manifest["layers"][-1] != amd_manifest["layers"][-1]

    res = rustimg("build", "--binary", hello_binary, "--binary", arm64,
                  "--output", f"docker-archive:{tmp_path / 'd.tar'}")
    assert res.code == 2 and "one platform" in res.err, res
    res = rustimg("build", "--binary", arm64, "--platform", "linux/amd64", "--output", f"oci:{tmp_path / 'm'}")
    assert res.code == 1 and "does not match platform linux/amd64" in res.err, res


def big_asset_crate(path: Path, mib: int) -> Path:
    """A crate directory whose spec adds an incompressible asset of `mib` MiB."""
    path.mkdir(parents=True)
    with open(path / "big.bin", "wb") as f:
        for _ in range(mib):
            f.write(os.urandom(1 << 20))
    (path / "rustimg.json").write_text(json.dumps(
        {"bin": "hello", "assets": [{"source": "big.bin", "dest": "/data/"}]}))
    return path / "rustimg.json"


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_interrupted_build_leaves_previous_state(rustimg, hello_binary, tmp_path, sig):
    require_tool("skopeo")
    require_tool("oci-image-tool")
    out = tmp_path / "layout"
    before = build(rustimg, hello_binary, f"oci:{out}:latest")
    index_before = (out / "index.json").read_bytes()
    spec = big_asset_crate(tmp_path / "crate", 256)

    proc = subprocess.Popen([str(rustimg_bin()), "build", "--binary", str(hello_binary), "--spec", str(spec),
                             "--output", f"oci:{out}:latest"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.time() + 60
    while not list(out.glob(".rustimg-staging-*/blobs/sha256/.rustimg-tmp-*")):  # mid-way through a layer
        assert proc.poll() is None and time.time() < deadline, "build finished before it could be interrupted"
        time.sleep(0.02)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=120)
    if sig == signal.SIGINT:
        assert proc.returncode == 130, stderr
        assert "cancelled" in stderr
        assert not list(out.glob(".rustimg-*")), "a cancelled build must clean up after itself"
    else:
        assert proc.returncode == -signal.SIGKILL
    assert stdout == ""
    assert (out / "index.json").read_bytes() == index_before
    assert json.loads(run("skopeo", "inspect", f"oci:{out}:latest").stdout)["Digest"] == before
    validate_with_oci_image_tool(out, tmp_path)

    # The next build completes and replaces the tag.
    res = rustimg("build", "--binary", hello_binary, "--spec", spec, "--output", f"oci:{out}:latest")
    assert res.code == 0, res
    after = res.out.strip()
    assert after != before
    assert json.loads(run("skopeo", "inspect", f"oci:{out}:latest").stdout)["Digest"] == after


def test_zstd_layers_run(rustimg, hello_binary, podman, tmp_path):
    archive = tmp_path / "zstd.oci.tar"
    build(rustimg, hello_binary, f"oci-archive:{archive}:test/zstd:v1", "--compression", "zstd")
    with tarfile.open(archive) as tf:
        index = json.load(tf.extractfile("index.json"))
        manifest = json.load(tf.extractfile("blobs/sha256/" + index["manifests"][0]["digest"].split(":")[1]))
    assert {l["mediaType"] for l in manifest["layers"]} == {"application/vnd.oci.image.layer.v1.tar+zstd"}
    run(*podman, "load", "-i", archive)
    facts, text = podman_run(podman, "test/zstd:v1")
    assert text.startswith("Hello from rustimg, world!\n") and facts["uid"] == "65532", text


def test_compression_level_shapes_layers_not_content(rustimg, hello_binary, tmp_path):
    """--compression-level picks zlib's level: other bytes, the same tar (diff_id), a valid image."""
    layers = {}
    for level in ("1", "9"):
        out = tmp_path / f"level{level}"
        digest = build(rustimg, hello_binary, f"oci:{out}:v1", "--compression-level", level)
        manifest, config = manifest_and_config(out, digest)
        layers[level] = (manifest["layers"], config["rootfs"]["diff_ids"])
        res = run("oci-image-tool", "validate", "--type", "image", "--ref", "name=v1", out)
        assert "Validation succeeded" in res.stdout + res.stderr
    (fast, fast_ids), (best, best_ids) = layers["1"], layers["9"]
    assert fast_ids == best_ids
    assert [l["digest"] for l in fast] != [l["digest"] for l in best]
    assert sum(l["size"] for l in fast) > sum(l["size"] for l in best)
    # The gzip header says which end of the scale made it (XFL: 4 fastest, 2 best).
    big = max(range(len(fast)), key=lambda i: fast[i]["size"])
    assert blob(tmp_path / "level1", fast[big]["digest"])[8] == 4
    assert blob(tmp_path / "level9", best[big]["digest"])[8] == 2

    res = rustimg("build", "--binary", hello_binary, "--compression-level", "12",
                  "--output", f"oci:{tmp_path / 'bad'}")
    assert res.code == 2 and "compression-level" in res.err and "gzip levels are 1 to 9, got 12" in res.err, res
    assert not (tmp_path / "bad").exists()
    res = rustimg("build", "--binary", hello_binary, "--compression-level", "fast",
                  "--output", f"oci:{tmp_path / 'bad'}")
    assert res.code == 2 and "between 1 and 19" in res.err and '"fast"' in res.err, res


def test_concurrent_builds_into_one_layout_keep_every_tag(hello_binary, tmp_path):
    """Builds writing different tags into one layout at the same time (a new layout, and one that
    exists): every tag ends up in index.json, naming that build's image, and the layout validates."""
    require_tool("skopeo")
    require_tool("oci-image-tool")
    tags = [f"t{i}" for i in range(4)]
    env = dict(os.environ, SOURCE_DATE_EPOCH="", RUSTIMG_CACHE_DIR="")
    for rnd in range(10):
        out = tmp_path / f"layout{rnd}"
        expected = {}
        if rnd % 2:
            proc = subprocess.run([str(rustimg_bin()), "build", "--binary", str(hello_binary), "--crate", str(EXAMPLE),
                                   "--output", f"oci:{out}:seed"], capture_output=True, text=True, env=env)
            assert proc.returncode == 0, proc.stderr
            expected["seed"] = proc.stdout.strip().splitlines()[-1]
        procs = {tag: subprocess.Popen([str(rustimg_bin()), "build", "--binary", str(hello_binary), "--crate",
                                        str(EXAMPLE), "--env", f"TAG={tag}", "--output", f"oci:{out}:{tag}"],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                 for tag in tags}
        for tag, proc in procs.items():
            stdout, stderr = proc.communicate(timeout=300)
            assert proc.returncode == 0, f"round {rnd}, {tag}: {stderr}"
            expected[tag] = stdout.strip().splitlines()[-1]
        assert len(set(expected.values())) == len(expected)  # one image per tag
        found = {m["annotations"]["org.opencontainers.image.ref.name"]: m["digest"] for m in layout_images(out)}
        assert found == expected, f"round {rnd}"
        for tag, digest in expected.items():
            assert json.loads(run("skopeo", "inspect", f"oci:{out}:{tag}").stdout)["Digest"] == digest
        validate_with_oci_image_tool(out, tmp_path)
        assert not [p for p in out.rglob(".rustimg-*")], f"round {rnd}: leftovers"
