"""Output for people and for CI (issue 14, items 5 and 6): `--json` on build,
push and pull prints one JSON document on stdout, checked against what skopeo
reads from the OCI layout and the real docker-registry; progress on a
terminal (a pty) updates lines in place with byte counts, plain lines without
one, and `--quiet` prints nothing on stderr."""
import hashlib
import json
import os
import pty
import shutil
import subprocess
import threading

import pytest

from conftest import EXAMPLE, ROOT, crate_with_asset, rustimg_bin
from registries import record_output
from test_build import hello_binary  # noqa: F401  session fixture: the example as a static binary

ASSET_BYTES = 30 << 20  # incompressible: a 30 MiB assets layer


def env():
    e = {k: v for k, v in os.environ.items() if k not in ("DOCKER_CONFIG", "REGISTRY_AUTH_FILE")}
    e.update({"SOURCE_DATE_EPOCH": "", "HOME": "/nonexistent-rustimg-home",
              "RUSTUP_HOME": os.path.expanduser("~/.rustup"), "CARGO_HOME": os.path.expanduser("~/.cargo")})
    return e


def cli(*args):
    proc = subprocess.run([str(rustimg_bin()), *map(str, args)], capture_output=True, text=True, env=env(),
                          timeout=600)
    record_output(proc.stdout, proc.stderr)
    return proc


def cli_on_pty(*args):
    """Runs the CLI with stderr on a pseudo-terminal; returns (proc, stderr bytes)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([str(rustimg_bin()), *map(str, args)], stdout=subprocess.PIPE, stderr=slave,
                            env=env())
    os.close(slave)
    chunks = []

    def drain():
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain)
    reader.start()
    out, _ = proc.communicate(timeout=600)
    reader.join(timeout=60)
    os.close(master)
    return proc, out.decode(), b"".join(chunks).decode(errors="replace")


def one_document(proc):
    """stdout holds exactly one JSON document and nothing else."""
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, proc.stdout
    return json.loads(lines[0])


def skopeo_raw(source, *flags):
    raw = subprocess.run(["skopeo", "inspect", "--raw", *flags, source], capture_output=True, check=True).stdout
    return "sha256:" + hashlib.sha256(raw).hexdigest(), json.loads(raw)


def check_image(doc, digest, manifest):
    """The JSON's image part against a manifest read by skopeo."""
    assert doc["digest"] == digest
    assert doc["media_type"] == manifest["mediaType"]
    assert len(doc["manifests"]) == 1
    m = doc["manifests"][0]
    assert m["digest"] == digest and m["platform"] == "linux/amd64"
    assert m["config"] == {"digest": manifest["config"]["digest"], "size": manifest["config"]["size"],
                           "media_type": manifest["config"]["mediaType"]}
    assert m["layers"] == [{"digest": l["digest"], "size": l["size"], "media_type": l["mediaType"]}
                           for l in manifest["layers"]]


@pytest.fixture(scope="module")
def big_crate(tmp_path_factory):
    """The example crate with a 30 MiB random asset."""
    return crate_with_asset(tmp_path_factory.mktemp("output"), ASSET_BYTES)


@pytest.fixture(scope="module")
def big_layout(hello_binary, big_crate, tmp_path_factory):  # noqa: F811
    """The big image in an OCI layout."""
    layout = tmp_path_factory.mktemp("big-layout") / "layout"
    proc = cli("build", "--binary", hello_binary, "--crate", big_crate, "--output", f"oci:{layout}:v1")
    assert proc.returncode == 0, proc.stderr
    return layout, proc.stdout.strip()


def test_build_json_describes_the_image(hello_binary, tmp_path):  # noqa: F811
    layout = tmp_path / "layout"
    doc = one_document(cli("build", "--json", "--binary", hello_binary, "--crate", EXAMPLE,
                           "--output", f"oci:{layout}:v1"))
    digest, manifest = skopeo_raw(f"oci:{layout}:v1")
    check_image(doc, digest, manifest)
    assert doc["output"] == f"oci:{layout}:v1"
    assert doc["size"] == len(subprocess.run(["skopeo", "inspect", "--raw", f"oci:{layout}:v1"],
                                             capture_output=True, check=True).stdout)
    # The report `verify --json` prints for the binary.
    verify = json.loads(cli("verify", "--json", hello_binary).stdout)
    assert len(doc["reports"]) == 1
    assert {k: v for k, v in verify.items() if k != "path"} == doc["reports"][0]
    assert doc["reports"][0]["fit_for_scratch"] is True


def test_build_push_json_lists_every_reference(hello_binary, registry_plain, tmp_path):  # noqa: F811
    spec = tmp_path / "rustimg.json"
    spec.write_text(json.dumps({"tags": ["v9", "latest"]}))
    repo = f"{registry_plain.host}/output/build"
    doc = one_document(cli("build", "--json", "--binary", hello_binary, "--spec", spec, "--push", repo))
    digest, manifest = skopeo_raw(f"docker://{repo}:v9", "--tls-verify=false")
    check_image(doc, digest, manifest)
    assert doc["references"] == [f"{repo}:v9@{digest}", f"{repo}:latest@{digest}"]
    assert [p["reference"] for p in doc["pushed"]] == [f"{repo}:v9@{digest}"]
    assert skopeo_raw(f"docker://{repo}:latest", "--tls-verify=false")[0] == digest
    assert doc["reports"][0]["linkage"] in ("static", "static-pie")


def test_push_and_pull_json(big_layout, registry_plain, tmp_path):
    layout, digest = big_layout
    ref = f"{registry_plain.host}/output/push:v1"
    doc = one_document(cli("push", "--json", f"oci:{layout}:v1", ref))
    registry_digest, manifest = skopeo_raw(f"docker://{ref}", "--tls-verify=false")
    assert registry_digest == digest
    check_image(doc, digest, manifest)
    assert doc["source"] == f"oci:{layout}:v1"
    assert doc["references"] == [f"{ref}@{digest}"]
    assert doc["pushed"][0]["blobs_uploaded"] + doc["pushed"][0]["blobs_existing"] == len(manifest["layers"]) + 1

    out = tmp_path / "pulled"
    pulled = one_document(cli("pull", "--json", ref, "--output", f"oci:{out}:v1"))
    check_image(pulled, digest, skopeo_raw(f"oci:{out}:v1")[1])
    assert pulled["reference"] == ref and pulled["output"] == f"oci:{out}:v1"


def test_json_error_is_a_document_and_keeps_the_exit_code(tmp_path):
    proc = cli("push", "--json", f"oci:{tmp_path / 'missing'}", "127.0.0.1:9/x/y:v1")
    assert proc.returncode == 2
    doc = json.loads(proc.stdout)
    assert set(doc) == {"error"}
    assert doc["error"]["exit_code"] == 2 and doc["error"]["code"] and "missing" in doc["error"]["message"]
    assert "missing" in proc.stderr  # people still read it on stderr


def test_push_progress_on_a_terminal_updates_in_place(big_layout, fault_proxy):
    layout, digest = big_layout
    # Through a proxy that takes the 30 MiB in about a second: on loopback the
    # upload could end before the first redraw (at most every 0.1 s) is due.
    proxy = fault_proxy(throttle=30 << 20)
    proc, out, err = cli_on_pty("push", f"oci:{layout}:v1", f"{proxy.host}/output/tty:v1")
    assert proc.returncode == 0, err
    assert out.strip().endswith(digest)
    # The 30 MiB layer: its line is redrawn in place (\r, erase line) with
    # bytes so far of the whole, and ends as a line of its own.
    assert "\r\x1b[K" in err
    assert "MiB / 30.0 MiB" in err
    finished = [l for l in err.replace("\r\x1b[K", "\n").splitlines() if " uploaded sha256:" in l]
    assert any("30.0 MiB" in l and "/s" in l for l in finished), err


def test_push_progress_without_a_terminal_is_plain_lines(big_layout, registry_plain):
    layout, digest = big_layout
    proc = cli("push", f"oci:{layout}:v1", f"{registry_plain.host}/output/plain:v1")
    assert proc.returncode == 0, proc.stderr
    err = proc.stderr
    assert "\r" not in err and "\x1b" not in err
    lines = err.splitlines()
    # A start and a finish line per blob (the three layers and the config,
    # then the SBOM the build attached and its artifact's empty config), no flood.
    starts = [l for l in lines if ": uploading sha256:" in l]
    ends = [l for l in lines if ": uploaded sha256:" in l]
    assert len(starts) == len(ends) == 6, err
    assert any(l.endswith("(30.0 MiB)") for l in starts), err
    assert sum(" with application/spdx+json sha256:" in l for l in lines) == 1, err
    assert len(lines) < 20, err


def test_quiet_prints_nothing_on_stderr(big_layout, hello_binary, big_crate, registry_plain, tmp_path):  # noqa: F811
    layout, digest = big_layout
    proc = cli("build", "--quiet", "--binary", hello_binary, "--crate", big_crate, "--output", f"oci:{tmp_path / 'b'}")
    assert proc.returncode == 0 and proc.stderr == "" and proc.stdout.strip() == digest
    ref = f"{registry_plain.host}/output/quiet:v1"
    proc = cli("push", "--quiet", f"oci:{layout}:v1", ref)
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.strip() == f"{ref}@{digest}"
    proc = cli("pull", "-q", ref, "--output", f"oci:{tmp_path / 'p'}")
    assert proc.returncode == 0 and proc.stderr == "" and proc.stdout.strip() == digest


def test_quiet_still_shows_cargos_errors(tmp_path):
    # cargo runs with --quiet too: no progress from it, but its errors are the
    # cause of the failure, on stderr and in the --json error document.
    crate = tmp_path / "broken"
    shutil.copytree(ROOT / "tests" / "fixtures" / "crates" / "broken", crate,
                    ignore=shutil.ignore_patterns("target"))
    proc = cli("build", "--quiet", crate, "--output", f"oci:{tmp_path / 'out'}")
    assert proc.returncode == 1, proc.stderr
    assert "error[E0308]: mismatched types" in proc.stderr and "src/main.rs:2" in proc.stderr, proc.stderr
    assert "Compiling" not in proc.stderr and "building" not in proc.stderr, proc.stderr
    proc = cli("build", "--quiet", "--json", crate, "--output", f"oci:{tmp_path / 'out'}")
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["error"]["code"] == "cargo" and doc["error"]["exit_code"] == 1, doc
    assert "error[E0308]: mismatched types" in doc["error"]["diagnostics"], doc
    assert "src/main.rs:2" in doc["error"]["diagnostics"], doc
    assert not (tmp_path / "out").exists()
