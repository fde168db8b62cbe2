"""SLSA provenance attached to the images `rustimg build` writes (issue 16,
items 2 and 3): an in-toto Statement v1 with a SLSA Provenance v1 predicate
about each platform manifest, found by `oras discover --oci-layout` as an
OCI 1.1 referrer. What it records is checked against the real thing: the
git checkout (`git rev-parse HEAD`, a dirty tree, the remote's URL without
its password), `rustc --version` and `cargo --version` of the crate's
toolchain, Cargo.lock's sha256, the cargo command rustimg ran. Builds are
byte-for-byte reproducible and the image digest is the same without it.
Real cargo builds of tests/fixtures/dependencies/sbomfix in a real git
repository."""
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import FIXTURES, require_tool, run
from test_sbom import oras

TRIPLE = "x86_64-unknown-linux-gnu"
EPOCH = {"SOURCE_DATE_EPOCH": "1700000000"}
SECRET = "s3cr3t-t0ken"
REMOTE = f"https://builder:{SECRET}@git.example.com/team/sbomfix.git"
INTOTO = "application/vnd.in-toto+json"
SLSA = "https://slsa.dev/provenance/v1"


def in_dir(directory: Path, *args) -> str:
    proc = subprocess.run([str(a) for a in args], cwd=directory, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc
    return proc.stdout.strip()


def git(crate: Path, *args) -> str:
    return in_dir(crate, "git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false",
                  *args)


@pytest.fixture(scope="module")
def crate(tmp_path_factory) -> Path:
    """sbomfix with its Cargo.lock, committed to a git repository whose
    origin URL carries a password."""
    require_tool("cargo")
    require_tool("git")
    directory = tmp_path_factory.mktemp("provenance") / "sbomfix"
    shutil.copytree(FIXTURES / "dependencies" / "sbomfix", directory)
    shutil.copy(FIXTURES / "dependencies" / "Cargo.lock", directory / "Cargo.lock")
    (directory / ".gitignore").write_text("/target\n")
    git(directory, "init", "-q")
    git(directory, "add", ".")
    git(directory, "commit", "-q", "-m", "sbomfix")
    git(directory, "remote", "add", "origin", REMOTE)
    return directory


def build(rustimg, crate: Path, out: Path, *extra) -> str:
    res = rustimg("build", crate, "--features", "hash", *extra, "--output", f"oci:{out}:v1", env=EPOCH)
    assert res.code == 0, res
    return res.out.strip().splitlines()[-1]


def blob(layout: Path, digest: str) -> bytes:
    return (layout / "blobs" / "sha256" / digest.split(":", 1)[1]).read_bytes()


def provenance_of(layout: Path, image_digest: str):
    """(artifact digest, artifact manifest, statement) of the provenance
    oras discover finds for the image."""
    res = run(oras(), "discover", "--oci-layout", "--format", "json", f"{layout}@{image_digest}")
    found = [r for r in json.loads(res.stdout)["referrers"] if r["artifactType"] == INTOTO]
    assert len(found) == 1, res.stdout
    manifest = json.loads(blob(layout, found[0]["digest"]))
    assert manifest["subject"]["digest"] == image_digest
    assert [layer["mediaType"] for layer in manifest["layers"]] == [INTOTO]
    return found[0]["digest"], manifest, json.loads(blob(layout, manifest["layers"][0]["digest"]))


@pytest.fixture(scope="module")
def built(rustimg, crate, tmp_path_factory):
    out = tmp_path_factory.mktemp("built") / "layout"
    digest = build(rustimg, crate, out)
    return out, digest, provenance_of(out, digest)


def test_provenance_records_the_checkout_toolchain_and_cargo_run(built, crate, rustimg):
    out, digest, (_, manifest, statement) = built
    assert manifest["annotations"]["in-toto.io/predicate-type"] == SLSA
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == SLSA
    assert statement["subject"] == [{"name": "sbomfix", "digest": {"sha256": digest.split(":", 1)[1]}}]
    definition = statement["predicate"]["buildDefinition"]
    external = definition["externalParameters"]
    assert external["package"] == {"name": "sbomfix", "version": "0.1.0"}
    assert external["platform"] == "linux/amd64" and external["target"] == TRIPLE
    assert external["spec"]["features"] == ["hash"] and external["spec"]["provenance"] is True

    head = git(crate, "rev-parse", "HEAD")
    uri = f"git+https://git.example.com/team/sbomfix.git@{head}"
    assert external["source"] == {"uri": uri, "digest": {"gitCommit": head}, "dirty": False}
    deps = {d["name"]: d for d in definition["resolvedDependencies"]}
    assert deps["source"]["uri"] == uri
    lock = hashlib.sha256((crate / "Cargo.lock").read_bytes()).hexdigest()
    assert deps["Cargo.lock"]["digest"] == {"sha256": lock}
    assert "base-image" not in deps  # the built-in static base is no image

    internal = definition["internalParameters"]
    rustc = in_dir(crate, "rustc", "--version").splitlines()[0]
    cargo = in_dir(crate, "cargo", "--version").splitlines()[0]
    assert internal["toolchain"] == {"rustc": rustc, "cargo": cargo}
    argv = internal["cargo"]["argv"]
    assert argv[1] == "build" and argv[argv.index("--target") + 1] == TRIPLE
    assert argv[argv.index("--bin") + 1] == "sbomfix"
    assert "hash" in argv[argv.index("--features") + 1]
    assert internal["cargo"]["env"]["SOURCE_DATE_EPOCH"] == "1700000000"

    details = statement["predicate"]["runDetails"]
    version = rustimg("--version").out.split()[-1]
    assert details["builder"]["version"]["rustimg"] in version
    assert details["metadata"] == {"startedOn": "2023-11-14T22:13:20Z", "finishedOn": "2023-11-14T22:13:20Z"}

    # The remote's password is in no file of the layout.
    for path in out.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_provenance_says_when_the_checkout_has_uncommitted_changes(rustimg, crate, tmp_path):
    main = crate / "src" / "main.rs"
    original = main.read_text()
    try:
        main.write_text(original + "\n// an uncommitted change\n")
        out = tmp_path / "dirty"
        digest = build(rustimg, crate, out)
        _, _, statement = provenance_of(out, digest)
        assert statement["predicate"]["buildDefinition"]["externalParameters"]["source"]["dirty"] is True
    finally:
        main.write_text(original)


def test_provenance_is_reproducible_and_leaves_the_image_digest_alone(built, rustimg, crate, tmp_path):
    out, digest, (artifact, _, _) = built
    again = tmp_path / "again"
    assert build(rustimg, crate, again) == digest
    assert provenance_of(again, digest)[0] == artifact
    assert (again / "index.json").read_bytes() == (out / "index.json").read_bytes()

    none = tmp_path / "none"
    assert build(rustimg, crate, none, "--no-provenance") == digest
    types = [m.get("artifactType") for m in json.loads((none / "index.json").read_text())["manifests"]]
    assert INTOTO not in types and "application/spdx+json" in types
    spec_off = tmp_path / "spec-off"
    assert build(rustimg, crate, spec_off, "--set", "provenance=false") == digest
    assert (spec_off / "index.json").read_bytes() == (none / "index.json").read_bytes()


def test_provenance_flags_and_outputs_without_it(built, rustimg, crate, tmp_path):
    both = rustimg("build", crate, "--provenance", "--no-provenance", "--output", f"oci:{tmp_path / 'x'}")
    assert both.code == 2 and "--provenance or --no-provenance" in both.err, both
    bad = rustimg("build", crate, "--set", "provenance=yes", "--output", f"oci:{tmp_path / 'y'}")
    assert bad.code == 2 and "$.provenance: expected a boolean" in bad.err, bad

    archive = tmp_path / "image.tar"
    res = rustimg("build", crate, "--features", "hash", "--provenance", "--output", f"oci-archive:{archive}",
                  env=EPOCH)
    assert res.code == 0, res
    statement = json.loads((tmp_path / "image.tar.provenance.json").read_text())  # beside the archive
    assert statement["predicateType"] == SLSA
    assert statement["subject"][0]["digest"]["sha256"] == res.out.strip().splitlines()[-1][7:]

    # A prebuilt binary: rustimg did not build it, so it records nothing.
    binary = tmp_path / "sbomfix"
    binary.write_bytes((crate / "target" / TRIPLE / "rustimg" / "sbomfix").read_bytes())  # rustimg's profile
    prebuilt = tmp_path / "prebuilt"
    res = rustimg("build", "--binary", binary, "--provenance", "--output", f"oci:{prebuilt}:v1", env=EPOCH)
    assert res.code == 0, res
    assert "a prebuilt binary gets none" in res.err
    types = [m.get("artifactType") for m in json.loads((prebuilt / "index.json").read_text())["manifests"]]
    assert INTOTO not in types


def test_provenance_redacts_values_that_look_like_secrets(rustimg, crate, tmp_path):
    """The statement is published with the image: a build variable named like
    a token or password (also as a part of its name: DB_PASS, GITHUB_PAT), or
    holding a URL with credentials anywhere in it (a user, a password, a
    token as the user), is recorded by name, its value redacted,
    both in the cargo environment and in the resolved spec."""
    secrets = {"REGISTRY_TOKEN": "tok-s3cr3t-value", "DB_PASS": "pass-s3cr3t-value",
               "GITHUB_PAT": "pat-s3cr3t-value", "DATABASE_URL": "postgres://app:url-s3cr3t-value@db/app",
               "MIRROR_URL": "https://ghp-tok3n-value@mirror.example/x",
               "FETCH_FLAGS": "--mirror https://mirror.example/a --extra https://u:flags-s3cr3t@b.example/c"}
    kept = {"BUILD_MODE": "fast", "PATH_HINT": "/opt/tools", "INDEX_URL": "https://mirror.example/index"}
    spec = tmp_path / "rustimg.json"
    spec.write_text(json.dumps({"features": ["hash"], "target": {TRIPLE: {"env": {**secrets, **kept}}}}))
    out = tmp_path / "layout"
    res = rustimg("build", crate, "--spec", spec, "--output", f"oci:{out}:v1", env=EPOCH)
    assert res.code == 0, res
    digest = res.out.strip().splitlines()[-1]
    _, _, statement = provenance_of(out, digest)
    definition = statement["predicate"]["buildDefinition"]
    expected = {**{name: "<redacted>" for name in secrets}, **kept}
    env = definition["internalParameters"]["cargo"]["env"]
    assert {name: env.get(name) for name in expected} == expected
    assert definition["externalParameters"]["spec"]["target"][TRIPLE]["env"] == expected
    for path in out.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for value in secrets.values():
                assert value.encode() not in data, (path, value)
