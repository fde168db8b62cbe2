"""The spec's "tags" are where a push of the image goes when the reference
names no tag: build --push REPO and --output docker://... put the image
under each tag, against the real docker-registry on loopback."""
import json
import os
import subprocess

import pytest

from conftest import ROOT, rustimg_bin
from registries import record_output
from test_build import hello_binary  # noqa: F401  session fixture: the example as a static binary

EXAMPLE = ROOT / "examples" / "hello"


def build(binary, spec, *args):
    env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_CONFIG", "REGISTRY_AUTH_FILE")}
    env.update({"SOURCE_DATE_EPOCH": "", "HOME": "/nonexistent-rustimg-home",
                "RUSTUP_HOME": os.path.expanduser("~/.rustup"), "CARGO_HOME": os.path.expanduser("~/.cargo")})
    proc = subprocess.run([str(rustimg_bin()), "build", "--binary", str(binary), "--crate", str(EXAMPLE),
                           "--spec", str(spec), *args], capture_output=True, text=True, env=env, timeout=600)
    record_output(proc.stdout, proc.stderr)
    return proc


def tags_of(repo):
    out = subprocess.run(["skopeo", "list-tags", "--tls-verify=false", f"docker://{repo}"], capture_output=True,
                         text=True, check=True).stdout
    # The referrers tag schema's indexes (sha256-<hex>: the SBOM and provenance) are no image tags.
    return sorted(t for t in json.loads(out)["Tags"] if not t.startswith("sha256-"))


def digest_of(ref):
    return subprocess.run(["skopeo", "inspect", "--tls-verify=false", "--format", "{{.Digest}}", f"docker://{ref}"],
                          capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def tagged_spec(tmp_path):
    spec = tmp_path / "rustimg.json"
    spec.write_text(json.dumps({"tags": ["v9", "latest"]}))
    return spec


@pytest.mark.parametrize("how", ["push", "push-after-output", "several-pushes"])
def test_spec_tags_apply_to_a_reference_without_a_tag(hello_binary, tagged_spec, registry_plain, tmp_path,  # noqa: F811
                                                      how):
    repo = f"{registry_plain.host}/tags/{how}"
    other = f"{registry_plain.host}/tags/{how}-other"
    args = {"push": ["--push", repo],
            "push-after-output": ["--output", f"oci:{tmp_path / 'layout'}", "--push", repo],
            "several-pushes": ["--push", repo, "--push", other]}[how]
    proc = build(hello_binary, tagged_spec, *args)
    assert proc.returncode == 0, proc.stderr
    digest = [line for line in proc.stdout.splitlines() if line.startswith("sha256:")][0]
    assert f"{repo}:v9@{digest}" in proc.stdout.splitlines()
    assert tags_of(repo) == ["latest", "v9"]
    assert digest_of(f"{repo}:v9") == digest_of(f"{repo}:latest") == digest
    if how == "several-pushes":
        assert tags_of(other) == ["latest", "v9"]


def test_a_written_tag_is_pushed_as_written(hello_binary, tagged_spec, registry_plain):  # noqa: F811
    ref = f"{registry_plain.host}/tags/explicit:rc1"
    proc = build(hello_binary, tagged_spec, "--output", f"docker://{ref}")
    assert proc.returncode == 0, proc.stderr
    assert tags_of(f"{registry_plain.host}/tags/explicit") == ["rc1"]
