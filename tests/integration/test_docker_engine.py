"""Docker Engine consumes rustimg's images (issue 14): `docker load` of a
docker-archive and `docker pull` of an image rustimg pushed to the real
docker-registry, single- and multi-platform, each run with `docker run`.
Docker's image ID is the config digest, so it must be the one rustimg wrote."""
import hashlib
import json
import subprocess

from conftest import EXAMPLE, assert_runs_the_example, blob
from test_build import elf_fixtures, hello_binary  # noqa: F401  session fixtures: the example, ELF samples

def build(rustimg, *args):
    """rustimg build with the example crate's metadata; returns its last stdout line."""
    res = rustimg("build", "--crate", EXAMPLE, *args, env={"SOURCE_DATE_EPOCH": ""})
    assert res.code == 0, res
    return res.out.strip().splitlines()[-1]


def registry_manifest(ref: str):
    """(digest, document) of the manifest or index at docker://ref, as the registry serves it."""
    raw = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"],
                         capture_output=True, check=True).stdout
    return "sha256:" + hashlib.sha256(raw).hexdigest(), json.loads(raw)


def test_docker_loads_our_docker_archive_with_our_config(rustimg, hello_binary, docker_engine, tmp_path):
    layout = tmp_path / "layout"
    archive = tmp_path / "hello.docker.tar"
    digest = build(rustimg, "--binary", hello_binary, "--output", f"oci:{layout}:v1")
    assert build(rustimg, "--binary", hello_binary, "--output", f"docker-archive:{archive}:test/dk-load:v1") == digest
    config_digest = json.loads(blob(layout, digest))["config"]["digest"]

    facts, text, info = docker_engine.load_and_run(archive)
    assert_runs_the_example(facts, text)
    assert info["Id"] == config_digest
    assert info["RepoTags"] == ["test/dk-load:v1"]
    assert (info["Os"], info["Architecture"]) == ("linux", "amd64")
    assert info["Config"]["Entrypoint"] == ["/usr/local/bin/hello"]
    assert info["Config"]["User"] == "65532:65532"
    assert info["Created"].startswith("1970-01-01T00:00:00")
    assert "test/dk-load:v1" not in docker_engine("images", "--format", "{{.Repository}}:{{.Tag}}").stdout


def test_docker_pulls_and_runs_a_pushed_image(rustimg, hello_binary, docker_engine, registry_plain):
    ref = f"{registry_plain.host}/dk/hello:v1"
    pushed = build(rustimg, "--binary", hello_binary, "--push", ref)
    digest, manifest = registry_manifest(ref)
    assert pushed == f"{ref}@{digest}"

    pulled = docker_engine("pull", ref).stdout
    assert f"Digest: {digest}" in pulled, pulled
    try:
        info = docker_engine.inspect(ref)
        assert info["Id"] == manifest["config"]["digest"]
        assert info["RepoDigests"] == [f"{registry_plain.host}/dk/hello@{digest}"]
        assert (info["Os"], info["Architecture"]) == ("linux", "amd64")
        assert_runs_the_example(*docker_engine.run(ref))
    finally:
        docker_engine.remove(ref)


def test_docker_pulls_each_platform_of_a_pushed_index(rustimg, hello_binary, elf_fixtures, docker_engine,
                                                      qemu_aarch64, registry_plain):
    ref = f"{registry_plain.host}/dk/multi:v1"
    build(rustimg, "--binary", hello_binary, "--platform", "linux/amd64",
          "--binary", elf_fixtures / "aarch64-hello", "--platform", "linux/arm64", "--push", ref)
    digest, index = registry_manifest(ref)
    assert index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    configs = {}
    for m in index["manifests"]:
        _, manifest = registry_manifest(f"{registry_plain.host}/dk/multi@{m['digest']}")
        configs[m["platform"]["architecture"]] = manifest["config"]["digest"]
    assert sorted(configs) == ["amd64", "arm64"]

    # This machine's platform by default: the amd64 image.
    pulled = docker_engine("pull", ref).stdout
    assert f"Digest: {digest}" in pulled, pulled
    try:
        info = docker_engine.inspect(ref)
        assert info["Id"] == configs["amd64"]
        assert info["RepoDigests"] == [f"{registry_plain.host}/dk/multi@{digest}"]
        assert (info["Os"], info["Architecture"]) == ("linux", "amd64")
        assert_runs_the_example(*docker_engine.run(ref))
    finally:
        docker_engine.remove(ref)

    # The arm64 one on request, run through qemu-user (binfmt_misc).
    docker_engine("pull", "--platform", "linux/arm64", ref)
    try:
        info = docker_engine.inspect(ref)
        assert info["Id"] == configs["arm64"]
        assert (info["Os"], info["Architecture"], info.get("Variant")) == ("linux", "arm64", "v8")
        _, text = docker_engine.run(ref, platform="linux/arm64")
        assert text == "hello from aarch64\n"
    finally:
        docker_engine.remove(ref)
