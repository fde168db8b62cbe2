"""rustimg build CRATE_DIR: real cargo builds of small crates, run as images."""
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path


from conftest import FIXTURES, ROOT, layout_images, podman_run, run, rustimg_bin

CRATES = FIXTURES / "crates"
EXAMPLE = ROOT / "examples" / "hello"


def copy_crate(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("target"))
    return dest


def build_crate(rustimg, crate, output, *extra, env=None, cwd=None):
    res = rustimg("build", crate, *extra, "--output", output, env={"SOURCE_DATE_EPOCH": "", **(env or {})}, cwd=cwd)
    assert res.code == 0, res
    digest = res.out.strip().splitlines()[-1]
    assert digest.startswith("sha256:") and len(digest) == 71, res
    return digest, res


def test_example_crate_builds_and_runs(rustimg, podman, docker_engine, tmp_path):
    crate = copy_crate(EXAMPLE, tmp_path / "hello")
    archive = tmp_path / "hello.tar"
    digest, res = build_crate(rustimg, crate, f"docker-archive:{archive}:test/crate:v1")
    assert "Compiling hello" in res.err or "building hello" in res.err, res  # cargo's progress on stderr
    run(*podman, "load", "-i", archive)
    facts, text = podman_run(podman, "test/crate:v1")
    assert "Hello from rustimg, world!" in text
    assert facts["uid"] == "65532"
    assert facts["exe"] == "/usr/local/bin/hello"
    _, docker_text, _ = docker_engine.load_and_run(archive)
    assert docker_text == text


def answers_health(port: int, logs) -> None:
    """Waits (bounded) for GET /health on 127.0.0.1:port to answer "ok"."""
    body = None
    for _ in range(100):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                body = r.read().decode()
                assert r.status == 200
            break
        except OSError:
            time.sleep(0.2)
    assert body == "ok\n", logs()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_http_server_answers_on_its_port(rustimg, podman, docker_engine, tmp_path):
    crate = copy_crate(CRATES / "httpd", tmp_path / "httpd")
    archive = tmp_path / "httpd.tar"
    build_crate(rustimg, crate, f"docker-archive:{archive}:test/httpd:v1")
    run(*podman, "load", "-i", archive)
    port = free_port()
    name = f"httpd-{os.getpid()}"
    run(*podman, "run", "-d", "--name", name, "--network", "host",
        "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
        "-e", f"LISTEN=127.0.0.1:{port}", "test/httpd:v1")
    try:
        answers_health(port, lambda: run(*podman, "logs", name, check=False).stderr)
    finally:
        run(*podman, "rm", "-f", "-t", "0", name, check=False)

    # Docker Engine runs it too (its host network: the server never exits by itself).
    assert "test/httpd:v1" in docker_engine("load", "--input", archive).stdout
    port = free_port()
    try:
        docker_engine("run", "-d", "--name", name, "--network", "host", "-e", f"LISTEN=127.0.0.1:{port}",
                      "test/httpd:v1")
        answers_health(port, lambda: docker_engine("logs", name, check=False).stderr)
    finally:
        docker_engine("rm", "--force", name, check=False)
        docker_engine.remove("test/httpd:v1")


def test_workspace_bins_and_ambiguity(rustimg, tmp_path):
    ws = copy_crate(CRATES / "ws", tmp_path / "ws")
    out = tmp_path / "layout"
    # default-run picks "app"; --bin picks another
    build_crate(rustimg, ws / "app", f"oci:{out}:app")
    _, res = build_crate(rustimg, ws / "app", f"oci:{out}:admin", "--bin", "app-admin")
    assert sorted(m["annotations"]["org.opencontainers.image.ref.name"] for m in layout_images(out)) == ["admin", "app"]
    # the virtual root has two packages: a clear error naming them
    res = rustimg("build", ws, "--output", f"oci:{tmp_path / 'x'}")
    assert res.code == 2, res
    assert "app" in res.err and "tool" in res.err and "--package" in res.err, res
    # without default-run, two bins are ambiguous
    manifest = ws / "app" / "Cargo.toml"
    manifest.write_text("\n".join(l for l in manifest.read_text().splitlines() if not l.startswith("default-run")))
    res = rustimg("build", ws / "app", "--output", f"oci:{tmp_path / 'y'}")
    assert res.code == 2, res
    assert "app-admin" in res.err and "--bin" in res.err, res
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_compile_error_names_file_and_line(rustimg, tmp_path):
    crate = copy_crate(CRATES / "broken", tmp_path / "broken")
    res = rustimg("build", crate, "--output", f"oci:{tmp_path / 'out'}")
    assert res.code == 1, res
    assert "src/main.rs:2" in res.err, res
    assert "mismatched types" in res.err, res
    assert not (tmp_path / "out").exists()


def test_build_script_crate(rustimg, podman, docker_engine, tmp_path):
    crate = copy_crate(CRATES / "buildrs", tmp_path / "buildrs")
    archive = tmp_path / "b.tar"
    build_crate(rustimg, crate, f"docker-archive:{archive}:test/buildrs:v1")
    run(*podman, "load", "-i", archive)
    _, text = podman_run(podman, "test/buildrs:v1")
    assert "built by build.rs" in text
    _, docker_text, _ = docker_engine.load_and_run(archive)
    assert docker_text == text


def test_crate_rustflags_are_kept(rustimg, tmp_path):
    crate = copy_crate(CRATES / "ownflags", tmp_path / "ownflags")
    out = tmp_path / "layout"
    _, res = build_crate(rustimg, crate, f"oci:{out}", "--base", "scratch")
    binary = crate / "target" / "x86_64-unknown-linux-gnu" / "rustimg" / "ownflags"
    assert run(binary).stdout.strip() == "userflag is set"
    report = rustimg("verify", "--json", binary).json_lines()[0]
    assert report["linkage"] == "static-pie", report


def test_two_checkouts_give_the_same_digest(rustimg, tmp_path):
    a = copy_crate(EXAMPLE, tmp_path / "first" / "hello")
    b = copy_crate(EXAMPLE, tmp_path / "second-checkout" / "somewhere" / "hello")
    da, _ = build_crate(rustimg, a, f"oci:{tmp_path / 'a'}")
    db, _ = build_crate(rustimg, b, f"oci:{tmp_path / 'b'}")
    assert da == db


# A missing target std (the aarch64 std is installed now, issue 17): see
# test_cross.py::test_a_missing_target_std_fails_before_cargo_with_rustup.


def cargo_processes_under(path: Path):
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(path) in cmdline and ("cargo" in cmdline or "rustc" in cmdline):
            found.append((proc.name, cmdline))
    return found


def test_cancel_mid_build_leaves_nothing(tmp_path):
    crate = copy_crate(CRATES / "httpd", tmp_path / "httpd")
    out = tmp_path / "out"
    proc = subprocess.Popen([str(rustimg_bin()), "build", str(crate), "--output", f"oci:{out}"],
                            stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    # wait until cargo is compiling, then interrupt as a user would
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if "Compiling httpd" in line:
            break
    proc.send_signal(signal.SIGINT)
    out_text, err_text = proc.communicate(timeout=120)
    assert proc.returncode != 0, "".join(seen) + err_text
    assert "cancelled" in err_text.lower(), "".join(seen) + err_text
    for _ in range(50):
        if not cargo_processes_under(crate):
            break
        time.sleep(0.1)
    assert cargo_processes_under(crate) == []
    assert not out.exists()
