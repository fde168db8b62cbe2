"""The user's cargo configuration, read as cargo reads it: real cargo builds of
a tiny crate whose main prints whether `--cfg userflag` reached rustc. Each
build must keep the user's flag and still give a static binary (the build
uses --base scratch without --allow-dynamic, so a dynamic binary fails it)."""
import shutil
from pathlib import Path

import pytest

from conftest import FIXTURES, run

CRATE = FIXTURES / "crates" / "ownflags"
TRIPLE = "x86_64-unknown-linux-gnu"


def crate_with_config(tmp_path: Path, config: str | None) -> Path:
    crate = tmp_path / "ownflags"
    shutil.copytree(CRATE, crate, ignore=shutil.ignore_patterns("target"))
    if config is None:
        shutil.rmtree(crate / ".cargo")
    else:
        (crate / ".cargo" / "config.toml").write_text(config)
    return crate


def build_and_check(rustimg, crate: Path, tmp_path: Path, env=None):
    res = rustimg("build", crate, "--base", "scratch", "--output", f"oci:{tmp_path / 'layout'}",
                  env={"SOURCE_DATE_EPOCH": "", **(env or {})})
    assert res.code == 0, res
    binary = crate / "target" / TRIPLE / "rustimg" / "ownflags"
    assert run(binary).stdout.strip() == "userflag is set", res
    report = rustimg("verify", "--json", binary).json_lines()[0]
    assert report["linkage"] == "static-pie", report
    return res


CONFIGS = {
    # the form the old line scanner missed: cargo then ignored build.rustflags
    # and the binary came out dynamic
    "inline_table": f'[target]\n{TRIPLE} = {{ rustflags = ["--cfg", "userflag"] }}\n',
    # a string value: cargo cannot join an array from --config to it
    "string_value": f'[target.{TRIPLE}]\nrustflags = "--cfg userflag"\n',
    # a cfg table for another OS does not apply: build.rustflags stays in charge
    "cfg_table_elsewhere": ("[target.'cfg(windows)']\nrustflags = [\"--cfg\", \"windows_only\"]\n"
                            '[build]\nrustflags = ["--cfg", "userflag"]\n'),
    # a cfg table that matches the target supplies the flags
    "cfg_table_match": ("[target.'cfg(all(unix, target_arch = \"x86_64\"))']\n"
                        'rustflags = ["--cfg", "userflag"]\n'),
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_user_config_flags_are_kept_and_binary_is_static(rustimg, tmp_path, name):
    build_and_check(rustimg, crate_with_config(tmp_path, CONFIGS[name]), tmp_path)


def test_target_rustflags_env_var_is_kept(rustimg, tmp_path):
    # the crate's config says something else for build.rustflags: cargo
    # ignores it once target flags exist, and so must rustimg
    crate = crate_with_config(tmp_path, '[build]\nrustflags = ["--cfg", "unused"]\n')
    build_and_check(rustimg, crate, tmp_path,
                    env={"CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS": "--cfg userflag"})


def test_config_in_cargo_home_is_read(rustimg, tmp_path):
    home = tmp_path / "cargo-home"
    home.mkdir()
    (home / "config.toml").write_text(f'target.{TRIPLE}.rustflags = "--cfg userflag"\n')
    crate = crate_with_config(tmp_path, None)
    # the crate has no dependencies, so an empty CARGO_HOME is enough
    build_and_check(rustimg, crate, tmp_path, env={"CARGO_HOME": str(home)})


def test_malformed_config_names_the_file(rustimg, tmp_path):
    crate = crate_with_config(tmp_path, "[target\nrustflags = [\n")
    res = rustimg("build", crate, "--output", f"oci:{tmp_path / 'out'}")
    assert res.code in (1, 2), res  # `cargo metadata`, which runs first, may refuse it itself
    assert str(crate / ".cargo" / "config.toml") in res.err, res
    assert not (tmp_path / "out").exists()


def test_missing_cargo_lock_gives_advice_once(rustimg, tmp_path):
    crate = crate_with_config(tmp_path, None)
    (crate / "Cargo.lock").unlink()
    res = rustimg("build", crate, "--output", f"oci:{tmp_path / 'out'}")
    assert res.code == 2, res
    assert res.err.count("cargo generate-lockfile") == 1, res.err
    assert f"{crate} has no Cargo.lock" in res.err, res.err
    assert '"locked": false' in res.err, res.err
    # not cargo's hint about a --locked flag the user never passed
    assert "remove the --locked flag" not in res.err, res.err
    assert not (crate / "Cargo.lock").exists()
    assert not (tmp_path / "out").exists()
    # with "locked": false cargo may write it, and the build goes on
    (crate / "rustimg.json").write_text('{"locked": false}\n')
    res = rustimg("build", crate, "--base", "scratch", "--output", f"oci:{tmp_path / 'out'}",
                  env={"SOURCE_DATE_EPOCH": ""})
    assert res.code == 0, res
    assert (crate / "Cargo.lock").exists()
