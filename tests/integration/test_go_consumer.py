"""The Go module as its users get it (issue 15, items 6 and 7): a consumer
module outside the tree, set up with the steps the README gives (its own
go.mod and a `replace` line: the module's import path cannot be fetched),
built against librustimg.so and, with -tags rustimg_static, against
librustimg.a; each binary builds the example crate and pushes it to the real
docker-registry on loopback."""
import hashlib
import os
import shlex
import shutil
import subprocess

import pytest

from conftest import BUILD, EXAMPLE, ROOT, require_tool, run
from registries import record_output

MODULE = "github.com/rustimg/rustimg/bindings/go"
CHECKOUT = "/path/to/rustimg"  # how the README writes the rustimg checkout
# The README's steps, word for word; the test runs them with CHECKOUT replaced.
SETUP = [
    "go mod init example.com/ci-tool",
    f"go mod edit -replace {MODULE}={CHECKOUT}/bindings/go",
    "go mod tidy",
]
# -a: Go's build cache does not notice a switch of pkg-config file or a
# rebuilt C library, so a build without it may link a stale one.
BUILDS = {
    "dynamic": "go build -a -o ci-tool .",
    "static": "go build -a -tags rustimg_static -o ci-tool .",
}


def needed(binary) -> list:
    out = run("readelf", "-d", binary).stdout
    return [line.split("[", 1)[1].rstrip("]") for line in out.splitlines() if "(NEEDED)" in line]


@pytest.fixture(scope="module")
def consumer(tmp_path_factory):
    """The example CI tool (examples/go/main.go) in a module of its own, out
    of the tree. GOPROXY=off: the replace line alone must make it resolve."""
    require_tool("go")
    mod = tmp_path_factory.mktemp("go-consumer")
    shutil.copy(ROOT / "examples" / "go" / "main.go", mod / "main.go")
    env = {"GOPROXY": "off", "GOFLAGS": "-mod=mod -buildvcs=false"}
    for step in SETUP:
        # split first: the checkout's path may hold spaces
        argv = [arg.replace(CHECKOUT, str(ROOT)) for arg in shlex.split(step)]
        proc = subprocess.run(argv, cwd=mod, capture_output=True, text=True, env=dict(os.environ, **env), timeout=300)
        assert proc.returncode == 0, f"{step}:\n{proc.stderr}"
    return mod, env


@pytest.fixture(scope="module")
def crate(tmp_path_factory):
    """One copy of the example crate for both builds (cargo's second build is a no-op)."""
    dst = tmp_path_factory.mktemp("go-crate") / "hello"
    shutil.copytree(EXAMPLE, dst, ignore=shutil.ignore_patterns("target"))
    return dst


def test_readme_gives_these_steps():
    readme = (ROOT / "README.md").read_text()
    for step in SETUP + list(BUILDS.values()):
        assert step in readme, f"the README's Go section should give the step `{step}`"


@pytest.mark.parametrize("linkage", ["dynamic", "static"])
def test_consumer_module_builds_and_pushes(linkage, consumer, crate, registry_plain, tmp_path):
    mod, env = consumer
    env = dict(os.environ, **env, PKG_CONFIG_PATH=str(BUILD))
    proc = subprocess.run(BUILDS[linkage].split(), cwd=mod, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    tool = tmp_path / "ci-tool"
    shutil.move(mod / "ci-tool", tool)

    libs = needed(tool)
    if linkage == "static":
        # no librustimg.so at run time, and libcurl linked: a static
        # librustimg cannot dlopen it, so it must be a NEEDED entry
        assert not [n for n in libs if n.startswith("librustimg")], libs
        assert any(n.startswith("libcurl.so") for n in libs), libs
    else:
        assert "librustimg.so.0" in libs, libs

    ref = f"{registry_plain.host}/go-consumer/{linkage}:v1"
    docker_config = tmp_path / "docker"  # no credentials from the caller's home
    docker_config.mkdir()
    proc = subprocess.run([str(tool), "-crate", str(crate), "-output", f"oci:{tmp_path / 'layout'}:v1",
                           "-push", ref, "-timeout", "5m"], capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, DOCKER_CONFIG=str(docker_config), SOURCE_DATE_EPOCH="0"))
    record_output(proc.stdout, proc.stderr)
    assert proc.returncode == 0, proc.stderr
    digest, reference = proc.stdout.split()[-2:]
    assert reference == f"{ref}@{digest}", proc.stdout
    raw = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"],
                         capture_output=True, check=True, timeout=120).stdout
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == digest
