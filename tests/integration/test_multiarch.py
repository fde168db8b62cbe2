"""One `rustimg build` for linux/amd64, linux/arm64 and linux/arm/v7 (issue 17):
real cargo and real cross linkers, no linker in the spec (rustimg picks the
Debian cross gcc for gnu targets and rust-lld for musl ones), one index whose
every platform image runs its own binary, under podman and Docker, through
qemu-user (binfmt_misc). Each libc's index is built once for the module."""
import gzip
import io
import json
import shutil
import tarfile

import pytest

from conftest import FIXTURES, blob, podman_run

CRATE = FIXTURES / "crates" / "archhello"
PLATFORMS = ["linux/amd64", "linux/arm64", "linux/arm/v7"]
# What std::env::consts::ARCH says on each platform.
ARCH = {"linux/amd64": "x86_64", "linux/arm64": "aarch64", "linux/arm/v7": "arm"}
BINARY = "usr/local/bin/archhello"


def platform_of(descriptor: dict) -> str:
    p = descriptor["platform"]
    variant = p.get("variant")
    # arm64's "v8" is the default variant: the platform is linux/arm64.
    return f"{p['os']}/{p['architecture']}" + (f"/{variant}" if variant and p["architecture"] == "arm" else "")


class Index:
    """A built index: its layout, tag, libc and `rustimg build --json` result."""

    def __init__(self, libc, layout, tag, result):
        self.libc, self.layout, self.tag, self.result = libc, layout, tag, result
        self.ref = f"oci:{layout}:{tag}"

    def manifests(self) -> dict:
        """platform -> image manifest, from the layout's index."""
        index = json.loads(blob(self.layout, self.result["digest"]))
        return {platform_of(m): json.loads(blob(self.layout, m["digest"])) for m in index["manifests"]}

    def extract_binary(self, platform: str, dest):
        """The program of `platform`'s image, taken from its app (last) layer."""
        layer = blob(self.layout, self.manifests()[platform]["layers"][-1]["digest"])
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer))) as tar:
            data = tar.extractfile(BINARY).read()
        dest.write_bytes(data)
        dest.chmod(0o755)
        return dest


@pytest.fixture(scope="module", params=["gnu", "musl"])
def index(request, rustimg, tmp_path_factory):
    """The fixture crate built once per libc for the three platforms into one index."""
    libc = request.param
    root = tmp_path_factory.mktemp(f"multiarch-{libc}")
    crate = root / "archhello"
    shutil.copytree(CRATE, crate, ignore=shutil.ignore_patterns("target"))
    env = {"SOURCE_DATE_EPOCH": ""}
    if libc == "musl":
        (crate / "rustimg.json").write_text(json.dumps({"libc": "musl"}))
        # Rust 1.95's std for armv7-unknown-linux-musleabihf is not served by this
        # machine's rustup mirror (its manifest says available = false);
        # scripts/setup.sh installs 1.93.0 with the three musl targets for this build.
        env["RUSTUP_TOOLCHAIN"] = "1.93.0"
    args = ["build", "--crate", crate, "--json", "--output", f"oci:{root / 'layout'}:{libc}"]
    for p in PLATFORMS:
        args += ["--platform", p]
    res = rustimg(*args, env=env)
    assert res.code == 0, res
    return Index(libc, root / "layout", libc, json.loads(res.out.strip().splitlines()[-1]))


def expected_output(index: Index, platform: str) -> str:
    return f"arch={ARCH[platform]}\nlibc={index.libc}\n"


def test_one_index_holds_each_platform_and_its_verdict(index, rustimg, tmp_path):
    manifests = index.manifests()
    assert sorted(manifests) == sorted(PLATFORMS)
    # The build verified each binary against its platform before writing.
    reports = index.result["reports"]
    assert sorted(platform_of({"platform": {"os": "linux", **r}}) for r in reports) == sorted(PLATFORMS)
    for r in reports:
        assert r["fit_for_scratch"], r
        assert r["libc"] == ("musl" if index.libc == "musl" else "glibc"), r
    # And `rustimg verify` says the same of the binaries in the images.
    for platform in PLATFORMS:
        binary = index.extract_binary(platform, tmp_path / platform.replace("/", "-"))
        res = rustimg("verify", "--json", "--platform", platform, binary)
        assert res.code == 0, res
        [r] = res.json_lines()
        assert r["platform_match"] and r["fit_for_scratch"], r
        # static-pie where the target does it (x86_64), else static; never dynamic
        assert r["linkage"] == ("static-pie" if platform == "linux/amd64" else "static"), r
        if index.libc == "musl":
            assert r["libc"] == "musl" and r["libc_version"] is None, r
            assert not r["nss_risk"] and not any("NSS" in w for w in r["warnings"]), r
            # rust-lld gets --build-id (README: the musl binaries keep a build-id)
            assert r["build_id"], r
            human = rustimg("verify", binary)
            assert "libc:         musl (version not recorded in the binary)" in human.out, human
        else:
            assert r["libc"] == "glibc", r


def test_each_platform_runs_under_podman(index, podman, qemu_aarch64, qemu_arm):
    for platform in PLATFORMS:
        _, text = podman_run(podman, index.ref, platform=platform)
        assert text == expected_output(index, platform), (platform, text)


def test_each_platform_runs_under_docker(index, docker_engine, qemu_aarch64, qemu_arm, rustimg, registry_plain):
    # `docker load` takes one platform: push the index and pull each platform from it.
    ref = f"{registry_plain.host}/multiarch/archhello:{index.libc}"
    res = rustimg("push", index.ref, ref)
    assert res.code == 0, res
    configs = {p: m["config"]["digest"] for p, m in index.manifests().items()}
    for platform in PLATFORMS:
        docker_engine("pull", "--platform", platform, ref)
        try:
            assert docker_engine.inspect(ref)["Id"] == configs[platform]
            facts, text = docker_engine.run(ref, platform=platform)
            assert text == expected_output(index, platform), (platform, text)
            assert facts["arch"] == ARCH[platform]
        finally:
            docker_engine.remove(ref)


def test_a_binary_for_another_platform_is_refused_before_writing(index, rustimg, tmp_path):
    """verify checks each binary of a multi-platform build against its
    platform: the arm64 and arm/v7 programs swapped give no image at all."""
    amd64 = index.extract_binary("linux/amd64", tmp_path / "amd64")
    arm64 = index.extract_binary("linux/arm64", tmp_path / "arm64")
    armv7 = index.extract_binary("linux/arm/v7", tmp_path / "armv7")
    out = tmp_path / "out"
    res = rustimg("build", "--binary", amd64, "--platform", "linux/amd64", "--binary", armv7, "--platform",
                  "linux/arm64", "--binary", arm64, "--platform", "linux/arm/v7", "--output", f"oci:{out}:x")
    assert res.code == 1, res
    assert f"{armv7} does not match platform linux/arm64" in res.err, res
    assert not out.exists()
