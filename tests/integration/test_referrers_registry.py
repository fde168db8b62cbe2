"""SBOMs and provenance pushed to registries (issue 16, item 3): each platform
manifest's artifacts go up with the image, findable from it the way the OCI
distribution spec says. Two real registries: Debian's docker-registry, which
has no referrers API (so the "sha256-<hex>" tag-schema index, kept with the
referrers other tools put there), and go-containerregistry's registry with
the referrers API on (tests/registry/referrers; no tag is written). oras
discover reads both; the artifacts pushed are byte-identical to the ones a
build writes into an OCI layout."""
import json
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT, record_output, require_tool, run
from test_sbom import oras

EPOCH = {"SOURCE_DATE_EPOCH": "1700000000"}
SPDX = "application/spdx+json"
INTOTO = "application/vnd.in-toto+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


@pytest.fixture(scope="module")
def crate(tmp_path_factory) -> Path:
    require_tool("cargo")
    directory = tmp_path_factory.mktemp("referrers") / "hello"
    shutil.copytree(ROOT / "examples" / "hello", directory, ignore=shutil.ignore_patterns("target"))
    return directory


def get(registry, path: str, accept: str = OCI_INDEX):
    """(status, parsed JSON or None) of GET /v2/... on the registry."""
    req = urllib.request.Request(f"{registry.url}/v2/{path}", headers={"Accept": accept})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, None


def discover(registry, repo: str, digest: str) -> set:
    """The digests of what oras discover lists for the manifest."""
    res = run(oras(), "discover", "--plain-http", "--format", "json", f"{registry.host}/{repo}@{digest}")
    record_output(res.stdout, res.stderr)
    return {r["digest"] for r in json.loads(res.stdout)["referrers"]}


@pytest.fixture(scope="module")
def layout(rustimg, crate, tmp_path_factory):
    """The image and its artifacts as a build writes them to an OCI layout."""
    out = tmp_path_factory.mktemp("layout") / "hello"
    res = rustimg("build", crate, "--output", f"oci:{out}:v1", env=EPOCH)
    assert res.code == 0, res
    digest = res.out.strip().splitlines()[-1]
    index = json.loads((out / "index.json").read_text())
    artifacts = {m["artifactType"]: m["digest"] for m in index["manifests"] if "artifactType" in m}
    assert set(artifacts) == {SPDX, INTOTO}
    return out, digest, artifacts


def build_to(rustimg, crate, registry, repo: str) -> dict:
    res = rustimg("build", crate, "--json", "--output", f"docker://{registry.host}/{repo}:v1", env=EPOCH)
    assert res.code == 0, res
    return json.loads(res.out)


def assert_sbom_reads_back(rustimg, registry, repo: str, layout) -> None:
    """rustimg sbom REF prints the SBOM the layout build attached, byte for byte."""
    out, digest, artifacts = layout
    local = rustimg("sbom", f"oci:{out}:v1")
    remote = rustimg("sbom", "--json", f"{registry.host}/{repo}:v1")
    assert local.code == 0 and remote.code == 0, (local, remote)
    doc = json.loads(remote.out)
    assert (doc["image_digest"], doc["artifact_digest"], doc["media_type"]) == (digest, artifacts[SPDX], SPDX)
    assert rustimg("sbom", f"docker://{registry.host}/{repo}:v1").out == local.out


def test_docker_registry_gets_the_tag_schema_index(rustimg, crate, registry_plain, layout):
    _, digest, artifacts = layout
    result = build_to(rustimg, crate, registry_plain, "refs/hello")
    assert result["digest"] == digest
    pushed = result["pushed"][0]["referrers"]
    assert {(r["artifact_type"], r["digest"], r["subject"], r["via"]) for r in pushed} == {
        (SPDX, artifacts[SPDX], digest, "tag-schema"), (INTOTO, artifacts[INTOTO], digest, "tag-schema")}
    # No referrers API here; the index tagged sha256-<hex> lists both.
    assert get(registry_plain, f"refs/hello/referrers/{digest}")[0] == 404
    status, index = get(registry_plain, f"refs/hello/manifests/sha256-{digest[7:]}")
    assert status == 200 and index["mediaType"] == OCI_INDEX
    assert {m["artifactType"]: m["digest"] for m in index["manifests"]} == artifacts
    assert discover(registry_plain, "refs/hello", digest) == set(artifacts.values())
    assert_sbom_reads_back(rustimg, registry_plain, "refs/hello", layout)


def test_referrers_api_registry_lists_them_without_a_tag(rustimg, crate, registry_referrers, layout):
    _, digest, artifacts = layout
    result = build_to(rustimg, crate, registry_referrers, "refs/hello")
    assert {r["via"] for r in result["pushed"][0]["referrers"]} == {"referrers-api"}
    status, listed = get(registry_referrers, f"refs/hello/referrers/{digest}")
    assert status == 200
    # (go-containerregistry lists each with its config's media type as artifactType.)
    assert {m["digest"] for m in listed["manifests"]} == set(artifacts.values())
    assert get(registry_referrers, f"refs/hello/manifests/sha256-{digest[7:]}")[0] == 404
    assert discover(registry_referrers, "refs/hello", digest) == set(artifacts.values())
    assert_sbom_reads_back(rustimg, registry_referrers, "refs/hello", layout)


def test_push_from_a_layout_carries_them_and_keeps_other_referrers(rustimg, registry_plain, layout, tmp_path):
    out, digest, artifacts = layout
    repo = f"{registry_plain.host}/refs/pushed"
    res = rustimg("push", f"oci:{out}:v1", f"{repo}:v1")
    assert res.code == 0, res
    # Another tool's referrer joins the same tag-schema index ...
    note = tmp_path / "note.txt"
    note.write_text("reviewed\n")
    attach = subprocess.run([oras(), "attach", "--plain-http", "--artifact-type", "application/vnd.example.review",
                             f"{repo}@{digest}", "note.txt:text/plain"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120)
    assert attach.returncode == 0, attach.stderr
    # ... and pushing again (the same artifacts, and a build with --push) loses neither.
    again = rustimg("push", "--json", f"oci:{out}:v1", f"{repo}:v1")
    assert again.code == 0, again
    status, index = get(registry_plain, f"refs/pushed/manifests/sha256-{digest[7:]}")
    types = [m["artifactType"] for m in index["manifests"]]
    assert sorted(types) == sorted([SPDX, INTOTO, "application/vnd.example.review"])  # listed once each
    assert discover(registry_plain, "refs/pushed", digest) == {m["digest"] for m in index["manifests"]}
    assert {r["via"] for r in json.loads(again.out)["pushed"][0]["referrers"]} == {"tag-schema"}


def test_build_push_through_a_staging_layout_carries_them(rustimg, crate, registry_plain, layout):
    """Two --push targets: the build is staged in a temporary layout, then pushed to each."""
    _, digest, artifacts = layout
    refs = [f"{registry_plain.host}/refs/staged-{n}:v1" for n in (1, 2)]
    res = rustimg("build", crate, "--push", refs[0], "--push", refs[1], env=EPOCH)
    assert res.code == 0, res
    for n in (1, 2):
        status, index = get(registry_plain, f"refs/staged-{n}/manifests/sha256-{digest[7:]}")
        assert status == 200 and {m["artifactType"]: m["digest"] for m in index["manifests"]} == artifacts


def test_a_tag_schema_tag_holding_an_image_is_not_overwritten(rustimg, crate, registry_plain, layout):
    """The tag sha256-<hex> already names an image (not a referrers index):
    pushing the artifacts is refused, naming the tag, and the image there stays."""
    out, digest, _ = layout
    repo = f"{registry_plain.host}/refs/squatted"
    squatter = f"{repo}:sha256-{digest[7:]}"
    run("skopeo", "copy", "--dest-tls-verify=false", f"oci:{out}:v1", f"docker://{squatter}")
    res = rustimg("push", f"oci:{out}:v1", f"{repo}:v1")
    assert res.code == 2, res
    assert f"sha256-{digest[7:]}" in res.err and "not the OCI index of the referrers tag schema" in res.err, res
    status, kept = get(registry_plain, f"refs/squatted/manifests/sha256-{digest[7:]}",
                       "application/vnd.oci.image.manifest.v1+json")
    assert status == 200 and kept["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
