"""size-optimize: the default keeps the crate's behaviour (a panic caught at a
thread's join stays caught) and strips symbols; "min" still gives the old
smallest profile with panic=abort. Real cargo builds, real podman runs."""
import json
import shutil

import pytest

from conftest import FIXTURES, run

CRATE = FIXTURES / "crates" / "panicky"
TRIPLE_DIR = "x86_64-unknown-linux-gnu"


@pytest.fixture(scope="module")
def images(rustimg, tmp_path_factory):
    """build(choice) -> (oci-archive, image name, built binary): one build
    per choice for the module, each in its own copy of the crate."""
    root = tmp_path_factory.mktemp("size-optimize")
    built = {}

    def build(choice):
        if choice in built:
            return built[choice]
        crate = root / choice / "panicky"
        shutil.copytree(CRATE, crate, ignore=shutil.ignore_patterns("target"))
        if choice != "default":
            (crate / "rustimg.json").write_text(json.dumps({"size-optimize": choice}))
        archive = root / f"{choice}.tar"
        name = f"test/panicky:{choice}"
        res = rustimg("build", crate, "--platform", "linux/amd64", "--output", f"oci-archive:{archive}:{name}",
                      env={"SOURCE_DATE_EPOCH": ""})
        assert res.code == 0, res
        built[choice] = (archive, name, crate / "target" / TRIPLE_DIR / "rustimg" / "panicky")
        return built[choice]

    return build


def run_image(podman, archive, name):
    run(*podman, "load", "-i", archive)
    return run(*podman, "run", "--rm", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", name,
               check=False, timeout=300)


def test_default_keeps_panic_unwind_so_a_joined_panic_is_caught(images, podman):
    archive, name, _ = images("default")
    res = run_image(podman, archive, name)
    assert res.returncode == 0, res
    assert res.stdout.strip() == "recovered", res


def test_default_binary_is_stripped(rustimg, images):
    """A non-regression check, not a new behaviour: the default stripped
    symbols before the size-optimize choices too, and still does."""
    _, _, binary = images("default")
    res = rustimg("verify", "--json", binary)
    assert res.code == 0, res
    assert res.json_lines()[0]["stripped"] is True, res


def test_min_aborts_on_the_worker_panic(rustimg, images, podman):
    archive, name, binary = images("min")
    res = run_image(podman, archive, name)
    assert res.returncode != 0, res
    assert "recovered" not in res.stdout, res
    assert rustimg("verify", "--json", binary).json_lines()[0]["stripped"] is True


def test_spec_shows_the_choice_as_a_string(rustimg, tmp_path):
    crate = tmp_path / "panicky"
    shutil.copytree(CRATE, crate, ignore=shutil.ignore_patterns("target"))
    res = rustimg("spec", crate)
    assert res.code == 0, res
    assert json.loads(res.out)["size-optimize"] == "release", res
    (crate / "rustimg.json").write_text(json.dumps({"size-optimize": True}))  # old specs: true meant "min"
    assert json.loads(rustimg("spec", crate).out)["size-optimize"] == "min"
    (crate / "rustimg.json").write_text(json.dumps({"size-optimize": "smallest"}))
    res = rustimg("spec", crate)
    assert res.code != 0
    assert '"release", "small", "min" or "none"' in res.err, res
