"""`rustimg verify` against real binaries: Rust builds, gcc builds, cross-built
fixtures and system binaries, cross-checked with readelf and file."""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, require_tool

MAKE_FIXTURES = ROOT / "tests" / "fixtures" / "elf" / "make_fixtures.sh"

HELLO_RS = 'fn main() {\n    println!("hello from rustimg tests");\n}\n'
HELLO_TOML = '[package]\nname = "hello"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n'
TRIPLE = "x86_64-unknown-linux-gnu"


def cargo_build(crate: Path, target_dir: Path, *extra: str) -> Path:
    cargo = require_tool("cargo")
    env = dict(os.environ, CARGO_TARGET_DIR=str(target_dir))
    env.pop("RUSTFLAGS", None)
    env.pop("CARGO_ENCODED_RUSTFLAGS", None)
    proc = subprocess.run([cargo, "build", "--release", "--offline", "--quiet", "--target", TRIPLE, *extra],
                          cwd=crate, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"cargo build failed:\n{proc.stderr}"
    binary = target_dir / TRIPLE / "release" / "hello"
    assert binary.is_file(), binary
    return binary


@pytest.fixture(scope="session")
def bins(tmp_path_factory):
    """Every real binary the tests use, by name."""
    for tool in ("gcc", "aarch64-linux-gnu-as", "aarch64-linux-gnu-ld", "arm-linux-gnueabihf-as",
                 "arm-linux-gnueabihf-ld", "riscv64-linux-gnu-as", "riscv64-linux-gnu-ld"):
        require_tool(tool)
    root = tmp_path_factory.mktemp("verify")
    fixtures = root / "fixtures"
    subprocess.run(["bash", str(MAKE_FIXTURES), str(fixtures)], check=True, timeout=600)
    out = {p.name: p for p in fixtures.iterdir()}

    crate = root / "hello"
    (crate / "src").mkdir(parents=True)
    (crate / "Cargo.toml").write_text(HELLO_TOML)
    (crate / "src" / "main.rs").write_text(HELLO_RS)
    static = cargo_build(crate, root / "target-static", "--config",
                         f'target.{TRIPLE}.rustflags=["-C","target-feature=+crt-static"]')
    dynamic = cargo_build(crate, root / "target-dynamic")
    out["rust-static-pie"] = static
    out["rust-dynamic"] = dynamic
    out["ls"] = Path(os.path.realpath(shutil.which("ls") or "/bin/ls"))
    return out


def verify_one(rustimg, path, *args, code):
    res = rustimg("verify", "--json", *args, path)
    assert res.code == code, res
    lines = res.json_lines()
    assert len(lines) == 1, res
    assert lines[0]["path"] == str(path)
    return lines[0]


# --- oracles: readelf and file ------------------------------------------------

READELF_MACHINE = {
    "Advanced Micro Devices X86-64": "x86-64",
    "AArch64": "AArch64",
    "ARM": "ARM",
    "RISC-V": "RISC-V",
}
READELF_TYPE = {
    ("EXEC", "Executable file"): "executable",
    ("DYN", "Position-Independent Executable file"): "pie-executable",
    ("DYN", "Shared object file"): "shared-object",
}


def readelf_facts(path: Path) -> dict:
    proc = subprocess.run([require_tool("readelf"), "-W", "-h", "-l", "-d", "-n", str(path)],
                          capture_output=True, text=True, check=True)
    text = proc.stdout
    kind = re.search(r"^\s*Type:\s+(\w+) \((.*)\)$", text, re.M)
    interp = re.search(r"\[Requesting program interpreter: (.*)\]", text)
    build_id = re.search(r"Build ID: ([0-9a-f]+)", text)

    def path_list(tag):
        found = re.findall(rf"\({tag}\)\s+Library {tag.lower()}: \[(.*)\]", text)
        return [p for item in found for p in item.split(":")]

    return {
        "machine": READELF_MACHINE[re.search(r"^\s*Machine:\s+(.*)$", text, re.M).group(1).strip()],
        "type": READELF_TYPE[(kind.group(1), kind.group(2))],
        "elf_class": 64 if re.search(r"^\s*Class:\s+ELF64", text, re.M) else 32,
        "endianness": "big" if "big endian" in text else "little",
        "interpreter": interp.group(1) if interp else None,
        "needed": re.findall(r"\(NEEDED\)\s+Shared library: \[(.*)\]", text),
        "rpath": path_list("RPATH"),
        "runpath": path_list("RUNPATH"),
        "build_id": build_id.group(1) if build_id else None,
    }


def file_linkage(path: Path) -> str:
    text = subprocess.run([require_tool("file"), "-b", str(path)], capture_output=True, text=True,
                          check=True).stdout
    for phrase, linkage in (("static-pie linked", "static-pie"), ("statically linked", "static"),
                            ("dynamically linked", "dynamic")):
        if phrase in text:
            return linkage
    raise AssertionError(f"file(1) gave no linkage for {path}: {text}")


ALL_BINARIES = [
    "rust-static-pie", "rust-dynamic", "ls", "x86_64-static", "x86_64-static-pie", "x86_64-dynamic",
    "x86_64-static-nss", "aarch64-static", "aarch64-dynamic", "aarch64-libtiny.so", "aarch64-be-static",
    "armv7-static", "armv6-static", "riscv64-static",
]


@pytest.mark.parametrize("name", ALL_BINARIES)
def test_agrees_with_readelf_and_file(rustimg, bins, name):
    path = bins[name]
    res = rustimg("verify", "--json", path)
    assert res.code in (0, 1), res
    got = res.json_lines()[0]
    want = readelf_facts(path)
    for key, value in want.items():
        assert got[key] == value, f"{key}: rustimg says {got[key]!r}, readelf says {value!r}"
    # file(1) only calls PIE-flagged objects static-pie; a dependency-free
    # shared library is "dynamically linked" to it, and unfit by type for us.
    if got["type"] != "shared-object":
        assert got["linkage"] == file_linkage(path)
    assert res.code == (0 if got["fit_for_scratch"] else 1)


# --- verdicts on real binaries ---------------------------------------------------

def test_rust_static_pie_is_fit(rustimg, bins):
    r = verify_one(rustimg, bins["rust-static-pie"], code=0)
    assert r["linkage"] == "static-pie"
    assert r["type"] == "pie-executable"
    assert r["architecture"] == "amd64"
    assert r["interpreter"] is None
    assert r["needed"] == []
    assert r["libc"] == "glibc"
    assert r["nss_risk"] is False
    assert r["fit_for_scratch"] is True
    assert r["problems"] == []


def test_rust_dynamic_is_unfit(rustimg, bins):
    r = verify_one(rustimg, bins["rust-dynamic"], code=1)
    assert r["linkage"] == "dynamic"
    assert r["interpreter"] == "/lib64/ld-linux-x86-64.so.2"
    assert "libc.so.6" in r["needed"]
    assert r["fit_for_scratch"] is False
    assert len(r["problems"]) == 1
    assert "/lib64/ld-linux-x86-64.so.2" in r["problems"][0]
    assert "+crt-static" in r["problems"][0]


def test_rust_human_output(rustimg, bins):
    res = rustimg("verify", bins["rust-static-pie"], bins["rust-dynamic"])
    assert res.code == 1, res
    assert str(bins["rust-static-pie"]) in res.out
    assert "static-pie" in res.out
    assert "verdict:      fit for scratch" in res.out
    assert "verdict:      NOT fit for scratch" in res.out
    assert "problem: it is dynamically linked" in res.out


def test_system_ls_is_dynamic(rustimg, bins):
    r = verify_one(rustimg, bins["ls"], code=1)
    assert r["linkage"] == "dynamic"
    assert r["interpreter"] is not None
    assert "libc.so.6" in r["needed"]


def test_gcc_static(rustimg, bins):
    r = verify_one(rustimg, bins["x86_64-static"], code=0)
    assert (r["type"], r["linkage"]) == ("executable", "static")
    assert r["libc"] == "glibc"
    assert r["nss_risk"] is False
    assert r["nss_evidence"] == []


def test_gcc_static_pie(rustimg, bins):
    r = verify_one(rustimg, bins["x86_64-static-pie"], code=0)
    assert (r["type"], r["linkage"]) == ("pie-executable", "static-pie")


def test_gcc_dynamic_with_rpath(rustimg, bins):
    r = verify_one(rustimg, bins["x86_64-dynamic"], code=1)
    assert r["rpath"] == ["/opt/hello/lib"]
    assert r["needed"] == ["libc.so.6"]


def test_glibc_static_getaddrinfo_nss_verdict(rustimg, bins, tmp_path):
    # This host's glibc (2.36) builds 'files' and 'dns' in: no risk without
    # an nsswitch.conf (scratch); the C program has no banner, so the version
    # is the lower bound its tunables give.
    r = verify_one(rustimg, bins["x86_64-static-nss"], code=0)
    assert r["glibc_version"] == ">=2.35", r
    assert r["nss_risk"] is False and r["nss_failing"] == [], r
    assert "/etc/nsswitch.conf" in r["nss_evidence"]
    assert any(e.startswith("libnss_") for e in r["nss_evidence"])
    assert r["warnings"] == [], r
    conf = tmp_path / "nsswitch.conf"
    conf.write_text("hosts: files mdns4_minimal [NOTFOUND=return] dns\n")
    r = verify_one(rustimg, bins["x86_64-static-nss"], "--nsswitch", conf, code=0)
    assert r["nss_risk"] is True
    assert r["fit_for_scratch"] is True  # a warning, not a problem
    # glibc >= 2.34: musl would answer no more than files/dns do; the advice says what helps.
    [w] = [w for w in r["warnings"] if "libnss_mdns4_minimal.so.2" in w]
    assert "use only 'files' and 'dns' for these databases" in w and "musl" not in w, w


@pytest.mark.parametrize("name,architecture,variant", [
    ("aarch64-static", "arm64", ""),
    ("armv7-static", "arm", "v7"),
    ("armv6-static", "arm", "v6"),
    ("riscv64-static", "riscv64", ""),
])
def test_cross_architectures(rustimg, bins, name, architecture, variant):
    r = verify_one(rustimg, bins[name], code=0)
    assert r["architecture"] == architecture
    assert r["variant"] == variant
    assert r["linkage"] == "static"


def test_aarch64_dynamic(rustimg, bins):
    r = verify_one(rustimg, bins["aarch64-dynamic"], code=1)
    assert r["architecture"] == "arm64"
    assert r["interpreter"] == "/lib/ld-linux-aarch64.so.1"
    assert r["needed"] == ["libtiny.so"]
    assert r["runpath"] == ["$ORIGIN/lib", "/opt/tiny"]


def test_shared_library_is_not_an_executable(rustimg, bins):
    r = verify_one(rustimg, bins["aarch64-libtiny.so"], code=1)
    assert r["type"] == "shared-object"
    assert any("not an executable" in p for p in r["problems"])


def test_big_endian_aarch64_has_no_oci_platform(rustimg, bins):
    r = verify_one(rustimg, bins["aarch64-be-static"], code=1)
    assert r["endianness"] == "big"
    assert r["machine"] == "AArch64"
    assert any("big-endian AArch64" in p for p in r["problems"])


def test_platform_match(rustimg, bins):
    r = verify_one(rustimg, bins["aarch64-static"], "--platform", "linux/arm64", code=0)
    assert r["platform_match"] is True
    r = verify_one(rustimg, bins["aarch64-static"], "--platform=linux/arm64/v8", code=0)
    assert r["platform_match"] is True


def test_platform_mismatch(rustimg, bins):
    r = verify_one(rustimg, bins["aarch64-static"], "--platform", "linux/amd64", code=1)
    assert r["platform_match"] is False
    assert r["fit_for_scratch"] is False
    assert any("linux/arm64" in p and "linux/amd64" in p for p in r["problems"])
    res = rustimg("verify", "--platform", "linux/amd64", bins["aarch64-static"])
    assert res.code == 1, res
    assert "MISMATCH" in res.out


def test_arm_variant_mismatch(rustimg, bins):
    verify_one(rustimg, bins["armv7-static"], "--platform", "linux/arm/v7", code=0)
    r = verify_one(rustimg, bins["armv6-static"], "--platform", "linux/arm/v7", code=1)
    assert any("linux/arm/v6" in p and "linux/arm/v7" in p for p in r["problems"])


def test_no_platform_key_without_flag(rustimg, bins):
    r = verify_one(rustimg, bins["x86_64-static"], code=0)
    assert "platform_match" not in r


# --- bad input -------------------------------------------------------------------

def check_bad_input(rustimg, path, needle):
    res = rustimg("verify", path)
    assert res.code == 2, res
    assert str(path) in res.err
    assert needle in res.err
    assert len(res.err.strip().splitlines()) == 1, res
    res = rustimg("verify", "--json", path)
    assert res.code == 2, res
    (obj,) = res.json_lines()
    assert obj["path"] == str(path)
    assert needle in obj["error"]


def test_truncated_binary(rustimg, bins, tmp_path):
    cut = tmp_path / "truncated"
    cut.write_bytes(bins["x86_64-static"].read_bytes()[:40])
    check_bad_input(rustimg, cut, "truncated ELF header")


def test_truncated_mid_file(rustimg, bins, tmp_path):
    data = bins["rust-static-pie"].read_bytes()
    cut = tmp_path / "half"
    cut.write_bytes(data[: len(data) // 2])
    check_bad_input(rustimg, cut, "extends past end of file")


def test_corrupted_program_header_offset(rustimg, bins, tmp_path):
    data = bytearray(bins["x86_64-static"].read_bytes())
    data[32:40] = (len(data) + 4096).to_bytes(8, "little")  # e_phoff
    bad = tmp_path / "bad-phoff"
    bad.write_bytes(bytes(data))
    check_bad_input(rustimg, bad, "program header table extends past end of file")


def test_corrupted_dynamic_segment(rustimg, bins, tmp_path):
    data = bytearray(bins["x86_64-dynamic"].read_bytes())
    phoff = int.from_bytes(data[32:40], "little")
    phnum = int.from_bytes(data[56:58], "little")
    for i in range(phnum):
        at = phoff + i * 56
        if int.from_bytes(data[at:at + 4], "little") == 2:  # PT_DYNAMIC
            data[at + 32:at + 40] = (1 << 40).to_bytes(8, "little")  # p_filesz
            break
    else:
        pytest.fail("no PT_DYNAMIC in the gcc dynamic fixture")
    bad = tmp_path / "bad-dynamic"
    bad.write_bytes(bytes(data))
    check_bad_input(rustimg, bad, "dynamic segment (PT_DYNAMIC) extends past end of file")


def test_missing_file(rustimg, tmp_path):
    check_bad_input(rustimg, tmp_path / "does-not-exist", "no such file")


def test_text_file(rustimg, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("just some text, not a program\n")
    check_bad_input(rustimg, text, "not an ELF file")


def test_directory(rustimg, tmp_path):
    check_bad_input(rustimg, tmp_path, "is a directory")


# --- several binaries in one call -------------------------------------------------------

def test_multiple_binaries(rustimg, bins):
    order = [bins["rust-static-pie"], bins["aarch64-static"], bins["armv6-static"]]
    res = rustimg("verify", "--json", *order)
    assert res.code == 0, res
    lines = res.json_lines()
    assert [line["path"] for line in lines] == [str(p) for p in order]
    assert [line["architecture"] for line in lines] == ["amd64", "arm64", "arm"]


def test_multiple_binaries_one_unfit(rustimg, bins):
    res = rustimg("verify", "--json", bins["x86_64-static"], bins["rust-dynamic"])
    assert res.code == 1, res
    assert [line["fit_for_scratch"] for line in res.json_lines()] == [True, False]


def test_multiple_binaries_one_missing(rustimg, bins, tmp_path):
    missing = tmp_path / "gone"
    res = rustimg("verify", "--json", bins["rust-dynamic"], missing, bins["x86_64-static"])
    assert res.code == 2, res
    lines = res.json_lines()
    assert [line["path"] for line in lines] == [str(bins["rust-dynamic"]), str(missing), str(bins["x86_64-static"])]
    assert "error" in lines[1] and "error" not in lines[0] and "error" not in lines[2]
    assert str(missing) in res.err


# --- usage --------------------------------------------------------------------------

def test_help(rustimg):
    res = rustimg("verify", "--help")
    assert res.code == 0, res
    assert "usage: rustimg verify" in res.out


def test_no_binary(rustimg):
    res = rustimg("verify", "--json")
    assert res.code == 2, res
    assert "no BINARY" in res.err


def test_bad_platform(rustimg, bins):
    res = rustimg("verify", "--platform", "linux/arm64/v8/extra", bins["aarch64-static"])
    assert res.code == 2, res
    assert "--platform" in res.err and "linux/arm64/v8/extra" in res.err
    res = rustimg("verify", "--platform")
    assert res.code == 2, res


def test_unknown_option(rustimg, bins):
    res = rustimg("verify", "--frobnicate", bins["x86_64-static"])
    assert res.code == 2, res
    assert "--frobnicate" in res.err
