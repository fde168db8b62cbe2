"""SBOMs attached to the images `rustimg build` writes (issue 16, items 1 and 3):
what cargo compiled into the binary for its target with the features used,
checked against `cargo tree` and Cargo.lock, validated by the formats' own
tools (pyspdxtools from spdx-tools, cyclonedx-python-lib's JSON-schema
validator), found by `oras discover --oci-layout` as an OCI 1.1 referrer,
byte-for-byte reproducible, and never changing the image's digest. Real cargo
builds of tests/fixtures/dependencies/sbomfix, whose dependencies come from
the crates registry (an optional one behind the "hash" feature; dev-,
build- and Windows-only dependencies that must not be listed)."""
import json
import shutil
import tarfile
import subprocess
import tomllib
import zlib
from pathlib import Path

import pytest

from conftest import FIXTURES, require_tool, run

TRIPLE = "x86_64-unknown-linux-gnu"
EPOCH = {"SOURCE_DATE_EPOCH": "1700000000"}


def oras() -> str:
    path = Path(subprocess.run(["go", "env", "GOPATH"], capture_output=True, text=True, check=True).stdout.strip())
    exe = path / "bin" / "oras"
    if not exe.exists():
        pytest.fail(f"{exe} is not installed: run scripts/setup.sh")
    return str(exe)


@pytest.fixture(scope="module")
def crate(tmp_path_factory) -> Path:
    """sbomfix with the workspace's Cargo.lock, in a directory of its own."""
    require_tool("cargo")
    directory = tmp_path_factory.mktemp("sbom") / "sbomfix"
    shutil.copytree(FIXTURES / "dependencies" / "sbomfix", directory)
    shutil.copy(FIXTURES / "dependencies" / "Cargo.lock", directory / "Cargo.lock")
    return directory


def build(rustimg, crate: Path, out: Path, *extra) -> str:
    res = rustimg("build", crate, "--features", "hash", *extra, "--output", f"oci:{out}:v1", env=EPOCH)
    assert res.code == 0, res
    return res.out.strip().splitlines()[-1]


def sbom_of(rustimg, out: Path) -> dict:
    res = rustimg("sbom", "--json", f"oci:{out}:v1")
    assert res.code == 0, res
    return json.loads(res.out)


@pytest.fixture(scope="module")
def spdx(rustimg, crate, tmp_path_factory):
    out = tmp_path_factory.mktemp("spdx") / "layout"
    digest = build(rustimg, crate, out)
    return out, digest, sbom_of(rustimg, out)


def artifact_types(layout: Path) -> list:
    """The artifactType of each artifact index.json lists."""
    return [m["artifactType"] for m in json.loads((layout / "index.json").read_text())["manifests"]
            if "artifactType" in m]


def cargo_tree(crate: Path) -> set:
    """(name, version) of every crate `cargo tree` shows for the bin with the feature."""
    proc = subprocess.run(["cargo", "tree", "--locked", "-e", "normal", "--target", TRIPLE, "-F", "hash",
                           "--prefix", "none"], cwd=crate, capture_output=True, text=True, timeout=600, check=True)
    out = set()
    for line in proc.stdout.splitlines():
        name, version = line.split()[:2]
        out.add((name, version.lstrip("v")))
    return out


def lock_checksums(crate: Path) -> dict:
    lock = tomllib.loads((crate / "Cargo.lock").read_text())
    return {(p["name"], p["version"]): p["checksum"] for p in lock["package"] if "checksum" in p}


def spdx_crates(doc: dict) -> dict:
    """(name, version) -> package, for the packages that are crates (a pkg:cargo purl)."""
    out = {}
    for p in doc["packages"]:
        purls = [r["referenceLocator"] for r in p.get("externalRefs", []) if r["referenceType"] == "purl"]
        if any(u.startswith("pkg:cargo/") for u in purls):
            out[(p["name"], p["versionInfo"])] = p
    return out


def test_spdx_sbom_lists_exactly_what_cargo_tree_shows(spdx, crate, tmp_path):
    _, digest, attached = spdx
    assert attached["media_type"] == "application/spdx+json"
    assert attached["image_digest"] == digest
    doc = attached["sbom"]
    crates = spdx_crates(doc)
    expected = cargo_tree(crate)
    assert set(crates) == expected
    assert ("fnv", "1.0.7") in expected  # the optional dependency the feature pulls in
    for absent in ("hex", "autocfg", "widestring"):  # dev, build and cfg(windows) dependencies
        assert absent not in {name for name, _ in crates}
    checksums = lock_checksums(crate)
    registry_crates = [key for key in crates if key in checksums]
    assert len(registry_crates) == 3  # itoa, cfg-if, fnv
    for key in registry_crates:
        sums = {c["algorithm"]: c["checksumValue"] for c in crates[key].get("checksums", [])}
        assert sums.get("SHA256") == checksums[key], key
    # SPDX's own validator accepts the document rustimg prints.
    require_tool("pyspdxtools")
    document = tmp_path / "sbom.spdx.json"
    document.write_text(json.dumps(doc))
    run("pyspdxtools", "-i", document)


def test_cyclonedx_sbom_validates_against_its_schema(rustimg, crate, tmp_path):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    out = tmp_path / "layout"
    build(rustimg, crate, out, "--sbom", "cyclonedx")
    res = rustimg("sbom", f"oci:{out}:v1")
    assert res.code == 0, res
    errors = JsonStrictValidator(SchemaVersion.V1_5).validate_str(res.out)
    assert errors is None, errors
    doc = json.loads(res.out)
    purls = {c["purl"] for c in doc["components"] if c.get("purl", "").startswith("pkg:cargo/")}
    assert purls == {f"pkg:cargo/{name}@{version}" for name, version in cargo_tree(crate)}


def test_oras_discovers_the_sbom_as_a_referrer(spdx):
    out, digest, attached = spdx
    res = run(oras(), "discover", "--oci-layout", "--format", "json", f"{out}@{digest}")
    tree = json.loads(res.stdout)
    found = [(r["artifactType"], r["digest"]) for r in tree["referrers"]]
    sboms = [f for f in found if f[0] != "application/vnd.in-toto+json"]  # beside the provenance
    assert sboms == [("application/spdx+json", attached["artifact_digest"])]
    assert len(found) == 2


def test_sbom_is_reproducible_and_leaves_the_image_digest_alone(spdx, rustimg, crate, tmp_path):
    out, digest, attached = spdx
    again = tmp_path / "again"
    assert build(rustimg, crate, again) == digest
    assert sbom_of(rustimg, again)["artifact_digest"] == attached["artifact_digest"]
    assert (again / "index.json").read_bytes() == (out / "index.json").read_bytes()

    none = tmp_path / "none"
    assert build(rustimg, crate, none, "--sbom", "none") == digest
    assert artifact_types(none) == ["application/vnd.in-toto+json"]
    res = rustimg("sbom", f"oci:{none}:v1")
    assert res.code != 0 and "no SBOM is attached" in res.err and "--sbom spdx" in res.err, res


def test_prebuilt_binary_lists_its_cargo_auditable_crates_or_says_unknown(spdx, rustimg, crate, tmp_path):
    """A --binary's crates come from the .dep-v0 section cargo auditable
    embeds (added here with objcopy, in cargo-auditable's format); without it
    the SBOM says they are unknown instead of inventing them."""
    require_tool("objcopy")
    binary = crate / "target" / TRIPLE / "rustimg" / "sbomfix"
    assert binary.is_file()

    plain = tmp_path / "plain"
    res = rustimg("build", "--binary", binary, "--output", f"oci:{plain}:v1", env=EPOCH)
    assert res.code == 0, res
    doc = sbom_of(rustimg, plain)["sbom"]
    assert spdx_crates(doc) == {}
    assert "unknown" in doc["comment"]
    document = tmp_path / "plain.spdx.json"
    document.write_text(json.dumps(doc))
    run("pyspdxtools", "-i", document)

    audit = {"packages": [
        {"name": "sbomfix", "version": "0.1.0", "source": "local", "dependencies": [1, 2], "root": True},
        {"name": "itoa", "version": "1.0.19", "source": "crates.io"},
        {"name": "fnv", "version": "1.0.7", "source": "crates.io"},
        {"name": "autocfg", "version": "1.5.1", "source": "crates.io", "kind": "build"},
    ]}
    section = tmp_path / "dep-v0"
    section.write_bytes(zlib.compress(json.dumps(audit).encode()))
    audited = tmp_path / "sbomfix-audited"
    run("objcopy", "--add-section", f".dep-v0={section}", binary, audited)
    out = tmp_path / "audited"
    res = rustimg("build", "--binary", audited, "--output", f"oci:{out}:v1", env=EPOCH)
    assert res.code == 0, res
    crates = spdx_crates(sbom_of(rustimg, out)["sbom"])
    assert set(crates) == {("sbomfix", "0.1.0"), ("itoa", "1.0.19"), ("fnv", "1.0.7")}  # not the build dependency
    assert crates[("itoa", "1.0.19")]["downloadLocation"] == "https://crates.io/api/v1/crates/itoa/1.0.19/download"


def test_archives_get_the_sbom_beside_them(spdx, rustimg, crate, tmp_path):
    """An archive cannot carry artifacts (podman load takes one index.json
    entry; a docker-archive has no place): the SBOM is a file beside it, the
    same document the layout gets, and the archive is the image alone."""
    _, digest, attached = spdx
    for kind in ("oci-archive", "docker-archive"):
        archive = tmp_path / f"{kind}.tar"
        res = rustimg("build", crate, "--features", "hash", "--output", f"{kind}:{archive}", env=EPOCH)
        assert res.code == 0, res
        beside = tmp_path / f"{kind}.tar.spdx.json"
        assert f"wrote {beside} beside" in res.err, res.err
        assert json.loads(beside.read_text()) == attached["sbom"]
        assert (tmp_path / f"{kind}.tar.provenance.json").is_file()
    with tarfile.open(tmp_path / "oci-archive.tar") as tf:
        index = json.load(tf.extractfile("index.json"))
    assert [m["digest"] for m in index["manifests"]] == [digest]
    # rustimg sbom points at the file an archive cannot carry.
    res = rustimg("sbom", f"oci-archive:{tmp_path / 'oci-archive.tar'}")
    assert res.code == 2 and str(tmp_path / "oci-archive.tar.spdx.json") in res.err, res

    # Built again in CycloneDX without provenance: --json names the one file
    # beside the archive, and what the first build left there is removed, so
    # that nothing beside the archive describes another image. A file of
    # another name stays, as do the SBOMs of a sibling archive
    # ("oci-archive.tar.v2-rc" is not a platform) and a symlink.
    archive = tmp_path / "oci-archive.tar"
    (tmp_path / "oci-archive.tar.notes.json").write_text("{}")
    (tmp_path / "oci-archive.tar.linux-arm64.spdx.json").write_text("{}")  # an earlier multi-platform build's
    (tmp_path / "oci-archive.tar.v2-rc.spdx.json").write_text("{}")
    (tmp_path / "oci-archive.tar.v2.cdx.json").write_text("{}")
    kept_target = tmp_path / "kept-provenance.json"
    kept_target.write_text("{}")
    (tmp_path / "oci-archive.tar.provenance.json").unlink()
    (tmp_path / "oci-archive.tar.provenance.json").symlink_to(kept_target)
    res = rustimg("build", crate, "--features", "hash", "--sbom", "cyclonedx", "--no-provenance", "--json",
                  "--output", f"oci-archive:{archive}", env=EPOCH)
    assert res.code == 0, res
    assert json.loads(res.out)["beside"] == [str(tmp_path / "oci-archive.tar.cdx.json")]
    assert sorted(p.name for p in tmp_path.glob("oci-archive.tar.*")) == [
        "oci-archive.tar.cdx.json", "oci-archive.tar.notes.json", "oci-archive.tar.provenance.json",
        "oci-archive.tar.v2-rc.spdx.json", "oci-archive.tar.v2.cdx.json"]
    assert kept_target.read_text() == "{}"
    assert f"removed {tmp_path / 'oci-archive.tar.spdx.json'}" in res.err, res.err
    bad = rustimg("build", crate, "--sbom", "spxd", "--output", f"oci:{tmp_path / 'x'}")
    assert bad.code == 2 and "did you mean \"spdx\"" in bad.err, bad


def test_a_tampered_sbom_is_refused(spdx, rustimg, tmp_path):
    out, _, attached = spdx
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    manifest = json.loads((copy / "blobs" / "sha256" / attached["artifact_digest"][7:]).read_text())
    content = copy / "blobs" / "sha256" / manifest["layers"][0]["digest"][7:]
    doc = json.loads(content.read_text())
    doc["name"] = "altered"
    content.write_text(json.dumps(doc))
    res = rustimg("sbom", f"oci:{copy}:v1")
    assert res.code == 2 and "does not match its name" in res.err and res.out == "", res


def test_a_default_sbom_that_cannot_be_made_costs_the_sbom_not_the_image(rustimg, tmp_path):
    """Two crates of one name and version (crates.io's itoa and a vendored
    copy under another name): the SPDX writer refuses packages it cannot
    tell apart. By default the image is written without an SBOM and a
    warning says why; asked for with --sbom, it is an error."""
    crate = tmp_path / "twins"
    (crate / "src").mkdir(parents=True)
    (crate / "Cargo.toml").write_text(
        '[package]\nname = "twins"\nversion = "0.1.0"\nedition = "2021"\n\n'
        '[dependencies]\nitoa = "=1.0.19"\nitoa_copy = { package = "itoa", path = "vendor/itoa" }\n')
    (crate / "src" / "main.rs").write_text(
        'fn main() { println!("{} {}", itoa::Buffer::new().format(1), itoa_copy::ANSWER); }\n')
    (crate / "vendor" / "itoa" / "src").mkdir(parents=True)
    (crate / "vendor" / "itoa" / "Cargo.toml").write_text(
        '[package]\nname = "itoa"\nversion = "1.0.19"\nedition = "2021"\n')
    (crate / "vendor" / "itoa" / "src" / "lib.rs").write_text("pub const ANSWER: u32 = 42;\n")
    out = tmp_path / "layout"
    res = rustimg("build", crate, "--no-locked", "--output", f"oci:{out}:v1", env=EPOCH)
    assert res.code == 0, res
    assert "warning: writing the image without an SBOM" in res.err and "itoa" in res.err, res
    assert artifact_types(out) == ["application/vnd.in-toto+json"]
    strict = rustimg("build", crate, "--no-locked", "--sbom", "spdx", "--output", f"oci:{tmp_path / 'strict'}:v1",
                     env=EPOCH)
    assert strict.code != 0 and "itoa" in strict.err and "--sbom none" in strict.err, strict
    assert not (tmp_path / "strict").exists()


def test_a_deeply_nested_sbom_is_refused_as_json_not_a_crash(spdx, rustimg, tmp_path):
    """An attached SBOM is read from disk: --json parses it with a bounded
    depth (a recursive parser would overflow the stack on this one), while
    the plain form prints the bytes as they are."""
    import hashlib
    out, _, attached = spdx
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    blobs = copy / "blobs" / "sha256"

    def put(data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return "sha256:" + digest

    deep = b"[" * 200_000 + b"]" * 200_000
    manifest = json.loads((blobs / attached["artifact_digest"][7:]).read_text())
    manifest["layers"][0].update(digest=put(deep), size=len(deep))
    raw = json.dumps(manifest).encode()
    new_digest = put(raw)
    index = json.loads((copy / "index.json").read_text())
    for entry in index["manifests"]:
        if entry["digest"] == attached["artifact_digest"]:
            entry.update(digest=new_digest, size=len(raw))
    (copy / "index.json").write_text(json.dumps(index))

    res = rustimg("sbom", "--json", f"oci:{copy}:v1")
    assert res.code == 2 and "nested deeper than" in res.err, res
    assert json.loads(res.out)["error"]["code"] == "invalid_argument"  # --json: the error as JSON, no SBOM
    plain = rustimg("sbom", f"oci:{copy}:v1")
    assert plain.code == 0 and plain.out.strip().encode() == deep, plain.err
