"""Reproducible images when build scripts compile C (issue 19, item 3): the same
crate in two checkouts, with different target directories, built at different
times and without SOURCE_DATE_EPOCH, gives the same image."""
import gzip
import io
import json
import os
import shutil
import subprocess
import tarfile
import time

import pytest

from conftest import FIXTURES, blob, rustimg_bin

CRATE = FIXTURES / "crates" / "cbuild"
USER_CFLAGS = '-DUSER_FLAG="from-user-cflags"'


def build_checkout(root, cache):
    """Copies the fixture to its own checkout under `root` and builds it with
    its own target directory outside the checkout; returns (digest, layout)."""
    crate = root / "checkout" / "cbuild"
    shutil.copytree(CRATE, crate, ignore=shutil.ignore_patterns("target"))
    layout = root / "out"
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    env.update(CARGO_TARGET_DIR=str(root / "target-dir"), CFLAGS=USER_CFLAGS, RUSTIMG_CACHE_DIR=str(cache))
    proc = subprocess.run([str(rustimg_bin()), "build", str(crate), "--output", f"oci:{layout}:latest"],
                          env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1], layout


@pytest.fixture(scope="module")
def two_checkouts(tmp_path_factory):
    cache = tmp_path_factory.mktemp("base-cache")
    roots = [tmp_path_factory.mktemp("first"), tmp_path_factory.mktemp("second-checkout-elsewhere")]
    builds = []
    for i, root in enumerate(roots):
        if i:
            time.sleep(1.1)  # __TIME__ differs unless SOURCE_DATE_EPOCH reaches the C compiler
        builds.append(build_checkout(root, cache))
    return roots, builds


def layer_files(layout, digest):
    """{name: bytes} of every regular file in the image's layers."""
    manifest = json.loads(blob(layout, digest))
    files = {}
    for layer in manifest["layers"]:
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob(layout, layer["digest"])))) as tf:
            for m in tf.getmembers():
                if m.isfile():
                    files[m.name] = tf.extractfile(m).read()
    return files


def test_c_build_scripts_give_the_same_digest_in_two_checkouts(two_checkouts):
    _, [(first, _), (second, _)] = two_checkouts
    assert first == second


def test_binary_holds_no_checkout_or_target_path(two_checkouts, tmp_path):
    roots, [(digest, layout), _] = two_checkouts
    files = layer_files(layout, digest)
    binary = files["usr/local/bin/cbuild"]
    leaked = [str(root) for root in roots if str(root).encode() in binary]
    assert not leaked, f"the binary holds the build paths {leaked}"
    exe = tmp_path / "cbuild"
    exe.write_bytes(binary)
    exe.chmod(0o755)
    out = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60, check=True).stdout
    # The C file, the header in OUT_DIR and the Rust file in OUT_DIR, all under fixed names;
    # the date is the image's epoch (0 when SOURCE_DATE_EPOCH is unset), which
    # build scripts see as 1: 0 is false to some tools (OpenSSL's "built on").
    assert "file=/src/src/stamp.c " in out, out
    assert " header=/target/" in out and " rust=/target/" in out, out
    assert " date=Jan  1 1970 time=00:00:01 " in out, out
    # The user's CFLAGS are kept (the C file does not compile without them).
    assert out.rstrip().split(" rust=")[0].endswith(" user=from-user-cflags"), out


@pytest.mark.parametrize("force", [False, True], ids=["plain", "forced"])
def test_cflags_from_cargo_config_env_are_kept_and_mapped(tmp_path, force):
    """C flags the user sets in .cargo/config.toml [env] reach the compiler
    with the path maps added: a plain entry (cargo skips it when CFLAGS is
    already in its environment, as rustimg's maps would put it) and a forced
    one (which would replace rustimg's maps)."""
    crate = tmp_path / "checkout" / "cbuild"
    shutil.copytree(CRATE, crate, ignore=shutil.ignore_patterns("target"))
    (crate / ".cargo").mkdir()
    value = "'-DUSER_FLAG=\"from-config-env\"'"
    (crate / ".cargo" / "config.toml").write_text(
        f"[env]\nCFLAGS = {{ value = {value}, force = true }}\n" if force else f"[env]\nCFLAGS = {value}\n")
    env = {k: v for k, v in os.environ.items() if k not in ("SOURCE_DATE_EPOCH", "CFLAGS")}
    if force:
        env["CFLAGS"] = USER_CFLAGS  # the forced [env] value wins over it, as in cargo
    env.update(CARGO_TARGET_DIR=str(tmp_path / "target-dir"), RUSTIMG_CACHE_DIR=str(tmp_path / "cache"))
    layout = tmp_path / "out"
    proc = subprocess.run([str(rustimg_bin()), "build", str(crate), "--base", "scratch",
                           "--output", f"oci:{layout}:latest"], env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr
    binary = layer_files(layout, proc.stdout.strip().splitlines()[-1])["usr/local/bin/cbuild"]
    exe = tmp_path / "cbuild"
    exe.write_bytes(binary)
    exe.chmod(0o755)
    out = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60, check=True).stdout
    assert "file=/src/src/stamp.c " in out, out
    assert out.rstrip().split(" rust=")[0].endswith(" user=from-config-env"), out
