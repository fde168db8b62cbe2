"""Docker Engine as a consumer of rustimg's images (issue 14).

The session fixture `docker_engine` starts Debian's dockerd (vfs storage, no
iptables, no bridge) on a unix socket in a short /tmp directory of its own;
dockerd starts its own containerd there. Every docker command of the suite
goes through the returned DockerEngine, which sets DOCKER_HOST to that socket
and DOCKER_CONFIG to a directory of the session (never the user's).

At session end dockerd gets SIGTERM, then SIGKILL; its containerd, mounts and
directory go too, also when a test failed. dockerd treats 127.0.0.0/8 as an
insecure registry, so images on the suite's plain-HTTP docker-registry pull
without configuration.

`qemu_aarch64` and `qemu_arm` make sure the kernel runs AArch64 and 32-bit
ARM binaries through qemu-user-static (binfmt_misc), so that Docker and
podman run arm64 and arm/v7 images here.

Docker (the graph-driver image store) reports an image's ID as the digest of
its config blob: tests compare it with rustimg's config digest.
"""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

import pytest

from conftest import output_facts, require_tool

__all__ = ["docker_engine", "qemu_aarch64", "qemu_arm", "DockerEngine", "archive_config_digest"]

START_TIMEOUT = 60.0   # seconds for dockerd to answer `docker version`
STOP_TIMEOUT = 30.0    # seconds between SIGTERM and SIGKILL
BINFMT = Path("/proc/sys/fs/binfmt_misc")


def _die_with_parent():
    """Runs in dockerd before exec: SIGTERM it when pytest dies (PR_SET_PDEATHSIG)."""
    import ctypes
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


def archive_config_digest(archive: Path) -> str:
    """The digest of the config blob of the one image in a docker-archive."""
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        assert len(manifest) == 1, manifest
        config = tar.extractfile(manifest[0]["Config"]).read()
    return "sha256:" + hashlib.sha256(config).hexdigest()


class DockerEngine:
    """A running dockerd: engine("images") runs the docker CLI against it."""

    def __init__(self, root: Path, proc: subprocess.Popen, log: Path):
        self.root = root
        self.proc = proc
        self.log = log
        self.sock = root / "sock"
        self.env = dict(os.environ, DOCKER_HOST=f"unix://{self.sock}", DOCKER_CONFIG=str(root / "config"))

    def __call__(self, *args, check=True, timeout=300) -> subprocess.CompletedProcess:
        proc = subprocess.run(["docker", *map(str, args)], capture_output=True, text=True, env=self.env,
                              timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"docker {' '.join(map(str, args))} failed ({proc.returncode}):\n"
                                 f"{proc.stdout}\n{proc.stderr}\ndockerd log:\n{self.log_tail()}")
        return proc

    def log_tail(self, chars=3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def inspect(self, image: str) -> dict:
        return json.loads(self("image", "inspect", image).stdout)[0]

    def run(self, image: str, *args, platform=None):
        """Runs `image` once without a network; returns (key=value facts, stdout)."""
        flags = ["--platform", platform] if platform else []
        out = self("run", "--rm", "--network", "none", *flags, image, *args).stdout
        return output_facts(out), out

    def remove(self, *images):
        """Removes images (vfs keeps a full copy of every layer: keep the disk use bounded)."""
        self("rmi", "--force", *images, check=False)

    def load_and_run(self, archive: Path, *args):
        """`docker load`s a docker-archive, checks that Docker's image ID is the
        archive's config digest, runs the image and removes it again.
        Returns (facts, stdout, docker's image inspect)."""
        loaded = self("load", "--input", archive).stdout
        names = [line.split(": ", 1)[1] for line in loaded.splitlines()
                 if line.startswith(("Loaded image: ", "Loaded image ID: "))]
        assert len(names) == 1, loaded
        try:
            info = self.inspect(names[0])
            assert info["Id"] == archive_config_digest(archive), (info["Id"], archive)
            facts, text = self.run(names[0], *args)
        finally:
            self.remove(names[0])
        return facts, text, info


def _stop(engine: DockerEngine):
    proc = engine.proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT)
    # dockerd stops the containerd it started; after a SIGKILL it may not have.
    pid_file = engine.root / "exec" / "containerd" / "containerd.pid"
    try:
        pid = int(pid_file.read_text())
        if str(engine.root) in Path(f"/proc/{pid}/cmdline").read_text(errors="replace"):
            os.kill(pid, signal.SIGKILL)
    except (OSError, ValueError):
        pass
    # dockerd bind-mounts its data root and network namespaces; unmount what is left, deepest first.
    mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    for mount in sorted((m for m in mounts if m.startswith(str(engine.root) + "/")), key=len, reverse=True):
        subprocess.run(["umount", "--lazy", mount], capture_output=True)
    shutil.rmtree(engine.root, ignore_errors=True)


@pytest.fixture(scope="session")
def docker_engine():
    """A Docker Engine of this session (needs root, as dockerd does)."""
    for tool in ("dockerd", "docker", "containerd", "runc"):
        require_tool(tool)
    if os.geteuid() != 0:
        pytest.fail("the Docker Engine tests start dockerd, which needs root")
    # unix socket paths are limited to 108 bytes: a short directory of our own
    root = Path(tempfile.mkdtemp(prefix="rustimg-dk-", dir="/tmp"))
    (root / "config").mkdir()
    log = root / "dockerd.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            ["dockerd", "--storage-driver=vfs", "--iptables=false", "--ip6tables=false", "--bridge=none",
             "--data-root", root / "data", "--exec-root", root / "exec", "--pidfile", root / "dockerd.pid",
             "-H", f"unix://{root / 'sock'}"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
    engine = DockerEngine(root, proc, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"dockerd exited with {proc.returncode}:\n{engine.log_tail()}")
            if engine("version", "--format", "{{.Server.Version}}", check=False, timeout=30).returncode == 0:
                break
            if time.monotonic() > deadline:
                pytest.fail(f"dockerd did not answer on {engine.sock} within {START_TIMEOUT}s:\n"
                            f"{engine.log_tail()}")
            time.sleep(0.2)
        yield engine
    finally:
        _stop(engine)


def qemu_binfmt(name: str) -> Path:
    """Makes the kernel run binaries of qemu-user-static's `name` ("aarch64",
    "arm") through qemu (binfmt_misc), as systemd-binfmt would at boot, when
    it does not yet; returns the entry. The F flag of Debian's entries opens
    the interpreter now, so containers need no qemu inside."""
    entry = BINFMT / f"qemu-{name}"
    conf = Path(f"/usr/lib/binfmt.d/qemu-{name}.conf")
    if not entry.exists():
        if not conf.exists():
            pytest.fail(f"{conf} is missing: qemu-user-static is not installed (run scripts/setup.sh)")
        if not (BINFMT / "register").exists():
            res = subprocess.run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT)],
                                 capture_output=True, text=True)
            if res.returncode != 0:
                pytest.fail(f"cannot mount binfmt_misc on {BINFMT} to run {name} images: {res.stderr}")
        for line in conf.read_text().splitlines():
            if line.strip() and not line.startswith("#") and not entry.exists():
                (BINFMT / "register").write_text(line)
    if "enabled" not in entry.read_text():
        pytest.fail(f"{entry} is registered but disabled: {entry.read_text()}")
    return entry


@pytest.fixture(scope="session")
def qemu_aarch64():
    """AArch64 (linux/arm64) binaries run through qemu-user-static."""
    return qemu_binfmt("aarch64")


@pytest.fixture(scope="session")
def qemu_arm():
    """32-bit ARM (linux/arm/v7) binaries run through qemu-user-static."""
    return qemu_binfmt("arm")
