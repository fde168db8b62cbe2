"""One image composed from C, Python and Go (issue 18): the same recipe
(scratch, a layer of the example binary, a file and a directory with fixed
modes and owners, an env var, an entrypoint, a user) written by each
language's API gives the same manifest digest, and the image runs under podman
and Docker Engine.

The recipes: tests/capi/compose_recipe.c (built as rustimg_compose_recipe_c),
compose_recipe.py (the installed `rustimg` package) and go_compose_recipe/
(the Go binding over the dev build's librustimg). This file needs the Python
binding installed, so the dev ctest run leaves it out and scripts/test.sh runs
it after `pip install ./bindings/python`.
"""
import hashlib
import io
import json
import os
import sys
import tarfile
from pathlib import Path

import pytest

from conftest import BUILD, blob, podman_run, require_tool, run
from test_build import elf_fixtures, hello_binary  # noqa: F401  session fixtures: the example, ELF samples

HERE = Path(__file__).resolve().parent
NONROOT = 65532


def recipe_env() -> dict:
    # SOURCE_DATE_EPOCH would change the history's time: unset for all three
    return {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}


def digest_of(proc) -> str:
    line = proc.stdout.strip().splitlines()[-1]
    assert line.startswith("sha256:") and len(line) == 71, proc.stdout
    return line


def c_recipe(hello: Path, out: Path) -> str:
    exe = BUILD / "bin" / "rustimg_compose_recipe_c"
    assert exe.exists(), f"{exe} is missing: build first (scripts/setup.sh)"
    return digest_of(run(exe, hello, out, env=recipe_env()))


def python_recipe(hello: Path, out: Path) -> str:
    probe = run(sys.executable, "-c", "import rustimg", check=False)
    assert probe.returncode == 0, (
        f"the Python binding is not installed for {sys.executable}: "
        f"python3 -m pip install ./bindings/python\n{probe.stderr}")
    return digest_of(run(sys.executable, HERE / "compose_recipe.py", hello, out, env=recipe_env()))


def go_recipe(hello: Path, out: Path, work: Path) -> str:
    require_tool("go")
    exe = work / "go_compose_recipe"
    # GOPROXY=off: the module's replace line alone resolves the binding.
    # -a: Go's build cache does not notice a rebuilt C library.
    env = dict(recipe_env(), GOPROXY="off", GOFLAGS="-mod=mod -buildvcs=false", PKG_CONFIG_PATH=str(BUILD))
    proc = run("sh", "-c", f'cd "{HERE / "go_compose_recipe"}" && go build -a -o "{exe}" .', env=env, timeout=900)
    assert exe.exists(), proc.stderr
    return digest_of(run(exe, hello, out, env=recipe_env()))


def layer_entries(layout: Path, digest: str) -> dict:
    with tarfile.open(fileobj=io.BytesIO(blob(layout, digest)), mode="r:gz") as tar:
        return {m.name: m for m in tar.getmembers()}


@pytest.fixture(scope="module")
def composed(hello_binary, tmp_path_factory):
    """{language: (layout directory, digest)} of the recipe written by each API."""
    work = tmp_path_factory.mktemp("compose-languages")
    out = {}
    for language, recipe in (("c", c_recipe), ("python", python_recipe)):
        out[language] = (work / language, recipe(hello_binary, work / language))
    out["go"] = (work / "go", go_recipe(hello_binary, work / "go", work))
    return out


def test_c_python_and_go_compose_the_same_image(composed):
    digests = {language: digest for language, (_, digest) in composed.items()}
    assert len(set(digests.values())) == 1, digests
    layout, digest = composed["c"]
    # every blob is the same file in the three layouts
    for language, (other, _) in composed.items():
        names = sorted(p.name for p in (other / "blobs" / "sha256").iterdir())
        assert names == sorted(p.name for p in (layout / "blobs" / "sha256").iterdir()), language
        for name in names:
            assert hashlib.sha256((other / "blobs" / "sha256" / name).read_bytes()).hexdigest() == name

    manifest = json.loads(blob(layout, digest))
    config = json.loads(blob(layout, manifest["config"]["digest"]))
    assert config["config"]["Env"] == ["GREETING=hi"]
    assert config["config"]["Entrypoint"] == ["/usr/local/bin/hello"]
    assert config["config"]["User"] == f"{NONROOT}:{NONROOT}"
    assert config["created"] == "2023-11-14T22:13:20Z"
    assert [h.get("created_by") for h in config["history"]] == ["compose test"]
    [layer] = manifest["layers"]
    entries = layer_entries(layout, layer["digest"])
    hello = entries["usr/local/bin/hello"]
    assert (hello.mode, hello.uid, hello.gid, hello.mtime) == (0o755, 0, 0, 1700000000)
    greeting = entries["etc/greeting.txt"]
    assert (greeting.mode, greeting.uid, greeting.gid) == (0o640, NONROOT, NONROOT)
    data = entries["data"]
    assert data.isdir() and (data.mode, data.uid, data.gid) == (0o750, NONROOT, NONROOT)


def check_runs(facts: dict, text: str) -> None:
    assert text.startswith("hi, world!\n"), text
    assert (facts["uid"], facts["gid"]) == (str(NONROOT), str(NONROOT)), text
    assert facts["exe"] == "/usr/local/bin/hello" and facts["env.GREETING"] == "hi", text


def test_the_composed_image_runs_under_podman(composed, podman):
    layout, _ = composed["python"]
    check_runs(*podman_run(podman, f"oci:{layout}:compose"))


def test_the_composed_image_runs_under_docker(composed, rustimg, registry_plain, docker_engine):
    layout, digest = composed["go"]
    ref = f"{registry_plain.host}/compose/languages:v1"
    pushed = rustimg("push", f"oci:{layout}:compose", ref)
    assert pushed.code == 0, pushed
    pulled = docker_engine("pull", ref).stdout
    assert f"Digest: {digest}" in pulled, pulled
    try:
        check_runs(*docker_engine.run(ref))
    finally:
        docker_engine.remove(ref)
