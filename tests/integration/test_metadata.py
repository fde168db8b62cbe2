"""Image metadata from the crate (issue 14, item 8): the OCI annotations and
config labels org.opencontainers.image.* come from Cargo.toml and the git
checkout, each omitted when unknown, each overridden by the spec, and builds
stay reproducible."""
import json
import shutil

import pytest

from conftest import blob, require_tool, run

SDE = "1700000000"
CREATED = "2023-11-14T22:13:20Z"
K = "org.opencontainers.image."

CARGO_TOML = """[package]
name = "meta-app"
version = "0.3.1"
edition = "2021"
publish = false
description = "An app with its metadata in Cargo.toml"
license = "MIT/Apache-2.0"
repository = "https://example.com/git/meta-app"
homepage = "https://example.com/meta-app"

[dependencies]
"""

# The same package without homepage, and with a license file (no SPDX id).
CARGO_TOML_SPARSE = """[package]
name = "meta-app"
version = "0.3.1"
edition = "2021"
publish = false
description = "An app with its metadata in Cargo.toml"
license-file = "LICENSE"
repository = "https://example.com/git/meta-app"

[dependencies]
"""


def git(repo, *args):
    return run("git", "-C", repo, "-c", "user.name=rustimg tests", "-c", "user.email=tests@example.com",
               "-c", "commit.gpgsign=false", *args).stdout.strip()


def write_crate(crate, cargo_toml):
    (crate / "src").mkdir(parents=True)
    (crate / "Cargo.toml").write_text(cargo_toml)
    (crate / "LICENSE").write_text("All rights reserved.\n")
    (crate / "src" / "main.rs").write_text('fn main() { println!("meta"); }\n')
    run("cargo", "generate-lockfile", "--offline", "--manifest-path", crate / "Cargo.toml")


@pytest.fixture(scope="module")
def checkout(tmp_path_factory):
    """The crate in a git repository with one commit: (directory, commit)."""
    require_tool("git")
    require_tool("cargo")
    crate = tmp_path_factory.mktemp("meta") / "meta-app"
    write_crate(crate, CARGO_TOML)
    git(crate, "init", "-q")
    git(crate, "add", ".")
    git(crate, "commit", "-q", "-m", "the crate")
    return crate, git(crate, "rev-parse", "HEAD")


def build(rustimg, *args):
    res = rustimg("build", *args, env={"SOURCE_DATE_EPOCH": SDE})
    assert res.code == 0, res
    digest = res.out.strip().splitlines()[-1]
    assert digest.startswith("sha256:"), res
    return digest


def metadata(layout, digest):
    """The org.opencontainers.image.* manifest annotations and config labels."""
    manifest = json.loads(blob(layout, digest))
    config = json.loads(blob(layout, manifest["config"]["digest"]))
    pick = lambda d: {k: v for k, v in (d or {}).items() if k.startswith(K)}  # noqa: E731
    return pick(manifest.get("annotations")), pick(config["config"].get("Labels"))


@pytest.fixture(scope="module")
def built(rustimg, checkout, tmp_path_factory):
    """The checkout built by cargo into an OCI layout: (layout, digest, binary)."""
    crate, _ = checkout
    layout = tmp_path_factory.mktemp("meta-out") / "layout"
    digest = build(rustimg, crate, "--output", f"oci:{layout}:latest")
    binaries = sorted(crate.glob("target/*/*/meta-app"))
    assert binaries, list(crate.glob("target/**"))
    return layout, digest, binaries[0]


def test_annotations_and_labels_come_from_cargo_toml_and_git(built, checkout):
    require_tool("skopeo")
    layout, digest, _ = built
    _, commit = checkout
    expected = {
        K + "title": "meta-app",
        K + "description": "An app with its metadata in Cargo.toml",
        K + "version": "0.3.1",
        K + "licenses": "MIT OR Apache-2.0",
        K + "source": "https://example.com/git/meta-app",
        K + "url": "https://example.com/meta-app",
        K + "revision": commit,
        K + "created": CREATED,
    }
    annotations, labels = metadata(layout, digest)
    assert annotations == expected
    assert labels == expected
    info = json.loads(run("skopeo", "inspect", f"oci:{layout}:latest").stdout)
    assert {k: v for k, v in info["Labels"].items() if k.startswith(K)} == expected


def test_the_spec_wins_and_unknown_fields_are_absent(rustimg, built, tmp_path):
    _, _, binary = built
    crate = tmp_path / "meta-app"  # no git checkout, no homepage, a license file
    write_crate(crate, CARGO_TOML_SPARSE)
    (crate / "rustimg.json").write_text(json.dumps({"annotations": {K + "description": "From the spec file"}}))
    layout = tmp_path / "layout"
    digest = build(rustimg, "--binary", binary, "--crate", crate, "--annotation", K + "version=9.9.9",
                   "--label", K + "source=https://label.example", "--output", f"oci:{layout}:latest")
    annotations, labels = metadata(layout, digest)
    assert annotations == {
        K + "title": "meta-app",
        K + "description": "From the spec file",
        K + "version": "9.9.9",
        K + "source": "https://example.com/git/meta-app",
        K + "created": CREATED,
    }
    # An annotation sets the label too; a label sets the label only.
    assert labels == {**annotations, K + "source": "https://label.example"}


def test_checkouts_of_one_commit_give_one_digest_and_a_dirty_one_says_so(rustimg, built, checkout, tmp_path):
    layout, digest, binary = built
    crate, commit = checkout
    clone = tmp_path / "clone" / "meta-app"
    run("git", "clone", "-q", crate, clone)
    assert build(rustimg, clone, "--output", f"oci:{tmp_path / 'again'}:latest") == digest

    # Untracked files (the build's target/, notes) leave the revision alone.
    (clone / "notes.txt").write_text("untracked\n")
    dest = tmp_path / "untracked"
    d = build(rustimg, "--binary", binary, "--crate", clone, "--output", f"oci:{dest}:latest")
    assert metadata(dest, d)[0][K + "revision"] == commit

    # A changed tracked file: the revision is not claimed clean.
    with open(clone / "src" / "main.rs", "a") as f:
        f.write("// changed\n")
    dest = tmp_path / "dirty"
    d = build(rustimg, "--binary", binary, "--crate", clone, "--output", f"oci:{dest}:latest")
    annotations, labels = metadata(dest, d)
    assert annotations[K + "revision"] == commit + "-dirty"
    assert labels[K + "revision"] == commit + "-dirty"
    shutil.rmtree(clone / "target", ignore_errors=True)
