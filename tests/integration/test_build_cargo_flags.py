"""cargo's flags on `rustimg build` (issue 19, item 6): --features,
--no-default-features, --all-features, --locked/--no-locked/--frozen/--offline
and --set KEY=VALUE override the spec as on `rustimg spec`; in a virtual
workspace `--bin NAME` picks the one member that has the bin, as cargo does.
Real cargo builds of tiny crates generated here; the binary is taken out of
the image and run, so what the flags changed is what the image holds."""
import gzip
import io
import json
import tarfile
from pathlib import Path

import pytest

from conftest import blob, run

FEATURES_TOML = """[package]
name = "flagged"
version = "0.1.0"
edition = "2021"

[features]
default = ["greet"]
greet = []
shout = []
"""
FEATURES_MAIN = 'fn main() { println!("greet={} shout={}", cfg!(feature = "greet"), cfg!(feature = "shout")); }\n'


def write_crate(directory: Path, manifest: str, sources: dict) -> Path:
    directory.mkdir(parents=True)
    (directory / "Cargo.toml").write_text(manifest)
    for name, text in sources.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(text)
    return directory


@pytest.fixture(scope="module")
def flagged(tmp_path_factory):
    """A crate whose features change what it prints (no dependencies)."""
    crate = write_crate(tmp_path_factory.mktemp("features") / "flagged", FEATURES_TOML,
                        {"src/main.rs": FEATURES_MAIN})
    run("cargo", "generate-lockfile", "--offline", "--manifest-path", crate / "Cargo.toml")
    return crate


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A virtual workspace: alpha (bins alpha-cli, common) and beta (bins beta-cli, common)."""
    root = tmp_path_factory.mktemp("ws") / "ws"
    write_crate(root, '[workspace]\nmembers = ["alpha", "beta"]\nresolver = "2"\n', {})
    for name in ("alpha", "beta"):
        manifest = (f'[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2021"\n\n'
                    f'[[bin]]\nname = "{name}-cli"\npath = "src/main.rs"\n\n'
                    '[[bin]]\nname = "common"\npath = "src/common.rs"\n')
        write_crate(root / name, manifest, {"src/main.rs": f'fn main() {{ println!("I am {name}"); }}\n',
                                            "src/common.rs": 'fn main() { println!("common"); }\n'})
    run("cargo", "generate-lockfile", "--offline", "--manifest-path", root / "Cargo.toml")
    return root


def build(rustimg, crate: Path, tmp_path: Path, *flags):
    layout = tmp_path / "layout"
    res = rustimg("build", crate, "--base", "scratch", "--output", f"oci:{layout}", "--json", *flags,
                  env={"SOURCE_DATE_EPOCH": ""})
    return res, layout


def image_of(res, layout: Path):
    """(config, {path: bytes}) of the single-platform image a --json build wrote."""
    assert res.code == 0, res
    manifest = json.loads(res.out)["manifests"][0]
    config = json.loads(blob(layout, manifest["config"]["digest"]))
    files = {}
    for layer in manifest["layers"]:
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob(layout, layer["digest"])))) as tar:
            for member in tar.getmembers():
                if member.isfile():
                    files[member.name] = tar.extractfile(member).read()
    return config, files


def run_app(res, layout: Path, tmp_path: Path, name: str) -> str:
    """What the image's /usr/local/bin/NAME prints (the static binary, run here)."""
    _, files = image_of(res, layout)
    app = tmp_path / name
    app.write_bytes(files[f"usr/local/bin/{name}"])
    app.chmod(0o755)
    return run(app).stdout.strip()


def test_features_flag_reaches_cargo(rustimg, flagged, tmp_path):
    res, layout = build(rustimg, flagged, tmp_path, "--features", "shout")
    assert run_app(res, layout, tmp_path, "flagged") == "greet=true shout=true"


def test_no_default_features(rustimg, flagged, tmp_path):
    res, layout = build(rustimg, flagged, tmp_path, "--no-default-features")
    assert run_app(res, layout, tmp_path, "flagged") == "greet=false shout=false"
    # with a feature named as cargo takes them, and over the spec's own list
    (tmp_path / "spec.json").write_text('{"features": ["greet"]}')
    res, layout = build(rustimg, flagged, tmp_path, "--spec", tmp_path / "spec.json", "--no-default-features",
                        "--features", "shout,")
    assert run_app(res, layout, tmp_path, "flagged") == "greet=false shout=true"


def test_all_features(rustimg, flagged, tmp_path):
    res, layout = build(rustimg, flagged, tmp_path, "--no-default-features", "--all-features")
    assert run_app(res, layout, tmp_path, "flagged") == "greet=true shout=true"


def test_set_key_value_overrides_the_spec(rustimg, flagged, tmp_path):
    res, layout = build(rustimg, flagged, tmp_path, "--set", "user=1234", "--set", "env.MODE=fast",
                        "--set", "ports=[8080]")
    config, _ = image_of(res, layout)
    assert config["config"]["User"] == "1234", config
    assert "MODE=fast" in config["config"]["Env"], config
    assert "8080/tcp" in config["config"]["ExposedPorts"], config
    # a named flag wins over a --set of the same key; a bad value names the key
    res, layout = build(rustimg, flagged, tmp_path, "--set", "user=1234", "--user", "4321")
    assert image_of(res, layout)[0]["config"]["User"] == "4321"
    # also for list and map keys, whatever --set gave them
    res, layout = build(rustimg, flagged, tmp_path, "--set", 'cmd=["a"]', "--cmd", "b",
                        "--set", "ports=[8080]", "--port", "9090")
    config = image_of(res, layout)[0]["config"]
    assert config["Cmd"] == ["b"] and list(config["ExposedPorts"]) == ["9090/tcp"], config
    res, layout = build(rustimg, flagged, tmp_path, "--set", "cmd=echo", "--cmd", "b", "--set", "env=5",
                        "--env", "A=1", "--set", "labels=[1]", "--label", "L=x")
    config = image_of(res, layout)[0]["config"]
    assert config["Cmd"] == ["b"] and "A=1" in config["Env"] and config["Labels"]["L"] == "x", config
    res, _ = build(rustimg, flagged, tmp_path, "--set", "workdir=relative")
    assert res.code == 2, res
    assert "$.workdir" in res.err and "absolute" in res.err, res


def test_cargo_flags_with_binary_are_bad_usage(rustimg, tmp_path):
    res = rustimg("build", "--binary", "/bin/true", "--features", "nope", "--locked", "--base", "scratch",
                  "--output", f"oci:{tmp_path / 'layout'}")
    assert res.code == 2, res
    assert "--features, --locked apply to crate builds; --binary compiles nothing" in res.err, res
    assert not (tmp_path / "layout").exists()


def test_empty_features_flag_keeps_the_spec_features(rustimg, flagged, tmp_path):
    # cargo takes --features naming no feature as no flag: the spec's list stays
    # (" ", not "": the CLI parser takes an empty option value as missing)
    (tmp_path / "spec.json").write_text('{"features": ["shout"]}')
    res, layout = build(rustimg, flagged, tmp_path, "--spec", tmp_path / "spec.json", "--features", " ")
    assert run_app(res, layout, tmp_path, "flagged") == "greet=true shout=true"


def test_locked_flags_override_the_spec(rustimg, flagged, tmp_path):
    crate = tmp_path / "unlocked"
    write_crate(crate, FEATURES_TOML, {"src/main.rs": FEATURES_MAIN,
                                       "rustimg.json": '{"locked": false}\n'})
    res, layout = build(rustimg, crate, tmp_path, "--locked")
    assert res.code == 2, res
    assert "has no Cargo.lock" in res.err and "cargo generate-lockfile" in res.err, res
    assert "--no-locked" in res.err, res
    assert not (crate / "Cargo.lock").exists()
    assert not layout.exists()
    # --frozen is --locked too
    res, _ = build(rustimg, crate, tmp_path, "--frozen")
    assert res.code == 2 and "has no Cargo.lock" in res.err, res
    (crate / "rustimg.json").write_text('{"locked": true}\n')
    res, layout = build(rustimg, crate, tmp_path, "--no-locked")
    assert run_app(res, layout, tmp_path, "flagged") == "greet=true shout=false"
    assert (crate / "Cargo.lock").exists()


def test_conflicting_lock_flags_are_bad_usage(rustimg, flagged, tmp_path):
    res, _ = build(rustimg, flagged, tmp_path, "--locked", "--no-locked")
    assert res.code == 2, res
    assert "--locked or --no-locked, not both" in res.err, res


def test_spec_command_takes_the_same_flags(rustimg, flagged):
    res = rustimg("spec", flagged, "--features", "a b", "--features", "c", "--no-default-features",
                  "--all-features", "--frozen")
    assert res.code == 0, res
    spec = json.loads(res.out)
    assert spec["features"] == ["a", "b", "c"], spec
    assert spec["default-features"] is False and spec["all-features"] is True, spec
    assert spec["locked"] is True and spec["offline"] is True, spec
    spec = json.loads(rustimg("spec", flagged, "--offline", "--no-locked", check_code=0).out)
    assert spec["locked"] is False and spec["offline"] is True, spec


def test_workspace_bin_picks_its_package(rustimg, workspace, tmp_path):
    res, layout = build(rustimg, workspace, tmp_path, "--bin", "beta-cli")
    assert run_app(res, layout, tmp_path, "beta-cli") == "I am beta"
    spec = json.loads(rustimg("spec", workspace, "--bin", "alpha-cli", check_code=0).out)
    assert spec["package"] == "alpha" and spec["bin"] == "alpha-cli", spec


def test_workspace_bin_ambiguous_or_unknown(rustimg, workspace, tmp_path):
    res, layout = build(rustimg, workspace, tmp_path, "--bin", "common")
    assert res.code == 2, res
    assert 'bin target "common" is in several packages' in res.err, res
    assert "(alpha, beta)" in res.err and "--package" in res.err, res
    assert not layout.exists()
    res, _ = build(rustimg, workspace, tmp_path, "--bin", "beta-clj")
    assert res.code == 2, res
    assert 'did you mean "beta-cli"?' in res.err, res
    # --package settles it
    res, layout = build(rustimg, workspace, tmp_path, "--bin", "common", "--package", "beta")
    assert run_app(res, layout, tmp_path, "common") == "common"
