"""rustimg.build from Python: every output, progress, callback exceptions,
Ctrl-C and two threads at once."""
import json
import os
import shutil
import signal
import subprocess
import threading
from pathlib import Path

import pytest

import rustimg

from conftest import ROOT

EXAMPLE = ROOT / "examples" / "hello"


@pytest.fixture
def crate(tmp_path) -> Path:
    dst = tmp_path / "hello"
    shutil.copytree(EXAMPLE, dst, ignore=shutil.ignore_patterns("target"))
    return dst


def skopeo_digest(ref: str) -> str:
    import hashlib
    raw = subprocess.run(["skopeo", "inspect", "--raw", ref], check=True, capture_output=True).stdout
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def test_build_crate_to_every_output(crate, tmp_path):
    events = []
    res = rustimg.build(crate=crate, output=f"oci:{tmp_path / 'layout'}:v1",
                        progress=lambda stage, msg: events.append(stage))
    assert isinstance(res, rustimg.BuildResult)
    assert res.digest.startswith("sha256:") and len(res.digest) == 71
    assert res.reports[0].linkage == "static-pie"
    assert "cargo" in events and "write" in events
    assert skopeo_digest(f"oci:{tmp_path / 'layout'}:v1") == res.digest

    archive = rustimg.build(crate=crate, output=f"oci-archive:{tmp_path / 'img.tar'}:v1")
    assert archive.digest == res.digest  # same inputs, same image
    # The SBOM and provenance an archive cannot carry lie beside it, listed.
    assert archive.beside == [f"{tmp_path / 'img.tar'}.spdx.json", f"{tmp_path / 'img.tar'}.provenance.json"]
    assert all(os.path.isfile(f) for f in archive.beside)
    assert skopeo_digest(f"oci-archive:{tmp_path / 'img.tar'}:v1") == res.digest

    docker = rustimg.build(crate=crate, output=f"docker-archive:{tmp_path / 'd.tar'}:py/hello:v1")
    inspected = json.loads(subprocess.run(["skopeo", "inspect", f"docker-archive:{tmp_path / 'd.tar'}"],
                                          check=True, capture_output=True, text=True).stdout)
    assert docker.digest.startswith("sha256:")
    assert inspected["Architecture"] == "amd64"


def test_build_attaches_the_sbom_and_provenance_asked_for(crate, tmp_path):
    """SPDX by default, CycloneDX or none on request, and provenance unless
    turned off, beside the image in the layout's index.json; the image
    itself is the same."""
    digests = set()
    for sbom, artifact_type in ((None, "application/spdx+json"), ("cyclonedx", "application/vnd.cyclonedx+json"),
                                ("none", None)):
        layout = tmp_path / f"layout-{sbom}"
        res = rustimg.build(crate=crate, output=f"oci:{layout}:v1", sbom=sbom, provenance=False,
                            source_date_epoch=1700000000)
        digests.add(res.digest)
        entries = json.loads((layout / "index.json").read_text())["manifests"]
        assert [e.get("artifactType") for e in entries] == [None] + ([artifact_type] if artifact_type else [])
    layout = tmp_path / "layout-default"
    digests.add(rustimg.build(crate=crate, output=f"oci:{layout}:v1", source_date_epoch=1700000000).digest)
    entries = json.loads((layout / "index.json").read_text())["manifests"]
    assert [e.get("artifactType") for e in entries] == [None, "application/spdx+json", "application/vnd.in-toto+json"]
    assert len(digests) == 1
    with pytest.raises(rustimg.SpecError, match="did you mean"):
        rustimg.build(crate=crate, output=f"oci:{tmp_path / 'bad'}", sbom="spxd")


def test_build_prebuilt_binary_with_overrides(tmp_path):
    res = rustimg.build(binary="/bin/ls", output=f"oci:{tmp_path / 'l'}", base="scratch", allow_dynamic=True,
                        source_date_epoch=0, overrides={"env": {"MODE": "py"}})
    # The Report class verify() returns, with the same answers.
    assert type(res.reports[0]) is rustimg.Report
    assert res.reports[0].to_dict() == rustimg.verify("/bin/ls").to_dict()
    assert res.reports[0].linkage == "dynamic" and not res.reports[0].fit_for_scratch
    with pytest.raises(rustimg.VerifyError) as err:
        rustimg.build(binary="/bin/ls", output=f"oci:{tmp_path / 'm'}", base="scratch")
    assert "/bin/ls" in str(err.value)
    assert not (tmp_path / "m").exists()


def test_errors_name_python_arguments(tmp_path):
    """Advice in messages names build()'s keyword arguments, never the CLI's flags."""
    with pytest.raises(rustimg.VerifyError) as err:
        rustimg.build(binary="/bin/ls", output=f"oci:{tmp_path / 'o'}", base="scratch")
    assert "pass allow_dynamic=True" in str(err.value) and "--allow-dynamic" not in str(err.value)
    with pytest.raises(rustimg.VerifyError) as err:
        rustimg.build(binary="/bin/ls", platform="linux/arm64", output=f"oci:{tmp_path / 'o'}", base="scratch",
                      allow_dynamic=True)
    assert "pass the right platform=" in str(err.value) and "--platform" not in str(err.value)
    # A crate with two bins and no default-run: which one is for bin=.
    crate = tmp_path / "two"
    (crate / "src" / "bin").mkdir(parents=True)
    (crate / "Cargo.toml").write_text('[package]\nname = "two"\nversion = "0.1.0"\nedition = "2021"\n')
    (crate / "Cargo.lock").write_text('version = 3\n\n[[package]]\nname = "two"\nversion = "0.1.0"\n')
    for name in ("a", "b"):
        (crate / "src" / "bin" / f"{name}.rs").write_text("fn main() {}\n")
    with pytest.raises(rustimg.NotFoundError) as err:
        rustimg.build(crate=crate, output=f"oci:{tmp_path / 'o'}")
    assert "pick one with bin= or" in str(err.value) and "--bin" not in str(err.value)
    assert not (tmp_path / "o").exists()
    res = rustimg.build(crate=crate, bin="b", output=f"oci:{tmp_path / 'o'}")
    assert res.reports[0].fit_for_scratch
    # Without Cargo.lock a locked build (the default) says how to unlock it here.
    (crate / "Cargo.lock").unlink()
    with pytest.raises(rustimg.NotFoundError) as err:
        rustimg.build(crate=crate, bin="b", output=f"oci:{tmp_path / 'o2'}")
    assert 'overrides={"locked": False}' in str(err.value) and "--no-locked" not in str(err.value)
    assert not (tmp_path / "o2").exists()


def test_errors_from_the_core(crate, tmp_path):
    with pytest.raises(rustimg.SpecError) as spec_err:
        rustimg.build(crate=crate, output=f"oci:{tmp_path / 'o'}", overrides={"ports": [70000]})
    assert any("$.ports[0]" in d for d in spec_err.value.diagnostics)
    with pytest.raises(rustimg.InvalidArgumentError):
        rustimg.build(crate=crate, output="docker://nowhere/x")
    with pytest.raises(rustimg.InvalidArgumentError):
        rustimg.build(output=f"oci:{tmp_path / 'o'}")
    broken = tmp_path / "broken"
    shutil.copytree(ROOT / "tests" / "fixtures" / "crates" / "broken", broken)
    with pytest.raises(rustimg.CargoError) as cargo_err:
        rustimg.build(crate=broken, output=f"oci:{tmp_path / 'o'}")
    assert "src/main.rs:2" in str(cargo_err.value)
    assert cargo_err.value.exit_code == 101
    # A target whose std is not installed (setup.sh installs the arm ones):
    # refused before cargo runs, with the rustup command.
    with pytest.raises(rustimg.NotFoundError) as std_err:
        rustimg.build(crate=crate, platforms=["linux/riscv64"], output=f"oci:{tmp_path / 'o'}")
    assert "riscv64gc-unknown-linux-gnu" in str(std_err.value)
    assert "rustup target add" in str(std_err.value)
    assert not (tmp_path / "o").exists()


class Boom(Exception):
    pass


def test_callback_exception_aborts_and_propagates_unchanged(crate, tmp_path):
    def progress(stage, message):
        if stage == "cargo":
            raise Boom("stop here")

    with pytest.raises(Boom, match="stop here"):
        rustimg.build(crate=crate, output=f"oci:{tmp_path / 'out'}", progress=progress)
    assert not (tmp_path / "out").exists()


def test_ctrl_c_cancels_cleanly(crate, tmp_path):
    started = threading.Event()

    def interrupt_when_compiling():
        started.wait(60)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt_when_compiling, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        rustimg.build(crate=crate, output=f"oci:{tmp_path / 'out'}",
                      progress=lambda stage, msg: started.set() if "Compiling" in msg else None)
    assert not (tmp_path / "out").exists()


def test_two_threads_build_different_images(crate, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(crate, other)
    results, errors = {}, []

    def work(name, path, env):
        try:
            results[name] = rustimg.build(crate=path, output=f"oci:{tmp_path / name}",
                                          overrides={"env": {"GREETING": env}})
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=("a", crate, "Hi")),
               threading.Thread(target=work, args=("b", other, "Hey"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert results["a"].digest != results["b"].digest  # different env, different image
    assert skopeo_digest(f"oci:{tmp_path / 'a'}:latest") == results["a"].digest
    assert skopeo_digest(f"oci:{tmp_path / 'b'}:latest") == results["b"].digest
