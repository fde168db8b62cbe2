"""rustimg.verify and rustimg.load_spec from Python, and the exception tree."""
import shutil
import subprocess
import threading

import pytest

import rustimg

from conftest import FIXTURES


def test_static_pie_is_fit(elf_fixtures):
    report = rustimg.verify(elf_fixtures / "x86_64-static-pie")  # a PathLike works
    assert isinstance(report, rustimg.Report)
    assert report.linkage == "static-pie"
    assert report.architecture == "amd64"
    assert report.fit_for_scratch
    assert report.problems == []
    assert report.to_dict()["linkage"] == "static-pie"


def test_dynamic_binary_is_unfit_with_reasons(elf_fixtures):
    report = rustimg.verify(str(elf_fixtures / "x86_64-dynamic"))
    assert report.linkage == "dynamic"
    assert not report.fit_for_scratch
    assert report.interpreter and report.interpreter.endswith("ld-linux-x86-64.so.2")
    assert "libc.so.6" in report.needed
    assert any("dynamic loader" in p or "interpreter" in p or "libc.so.6" in p for p in report.problems)


def test_nss_risk_and_platforms(elf_fixtures):
    # glibc >= 2.34 answers files/dns lookups itself: no risk without nsswitch.conf.
    assert not rustimg.verify(elf_fixtures / "x86_64-static-nss").nss_risk
    arm = rustimg.verify(elf_fixtures / "armv7-static", platform="linux/arm/v7")
    assert (arm.architecture, arm.variant) == ("arm", "v7")
    assert arm.fit_for_scratch
    mismatch = rustimg.verify(elf_fixtures / "aarch64-static", platform="linux/amd64")
    assert not mismatch.fit_for_scratch
    assert any("amd64" in p for p in mismatch.problems)


def test_errors_are_typed_and_builtin_compatible(tmp_path):
    with pytest.raises(rustimg.NotFoundError) as missing:
        rustimg.verify(tmp_path / "nope")
    assert isinstance(missing.value, FileNotFoundError)
    assert str(tmp_path / "nope") in str(missing.value)
    assert missing.value.code == "not_found"

    text = tmp_path / "notes.txt"
    text.write_text("not an ELF file at all")
    with pytest.raises(rustimg.ElfError) as bad:
        rustimg.verify(text)
    assert isinstance(bad.value, ValueError) and isinstance(bad.value, rustimg.Error)

    with pytest.raises(rustimg.InvalidArgumentError):
        rustimg.verify("/bin/ls", platform="linux/pdp11")

    with pytest.raises(rustimg.UnsupportedError) as unsupported:
        rustimg.verify("/bin/ls", platform="windows/amd64")
    assert isinstance(unsupported.value, ValueError) and "Linux images only" in str(unsupported.value)

    with pytest.raises(rustimg.IoError) as io:  # a directory is not a binary
        rustimg.verify(tmp_path)
    assert isinstance(io.value, OSError) and str(tmp_path) in str(io.value)


def test_load_spec_from_a_workspace_crate():
    spec = rustimg.load_spec(crate=FIXTURES / "crates" / "ws" / "app", overrides={"user": "1000"})
    assert spec["package"] == "app"
    assert spec["user"] == "1000"
    assert spec["bin"] == "app"


def test_spec_errors_list_every_problem():
    with pytest.raises(rustimg.SpecError) as err:
        rustimg.load_spec(overrides={"env": {"PORT": 8080}, "enviroment": {}}, use_cargo_metadata=False)
    assert isinstance(err.value, ValueError)
    assert "arguments: $.env.PORT: expected a string, got a number" in err.value.diagnostics
    assert len(err.value.diagnostics) == 2
    assert any('did you mean "env"' in d for d in err.value.diagnostics)


def test_threads_verify_concurrently(elf_fixtures):
    names = ["x86_64-static-pie", "x86_64-dynamic", "aarch64-static", "riscv64-static"] * 8
    results = {}

    def work(i, name):
        results[i] = rustimg.verify(elf_fixtures / name).linkage

    threads = [threading.Thread(target=work, args=(i, n)) for i, n in enumerate(names)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == len(names)
    assert results[0] == "static-pie" and results[1] == "dynamic"


def test_linked_c_libraries(tmp_path):
    # A gcc -static program over Debian's static zlib carries zlib's copyright line.
    source = tmp_path / "main.c"
    source.write_text('#include <zlib.h>\n#include <stdio.h>\nint main(void) { unsigned char o[8]; uLongf n = 8;\n'
                      '  printf("%d\\n", uncompress(o, &n, (const unsigned char *)"x", 1)); return 0; }\n')
    subprocess.run([shutil.which("gcc"), "-static", "-O2", str(source), "-o", str(tmp_path / "main"), "-lz"],
                   check=True)
    version = subprocess.run(["pkg-config", "--modversion", "zlib"], check=True, capture_output=True,
                             text=True).stdout.strip()
    report = rustimg.verify(tmp_path / "main")
    assert report.linked_libraries == [{"name": "zlib", "version": version}]
    assert report.to_dict()["linked_libraries"] == report.linked_libraries


def test_nss_verdict_fields(elf_fixtures):
    # The NSS verdict's details, as `rustimg verify --json` carries them.
    report = rustimg.verify(elf_fixtures / "x86_64-static-nss")
    assert report.glibc_version is not None and report.glibc_version.lstrip(">=")[0].isdigit()
    assert report.nss_failing == []  # glibc >= 2.34, judged against glibc's defaults
    assert report.nss_checked_against is not None and "glibc's defaults" in report.nss_checked_against
    assert report.to_dict()["nss_checked_against"] == report.nss_checked_against
    dynamic = rustimg.verify(elf_fixtures / "x86_64-dynamic")
    assert dynamic.nss_failing == [] and dynamic.nss_checked_against is None
