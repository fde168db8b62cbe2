"""build --output docker://HOST/REPO:TAG: a registry is a destination like
oci: and oci-archive:, and the build uploads each layer as it is written,
with no copy of it on disk. Against the real docker-registry on loopback.

rustimg runs with RLIMIT_FSIZE far below the size of the image's largest
layer: a build that wrote that layer to any file (a staging store, a temp
file, a layout) would be killed by SIGXFSZ. The same inputs written to an
OCI layout give the same digest, so the streamed image is the image."""
import hashlib
import json
import os
import re
import resource
import subprocess

import pytest

from conftest import crate_with_asset, run, rustimg_bin
from registries import record_output
from test_build import hello_binary  # noqa: F401  session fixture: the example as a static binary

ASSET_BYTES = 48 << 20        # incompressible: the assets layer is as large
FILE_SIZE_LIMIT = 8 << 20     # the largest file rustimg may write here


@pytest.fixture(scope="module")
def big_crate(tmp_path_factory):
    """The example crate with a 48 MiB random asset."""
    return crate_with_asset(tmp_path_factory.mktemp("stream"), ASSET_BYTES)


def _limit_file_size():
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))


def build(binary, crate, tmpdir, *dest_args, limit=True):
    env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_CONFIG", "REGISTRY_AUTH_FILE")}
    env.update({"TMPDIR": str(tmpdir), "SOURCE_DATE_EPOCH": "", "HOME": "/nonexistent-rustimg-home",
                "RUSTUP_HOME": os.path.expanduser("~/.rustup"), "CARGO_HOME": os.path.expanduser("~/.cargo")})
    proc = subprocess.run([str(rustimg_bin()), "build", "--binary", str(binary), "--crate", str(crate), *dest_args],
                          capture_output=True, text=True, env=env, timeout=600,
                          preexec_fn=_limit_file_size if limit else None)
    record_output(proc.stdout, proc.stderr)
    return proc


def registry_digest(ref):
    raw = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"],
                         capture_output=True, check=True).stdout
    return "sha256:" + hashlib.sha256(raw).hexdigest(), json.loads(raw)


def files_under(path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


@pytest.mark.parametrize("form", ["output", "push"])
def test_build_streams_layers_to_the_registry(hello_binary, big_crate, registry_plain, tmp_path, form):  # noqa: F811
    # The reference: the same inputs in an OCI layout (no file size limit).
    layout = tmp_path / "layout"
    proc = build(hello_binary, big_crate, tmp_path, "--output", f"oci:{layout}", limit=False)
    assert proc.returncode == 0, proc.stderr
    expected = proc.stdout.strip().splitlines()[-1]
    assert max(p.stat().st_size for p in (layout / "blobs" / "sha256").iterdir()) > ASSET_BYTES

    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    before = files_under(big_crate)
    ref = f"{registry_plain.host}/stream/{form}:v1"
    args = ["--output", f"docker://{ref}"] if form == "output" else ["--push", ref]
    proc = build(hello_binary, big_crate, tmpdir, *args)
    assert proc.returncode == 0, f"exit {proc.returncode} (-25 is SIGXFSZ: a layer was written to disk)\n{proc.stderr}"
    assert proc.stdout.strip().splitlines()[-1] == f"{ref}@{expected}"
    # the layers streamed during the build count as uploaded, not as found
    assert re.search(r": [1-9][0-9]* blobs uploaded, 0 mounted, 0 already there", proc.stderr), proc.stderr

    digest, manifest = registry_digest(ref)
    assert digest == expected
    assert max(layer["size"] for layer in manifest["layers"]) > ASSET_BYTES
    # nothing was left behind: not in TMPDIR, not beside the crate
    assert files_under(tmpdir) == []
    assert files_under(big_crate) == before

    # what the registry holds is a whole, valid image
    out = tmp_path / "copy"
    run("skopeo", "copy", "--src-tls-verify=false", f"docker://{ref}", f"oci:{out}:v1")
    run("oci-image-tool", "validate", "--type", "image", "--ref", "name=v1", out)


def test_registry_destination_errors_name_the_input(hello_binary, big_crate, tmp_path):  # noqa: F811
    proc = build(hello_binary, big_crate, tmp_path, "--output", "docker://")
    assert proc.returncode == 2, proc.stderr
    assert "docker://" in proc.stderr

    # nothing listens on port 9: the build fails, naming the registry, and leaves nothing behind
    proc = build(hello_binary, big_crate, tmp_path, "--output", "docker://127.0.0.1:9/stream/none:v1")
    assert proc.returncode == 1, proc.stderr
    assert "127.0.0.1:9" in proc.stderr
    assert files_under(tmp_path) == []
