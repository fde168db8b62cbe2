"""`rustimg spec` on real crates with the real `cargo metadata`."""
import json
import shutil
import subprocess

import pytest

from conftest import FIXTURES, require_tool, rustimg_bin

CRATES = FIXTURES / "crates"


@pytest.fixture(scope="module", autouse=True)
def _cargo():
    require_tool("cargo")


@pytest.fixture
def ws(tmp_path):
    """A private copy of the ws workspace, so no target/ lands in the tree."""
    dest = tmp_path / "ws"
    shutil.copytree(CRATES / "ws", dest, ignore=shutil.ignore_patterns("target"))
    return dest


def resolved(rustimg, *args, **kwargs):
    res = rustimg("spec", *args, **kwargs)
    assert res.code == 0, res
    return json.loads(res.out)


def error_lines(res):
    """stderr lines; spec diagnostics come bare, other errors after "rustimg spec: "."""
    return [line.removeprefix("rustimg spec: ") for line in res.err.splitlines()]


def test_precedence_cli_file_package_workspace_defaults(rustimg, ws):
    spec = resolved(rustimg, ws / "app", "--set", "env.SHARED=cli", "--set", "user=4")
    assert spec["package"] == "app"
    assert spec["bin"] == "app"  # default-run picks one of the two bins
    assert spec["entrypoint"] == ["/usr/local/bin/app"]
    # env merges key by key: workspace A, package B, file C, CLI wins SHARED.
    assert spec["env"] == {"A": "ws", "B": "pkg", "C": "file", "SHARED": "cli"}
    assert spec["user"] == "4"  # CLI over package
    assert spec["stop-signal"] == "SIGTERM"  # file over package (SIGINT)
    assert spec["tags"] == ["v0.2.0", "latest"]  # file only
    assert spec["ports"] == ["8080/tcp"]  # package replaces workspace's 9000
    assert spec["base"] == "scratch"  # workspace only
    assert spec["compression"] == "zstd"  # workspace only
    assert spec["labels"] == {"org.opencontainers.image.vendor": "rustimg tests"}
    assert spec["workdir"] == "/"  # nobody: default
    assert spec["profile"] == "rustimg"


def test_without_overrides_the_file_and_package_win(rustimg, ws):
    spec = resolved(rustimg, ws / "app")
    assert spec["env"]["SHARED"] == "file"
    assert spec["user"] == "65532:65532"


def test_member_directory_picks_that_package(rustimg, ws):
    spec = resolved(rustimg, ws / "tool")
    assert spec["package"] == "tool"
    assert spec["bin"] == "tool"
    assert spec["entrypoint"] == ["/usr/local/bin/tool"]
    assert spec["env"] == {"A": "ws", "SHARED": "ws"}  # workspace metadata only
    assert spec["ports"] == ["9000/tcp"]


def test_current_directory_is_the_default_crate(ws):
    # Run directly: RUSTIMG_BIN may be relative to the repository, not to cwd.
    proc = subprocess.run([str(rustimg_bin().resolve()), "spec"], cwd=ws / "tool",
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["package"] == "tool"


def test_bin_flag_and_unknown_bin(rustimg, ws):
    spec = resolved(rustimg, ws / "app", "--bin", "app-admin")
    assert spec["entrypoint"] == ["/usr/local/bin/app-admin"]
    res = rustimg("spec", ws / "app", "--bin", "nope", check_code=2)
    assert error_lines(res) == [
        'command line: $.bin: package "app" has no bin target "nope"; its bins: app, app-admin']


def test_virtual_workspace_root_is_ambiguous(rustimg, ws):
    res = rustimg("spec", ws, check_code=2)
    assert "several packages (app, tool)" in res.err, res
    assert "--package" in res.err, res
    assert resolved(rustimg, ws, "--package", "tool")["package"] == "tool"


def test_invalid_package_metadata(rustimg, tmp_path):
    crate = tmp_path / "badmeta"
    shutil.copytree(CRATES / "badmeta", crate)
    res = rustimg("spec", crate, check_code=2)
    assert error_lines(res) == [
        f"{crate}/Cargo.toml [package.metadata.rustimg]: $.env.PORT: expected a string, got a number"]
    assert res.out == ""


def test_spec_file_unknown_key_suggests(rustimg, ws, tmp_path):
    spec_file = tmp_path / "image.json"
    spec_file.write_text(json.dumps({"enviroment": {"A": "1"}, "ports": [0]}))
    res = rustimg("spec", "--spec", spec_file, ws / "app", check_code=2)
    assert error_lines(res) == [
        f'{spec_file}: $.enviroment: unknown key; did you mean "env"?',
        f"{spec_file}: $.ports[0]: port 0 is out of range; use 1-65535",
    ]


def test_missing_spec_file(rustimg, tmp_path):
    missing = tmp_path / "nope.json"
    res = rustimg("spec", "--spec", missing, check_code=2)
    assert error_lines(res) == [f"spec file {missing} does not exist"]


def test_json_syntax_error_names_file_line_column(rustimg, tmp_path):
    spec_file = tmp_path / "rustimg.json"
    spec_file.write_text('{\n  "env": {\n    "A": x\n  }\n}\n')
    res = rustimg("spec", "--spec", spec_file, check_code=2)
    assert res.err.startswith(f"{spec_file}:3:10: invalid JSON: "), res


@pytest.mark.parametrize("doc", ["[" * 100_000 + "]" * 100_000,
                                 '{"labels":' + '{"a":' * 100_000 + "1" + "}" * 100_001])
def test_deeply_nested_spec_is_an_error_not_a_crash(rustimg, tmp_path, doc):
    spec_file = tmp_path / "rustimg.json"
    spec_file.write_text(doc)
    res = rustimg("spec", "--spec", spec_file)
    assert res.code == 2, res  # a negative code is the signal that killed it
    assert error_lines(res) == [f"{spec_file}: JSON nested deeper than 128 levels of arrays and objects, "
                                "the most rustimg reads"], res


def test_cargo_failure_is_reported(rustimg, tmp_path):
    crate = tmp_path / "broken"
    crate.mkdir()
    (crate / "Cargo.toml").write_text("[package\n")
    res = rustimg("spec", crate, check_code=2)
    assert f"`cargo metadata` failed in {crate}" in res.err, res


def test_no_cargo_toml(rustimg, tmp_path):
    res = rustimg("spec", tmp_path, check_code=2)
    assert error_lines(res) == [f"no Cargo.toml in {tmp_path}: point rustimg at a crate directory"]


def test_usage(rustimg):
    assert rustimg("spec", "--help", check_code=0).out.startswith("usage: rustimg spec")
    res = rustimg("spec", "--bogus", check_code=2)
    assert "unknown option '--bogus'" in res.err
