"""Shared fixtures for the integration suite: the real CLI, real tools."""
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("RUSTIMG_BUILD_DIR", ROOT / "build"))
FIXTURES = ROOT / "tests" / "fixtures"
EXAMPLE = ROOT / "examples" / "hello"


def rustimg_bin() -> Path:
    return Path(os.environ.get("RUSTIMG_BIN", BUILD / "bin" / "rustimg")).resolve()


class Result:
    def __init__(self, proc: subprocess.CompletedProcess):
        self.code = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def json_lines(self):
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]

    def __repr__(self):
        return f"<exit {self.code}\nstdout:\n{self.out}\nstderr:\n{self.err}>"


@pytest.fixture(scope="session")
def rustimg(tmp_path_factory):
    """Runs the built CLI: rustimg("verify", "--json", path) -> Result. Image
    bases are cached in a directory of the session, not the user's."""
    exe = rustimg_bin()
    if not exe.exists():
        pytest.fail(f"{exe} is missing: build first (scripts/setup.sh)")
    cache = tmp_path_factory.mktemp("base-cache")

    def run(*args, cwd=None, env=None, check_code=None):
        full_env = dict(os.environ, RUSTIMG_CACHE_DIR=str(cache))
        if env:
            full_env.update(env)
        proc = subprocess.run([str(exe), *map(str, args)], cwd=cwd, env=full_env,
                              capture_output=True, text=True, timeout=1200)
        res = Result(proc)
        if check_code is not None:
            assert res.code == check_code, res
        return res

    return run


def require_tool(name: str) -> str:
    """Tests use real tools; a missing one is a set-up failure, not a skip."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: run scripts/setup.sh")
    return path


def run(*args, check=True, env=None, timeout=600):
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True, env=full_env, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def podman():
    """podman with isolated storage and the flags this machine needs (specs.md 4.3, 4.7).
    The run root must be shorter than 50 characters, hence a short /tmp path."""
    require_tool("podman")
    require_tool("runc")
    store = Path(tempfile.mkdtemp(prefix="rustimg-pm-", dir="/tmp"))
    yield ["podman", "--root", store / "root", "--runroot", store / "run", "--storage-driver", "vfs",
           "--runtime", "runc", "--cgroup-manager", "cgroupfs", "--events-backend", "file"]
    shutil.rmtree(store, ignore_errors=True)


def output_facts(stdout: str) -> dict:
    """The key=value lines the example app (examples/hello) prints about its container."""
    return dict(line.split("=", 1) for line in stdout.splitlines() if "=" in line)


def podman_run(p, image, platform=None):
    """Runs `image` (a name, or a transport reference such as oci:DIR:TAG);
    `platform` ("linux/arm64") picks one of an index's images."""
    flags = ["--platform", platform] if platform else []
    res = run(*p, "run", "--rm", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", *flags, image,
              timeout=300)
    return output_facts(res.stdout), res.stdout


def assert_runs_the_example(facts: dict, text: str) -> None:
    """What the example app prints in its image as rustimg builds it by default."""
    assert text.startswith("Hello from rustimg, world!\n"), text
    assert facts["uid"] == "65532" and facts["gid"] == "65532", text
    assert facts["cwd"] == "/", text
    assert facts["exe"] == "/usr/local/bin/hello", text
    assert facts["env.SSL_CERT_FILE"] == "/etc/ssl/certs/ca-certificates.crt", text
    assert facts["ca_bundle"] == "present", text


def crate_with_asset(directory: Path, size: int) -> Path:
    """A copy of the example crate in `directory` whose spec adds `size`
    random (incompressible) bytes as /data/blob.bin: a big assets layer."""
    crate = directory / "hello"
    shutil.copytree(EXAMPLE, crate, ignore=shutil.ignore_patterns("target"))
    (crate / "data").mkdir()
    with open(crate / "data" / "blob.bin", "wb") as f:
        f.write(os.urandom(size))
    (crate / "rustimg.json").write_text(json.dumps({"assets": [{"source": "data/blob.bin", "dest": "/data/"}]}))
    return crate


def layout_images(layout: Path) -> list:
    """The index.json entries of an OCI layout that are images: not the
    artifacts about them (SBOMs) a build lists after them."""
    index = json.loads((layout / "index.json").read_text())
    return [m for m in index["manifests"] if "artifactType" not in m]


def validate_with_oci_image_tool(layout: Path, tmp: Path) -> None:
    """`oci-image-tool validate --type image` over the images of an OCI layout.
    The tool (1.0.0-rc, older than OCI 1.1) checks every index.json entry as
    an image, so the SBOM artifacts a build lists would fail on their empty
    config; and its --ref filter drops the wrong entries when it removes
    two in a row. So it gets a copy (hard links) listing only the images."""
    require_tool("oci-image-tool")
    copy = tmp / f"oci-image-tool-{layout.name}"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(layout / "blobs", copy / "blobs", copy_function=os.link)
    shutil.copy(layout / "oci-layout", copy / "oci-layout")
    index = json.loads((layout / "index.json").read_text())
    index["manifests"] = layout_images(layout)
    (copy / "index.json").write_text(json.dumps(index))
    res = run("oci-image-tool", "validate", "--type", "image", copy)
    assert "Validation succeeded" in res.stdout + res.stderr, res


def blob(layout: Path, digest: str) -> bytes:
    """The bytes of blob `digest` in the OCI layout at `layout`."""
    return (layout / "blobs" / "sha256" / digest.split(":", 1)[1]).read_bytes()


from registries import *  # noqa: E402,F401,F403  registry fixtures (issue 5): tests/integration/registries.py
from docker_engine import *  # noqa: E402,F401,F403  Docker Engine fixtures (issue 14): docker_engine.py
