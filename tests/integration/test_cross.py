"""Cross linking out of the box and missing targets (issue 17, items 1-2):
real cargo and the real Debian cross compilers. With no linker anywhere in
the spec or cargo config, rustimg links arm64/arm/v7 gnu binaries with
aarch64-linux-gnu-gcc / arm-linux-gnueabihf-gcc and gives build scripts the
matching CC_/AR_; a target whose std is missing, or whose cross gcc is not
on PATH, fails before cargo runs with the command or package that fixes it.
The binaries run here through qemu-user (binfmt_misc), so they are proven to
be of their architecture and static (a dynamic one would need
/lib/ld-linux-*.so, which this machine does not have)."""
import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from conftest import FIXTURES

# e_machine of each architecture's ELF header
EM = {"aarch64": 183, "arm": 40}
TRIPLE = {"linux/arm64": "aarch64-unknown-linux-gnu", "linux/arm/v7": "armv7-unknown-linux-gnueabihf"}


def write_crate(root: Path, name: str = "crosshello") -> Path:
    """A dependency-free crate printing its architecture (a committed Cargo.lock, as --locked wants)."""
    crate = root / name
    (crate / "src").mkdir(parents=True)
    (crate / "Cargo.toml").write_text(f'[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2021"\n')
    (crate / "Cargo.lock").write_text(f'version = 4\n\n[[package]]\nname = "{name}"\nversion = "0.1.0"\n')
    (crate / "src" / "main.rs").write_text(
        'fn main() { println!("hello from {}", std::env::consts::ARCH); }\n')
    return crate


def elf_facts(path: Path):
    """(e_machine, has PT_INTERP) of an ELF file, read from its headers."""
    data = path.read_bytes()
    assert data[:4] == b"\x7fELF", path
    is64 = data[4] == 2
    machine = struct.unpack_from("<H", data, 18)[0]
    if is64:
        phoff, = struct.unpack_from("<Q", data, 32)
        phentsize, phnum = struct.unpack_from("<HH", data, 54)
    else:
        phoff, = struct.unpack_from("<I", data, 28)
        phentsize, phnum = struct.unpack_from("<HH", data, 42)
    types = [struct.unpack_from("<I", data, phoff + i * phentsize)[0] for i in range(phnum)]
    return machine, 3 in types  # PT_INTERP = 3


def run_binary(path: Path) -> str:
    return subprocess.run([str(path)], capture_output=True, text=True, timeout=120, check=True).stdout


def no_user_linker_env(monkeypatch) -> dict:
    """Removes the caller's linker and C compiler choices for the targets from the
    environment (set but empty is still a choice); returns the variables to set."""
    for k in list(os.environ):
        if k.startswith(("CARGO_TARGET_", "CC_", "AR_")) or k in ("TARGET_CC", "TARGET_AR", "CROSS_COMPILE"):
            monkeypatch.delenv(k)
    return {"SOURCE_DATE_EPOCH": ""}


@pytest.fixture(scope="module")
def gnu_cross(rustimg, tmp_path_factory):
    """The crate built once for linux/arm64 and linux/arm/v7 (gnu) with no linker in the spec."""
    root = tmp_path_factory.mktemp("cross")
    crate = write_crate(root)
    layout = root / "out"
    res = rustimg("build", "--platform", "linux/arm64", "--platform", "linux/arm/v7",
                  "--output", f"oci:{layout}:cross", cwd=crate)
    return crate, res


def test_gnu_cross_targets_link_without_a_linker_in_the_spec(gnu_cross, qemu_aarch64, qemu_arm):
    crate, res = gnu_cross
    # On main before issue 17 the host cc linked: "rust-lld: ... is incompatible with elf64-x86-64".
    assert res.code == 0, res
    for platform, arch in (("linux/arm64", "aarch64"), ("linux/arm/v7", "arm")):
        binary = crate / "target" / TRIPLE[platform] / "rustimg" / "crosshello"
        machine, dynamic = elf_facts(binary)
        assert machine == EM[arch], (platform, machine)
        assert not dynamic, f"{binary} has an ELF interpreter: not static"
        assert run_binary(binary) == f"hello from {arch}\n"


def test_a_c_build_script_compiles_with_the_cross_gcc(rustimg, tmp_path, qemu_aarch64, monkeypatch):
    """The `cc` crate gets CC_/AR_ for the target even when the caller's CC is
    the host's (which would otherwise win and link x86-64 objects into arm64)."""
    crate = tmp_path / "cbuild"
    shutil.copytree(FIXTURES / "crates" / "cbuild", crate, ignore=shutil.ignore_patterns("target"))
    env = no_user_linker_env(monkeypatch) | {"CFLAGS": '-DUSER_FLAG="cross"', "CC": "cc", "AR": "ar"}
    res = rustimg("build", "--platform", "linux/arm64", "--output", f"oci:{tmp_path / 'out'}:c", cwd=crate, env=env)
    assert res.code == 0, res
    binary = crate / "target" / "aarch64-unknown-linux-gnu" / "rustimg" / "cbuild"
    machine, dynamic = elf_facts(binary)
    assert (machine, dynamic) == (EM["aarch64"], False)
    assert run_binary(binary).split(" rust=")[0].endswith(" user=cross")


def test_a_missing_target_std_fails_before_cargo_with_rustup(rustimg, tmp_path):
    """rust-toolchain.toml pins a release installed without the aarch64 gnu std."""
    toolchains = subprocess.run(["rustup", "toolchain", "list"], capture_output=True, text=True).stdout
    if "1.93.0" not in toolchains:
        pytest.fail("toolchain 1.93.0 is missing: run scripts/setup.sh")
    installed = subprocess.run(["rustup", "+1.93.0", "target", "list", "--installed"],
                               capture_output=True, text=True, check=True).stdout.split()
    assert "aarch64-unknown-linux-gnu" not in installed, "the test needs a toolchain without this target"
    crate = write_crate(tmp_path)
    (crate / "rust-toolchain.toml").write_text('[toolchain]\nchannel = "1.93.0"\n')
    res = rustimg("build", "--platform", "linux/arm64", "--output", f"oci:{tmp_path / 'out'}:x", cwd=crate,
                  env={"SOURCE_DATE_EPOCH": ""})
    assert res.code == 2, res
    assert "`rustup target add --toolchain 1.93.0-" in res.err, res
    assert " aarch64-unknown-linux-gnu`" in res.err, res
    assert "Compiling" not in res.err, res  # cargo never ran
    assert not (crate / "target").exists()


def test_a_missing_cross_gcc_names_the_package_and_the_spec_key(rustimg, tmp_path, monkeypatch):
    """PATH with cargo and rustc but no aarch64-linux-gnu-gcc."""
    cargo_dir = Path(shutil.which("cargo")).parent
    assert shutil.which("aarch64-linux-gnu-gcc", path=str(cargo_dir)) is None
    crate = write_crate(tmp_path)
    env = no_user_linker_env(monkeypatch) | {"PATH": str(cargo_dir)}
    res = rustimg("build", "--platform", "linux/arm64", "--output", f"oci:{tmp_path / 'out'}:x", cwd=crate, env=env)
    assert res.code == 2, res
    assert "links with aarch64-linux-gnu-gcc, which is not installed" in res.err, res
    assert "apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross" in res.err, res
    assert '"target": {"aarch64-unknown-linux-gnu": {"linker": "..."}}' in res.err, res
    assert "Compiling" not in res.err, res


def test_the_users_cargo_config_linker_wins(rustimg, tmp_path, qemu_aarch64, monkeypatch):
    """A linker in .cargo/config.toml is used, not rustimg's default (a wrapper records its run)."""
    crate = write_crate(tmp_path)
    log = tmp_path / "linker.log"
    wrapper = tmp_path / "my-linker"
    wrapper.write_text(f'#!/bin/sh\necho used >> "{log}"\nexec aarch64-linux-gnu-gcc "$@"\n')
    wrapper.chmod(0o755)
    (crate / ".cargo").mkdir()
    (crate / ".cargo" / "config.toml").write_text(f'[target.aarch64-unknown-linux-gnu]\nlinker = "{wrapper}"\n')
    res = rustimg("build", "--platform", "linux/arm64", "--output", f"oci:{tmp_path / 'out'}:x", cwd=crate,
                  env=no_user_linker_env(monkeypatch))
    assert res.code == 0, res
    assert log.read_text().startswith("used"), "the cargo config's linker did not run"
    assert run_binary(crate / "target" / "aarch64-unknown-linux-gnu" / "rustimg" / "crosshello") == \
        "hello from aarch64\n"
