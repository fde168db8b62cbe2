"""The command line as users meet it (issue 14, items 7, 9, 10): help for each
command, "did you mean" for typos, RUSTIMG_REPO (and the spec's "repository")
as the default push repository, and `cargo rustimg`."""
import json
import os
import shutil
import subprocess

import pytest

from conftest import ROOT, layout_images, require_tool, rustimg_bin
from registries import record_output
from test_build import hello_binary  # noqa: F401  session fixture: the example as a static binary
from test_push_tags import tags_of

EXAMPLE = ROOT / "examples" / "hello"


# --- help and typos -------------------------------------------------------------

@pytest.mark.parametrize("how", [("help", "build"), ("build", "--help"), ("build", "-h")])
def test_command_help(rustimg, how):
    res = rustimg(*how, check_code=0)
    assert res.out.startswith("usage: rustimg build"), res
    # every option with what it means, the registry options, the exit status
    assert "--output DEST" in res.out and "--push [REF]" in res.out and "RUSTIMG_REPO" in res.out, res
    assert "registry options:" in res.out and "--insecure-registry HOST" in res.out, res
    assert "exit status:" in res.out, res


def test_help_of_each_command_is_the_same_both_ways(rustimg):
    for command in ("verify", "spec", "build", "push", "pull"):
        via_help = rustimg("help", command, check_code=0).out
        assert via_help.startswith(f"usage: rustimg {command}"), via_help
        assert via_help == rustimg(command, "--help", check_code=0).out


def test_unknown_option_suggests(rustimg):
    res = rustimg("build", "--outptu", "oci:/tmp/x", check_code=2)
    assert "unknown option '--outptu'; did you mean --output?" in res.err, res
    assert "rustimg build --help" in res.err, res
    res = rustimg("pull", "--platfrom", "linux/arm64", "127.0.0.1:1/a:b", check_code=2)
    assert "did you mean --platform?" in res.err, res


def test_unknown_command_suggests(rustimg):
    res = rustimg("biuld", ".", check_code=2)
    assert "unknown command 'biuld'; did you mean build?" in res.err, res
    res = rustimg("help", "pusj", check_code=2)
    assert "did you mean push?" in res.err, res


def test_unknown_option_before_the_command_is_refused(rustimg):
    res = rustimg("--bogus", "version", check_code=2)
    assert "unknown option '--bogus'" in res.err and "0." not in res.out, res
    res = rustimg("--versoin", "build", check_code=2)
    assert "unknown option '--versoin'; did you mean --version?" in res.err, res


def oci_config(layout):
    """The image config of the only manifest of an OCI layout."""
    def blob(digest):
        return json.loads((layout / "blobs" / "sha256" / digest.split(":", 1)[1]).read_text())
    index = json.loads((layout / "index.json").read_text())
    return blob(blob(index["manifests"][0]["digest"])["config"]["digest"])


def test_an_option_value_may_start_with_a_dash(rustimg, hello_binary, tmp_path):  # noqa: F811
    # The argument after an option that takes a value is its value, whatever
    # it starts with (as before CLI11); flags still take none.
    layout = tmp_path / "dash"
    rustimg("build", "--binary", hello_binary, "--cmd", "-v", "--cmd", "--port=1", "--entrypoint", "--x",
            "--label", "-l=2", "--output", f"oci:{layout}", check_code=0)
    config = oci_config(layout)["config"]
    assert config["Cmd"] == ["-v", "--port=1"], config
    assert config["Entrypoint"] == ["--x"], config
    assert config["Labels"]["-l"] == "2", config
    # An option with nothing after it still needs its value.
    res = rustimg("build", "--binary", hello_binary, "--output", f"oci:{layout}", "--cmd", check_code=2)
    assert "--cmd needs a value" in res.err, res


def test_push_source_is_called_a_source(rustimg):
    res = rustimg("push", "nope:x", "127.0.0.1:1/a:b", check_code=2)
    assert 'invalid source "nope:x"' in res.err and "output" not in res.err, res


# --- the default repository (RUSTIMG_REPO, spec "repository") --------------------

def build_push(binary, spec, env_repo, *args):
    env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_CONFIG", "REGISTRY_AUTH_FILE", "RUSTIMG_REPO")}
    env.update({"SOURCE_DATE_EPOCH": "", "HOME": "/nonexistent-rustimg-home",
                "RUSTUP_HOME": os.path.expanduser("~/.rustup"), "CARGO_HOME": os.path.expanduser("~/.cargo")})
    if env_repo is not None:
        env["RUSTIMG_REPO"] = env_repo
    proc = subprocess.run([str(rustimg_bin()), "build", "--binary", str(binary), "--crate", str(EXAMPLE),
                           "--spec", str(spec), *args], capture_output=True, text=True, env=env, timeout=600)
    record_output(proc.stdout, proc.stderr)
    return proc


def test_rustimg_repo_pushes_package_version_and_spec_tags(hello_binary, registry_plain, tmp_path):  # noqa: F811
    spec = tmp_path / "rustimg.json"
    spec.write_text(json.dumps({"tags": ["v9", "latest"]}))
    proc = build_push(hello_binary, spec, f"{registry_plain.host}/ns", "--push")
    assert proc.returncode == 0, proc.stderr
    assert tags_of(f"{registry_plain.host}/ns/hello") == ["0.1.0", "latest", "v9"]
    digest = [line for line in proc.stdout.splitlines() if line.startswith("sha256:")][0]
    assert f"{registry_plain.host}/ns/hello:0.1.0@{digest}" in proc.stdout.splitlines(), proc.stdout


def test_spec_repository_and_env_precedence(hello_binary, registry_plain, tmp_path):  # noqa: F811
    spec = tmp_path / "rustimg.json"
    spec.write_text(json.dumps({"repository": f"{registry_plain.host}/from-spec"}))
    proc = build_push(hello_binary, spec, None, "--push")
    assert proc.returncode == 0, proc.stderr
    assert tags_of(f"{registry_plain.host}/from-spec/hello") == ["0.1.0"]
    # RUSTIMG_REPO wins over the spec, as the environment wins over config files for cargo
    proc = build_push(hello_binary, spec, f"{registry_plain.host}/from-env", "--push")
    assert proc.returncode == 0, proc.stderr
    assert tags_of(f"{registry_plain.host}/from-env/hello") == ["0.1.0"]


def test_push_without_reference_or_repository_says_how(hello_binary, tmp_path):  # noqa: F811
    spec = tmp_path / "rustimg.json"
    spec.write_text("{}")
    proc = build_push(hello_binary, spec, None, "--push")
    assert proc.returncode == 2, proc.stderr
    assert "RUSTIMG_REPO" in proc.stderr and '"repository"' in proc.stderr, proc.stderr


def test_bare_push_reads_the_crate_once(hello_binary, registry_plain, tmp_path):  # noqa: F811
    """The default references and the build share one plan: cargo metadata and
    git (the crate's revision) run once."""
    log = tmp_path / "calls.log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("git", "cargo"):
        wrapper = bin_dir / tool
        wrapper.write_text(f'#!/bin/sh\necho "{tool} $*" >> "{log}"\nexec "{shutil.which(tool)}" "$@"\n')
        wrapper.chmod(0o755)
    spec = tmp_path / "rustimg.json"
    spec.write_text(json.dumps({"repository": f"{registry_plain.host}/once"}))
    env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_CONFIG", "REGISTRY_AUTH_FILE", "RUSTIMG_REPO")}
    env.update({"PATH": f"{bin_dir}{os.pathsep}{env['PATH']}", "HOME": "/nonexistent-rustimg-home",
                "RUSTUP_HOME": os.path.expanduser("~/.rustup"), "CARGO_HOME": os.path.expanduser("~/.cargo")})
    proc = subprocess.run([str(rustimg_bin()), "build", "--binary", str(hello_binary), "--crate", str(EXAMPLE),
                           "--spec", str(spec), "--push"], capture_output=True, text=True, env=env, timeout=600)
    record_output(proc.stdout, proc.stderr)
    assert proc.returncode == 0, proc.stderr
    calls = log.read_text().splitlines()
    assert len([c for c in calls if c.startswith("cargo metadata")]) == 1, calls
    assert len([c for c in calls if "rev-parse" in c]) == 1, calls


# --- cargo rustimg ----------------------------------------------------------------

def test_cargo_rustimg_builds_the_crate(tmp_path):
    cargo = require_tool("cargo")
    assert (rustimg_bin().parent / "cargo-rustimg").exists(), "the build has no cargo-rustimg beside rustimg"
    crate = tmp_path / "hello"
    shutil.copytree(EXAMPLE, crate, ignore=shutil.ignore_patterns("target"))
    env = dict(os.environ, SOURCE_DATE_EPOCH="", PATH=f"{rustimg_bin().parent}{os.pathsep}{os.environ['PATH']}")
    layout = tmp_path / "layout"
    proc = subprocess.run([cargo, "rustimg", "build", "--output", f"oci:{layout}:v1"], cwd=crate, env=env,
                          capture_output=True, text=True, timeout=1200)
    record_output(proc.stdout, proc.stderr)
    assert proc.returncode == 0, proc.stderr
    digest = proc.stdout.strip().splitlines()[-1]
    assert [m["digest"] for m in layout_images(layout)] == [digest]
    # and its help is rustimg's
    proc = subprocess.run([cargo, "rustimg", "help", "build"], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith("usage: rustimg build"), proc.stderr
