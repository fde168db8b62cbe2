#!/usr/bin/env python3
"""rustimg vs crane vs podman on the same inputs (issue 8). Run bench/run.sh.

Scenarios (every tool gets the same binary or asset; each command is timed
wall-clock from the outside, peak RSS comes from /usr/bin/time -v):

  1  a static binary (~1 MB: examples/hello; ~20 MB: the same with a 19 MiB
     section added by objcopy) -> a scratch image on disk
       rustimg  build --binary B --base scratch --compression-level L --output oci:DIR
                (L: --level, default 1, the gzip level crane always writes, so
                both tools compress alike; a second row at rustimg's default
                level 6 is for reference)
       crane    tar the binary, then append --oci-empty-base -f L.tar -o IMAGE.tar
       podman   build --no-cache (FROM scratch, COPY, ENTRYPOINT) into its store
  2  that image pushed cold to a local docker-registry (a fresh repository)
       rustimg  push oci:DIR REF
       crane    push IMAGE.tar REF
       podman   push --tls-verify=false
       floor    the registry's own cost: the fewest requests a push needs
                (ping, then HEAD, POST and a monolithic PUT per blob, then
                the manifest PUT), sent in this process on one kept-alive
                connection, without starting a process
  3  the same push again, unchanged (every blob is already there)
       floor    ping + HEAD of the tag, in this process
  4  an image with a 200 MB asset layer, built and pushed; the layer
     throughput is compared with single-threaded zlib at the same level
     (Python's zlib, levels L and 6, on the same tar, measured here)
  5  a four-platform index (linux/amd64, arm64, arm/v7, riscv64), on disk
     (crane has no local index: it builds per-platform images in the registry)

Each tool's output is checked once per scenario (outside the timing):
skopeo inspects it and podman runs it (or, for foreign platforms, its
manifest list is inspected), so no tool wins by doing less.

Medians over --runs runs; ratios are peer median / rustimg median (the
rustimg row at level L).
"""
import argparse
import datetime
import http.client
import json
import os
import platform
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PLATFORMS = [("linux/amd64", "amd64", ""), ("linux/arm64", "arm64", ""), ("linux/arm/v7", "arm", "v7"),
             ("linux/riscv64", "riscv64", "")]
FIXTURES = {"linux/arm64": "aarch64-static", "linux/arm/v7": "armv7-static", "linux/riscv64": "riscv64-static"}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


class Failed(Exception):
    pass


def run(cmd, check=True, capture=True, env=None, cwd=None, input=None):
    r = subprocess.run([str(c) for c in cmd], capture_output=capture, text=True, env=env, cwd=cwd, input=input)
    if check and r.returncode != 0:
        raise Failed(f"{' '.join(map(str, cmd))} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
    return r


def timed(cmds, env=None, cwd=None):
    """Runs commands one after another; returns (seconds, peak RSS KiB, CPU
    seconds (user + system, children included), last stdout). A command may
    be a Python callable, timed in this process (no RSS or CPU figure)."""
    total, peak, cpu, out = 0.0, 0, 0.0, ""
    for cmd in cmds:
        if callable(cmd):
            t0 = time.perf_counter()
            cmd()
            total += time.perf_counter() - t0
            continue
        with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
            t0 = time.perf_counter()
            r = subprocess.run(["/usr/bin/time", "-v", "-o", tf.name, *map(str, cmd)], capture_output=True,
                               text=True, env=env, cwd=cwd)
            total += time.perf_counter() - t0
            if r.returncode != 0:
                raise Failed(f"{' '.join(map(str, cmd))} exited {r.returncode}:\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}")
            report = tf.read()
            m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", report)
            peak = max(peak, int(m.group(1)) if m else 0)
            for what in ("User", "System"):
                m = re.search(what + r" time \(seconds\): ([0-9.]+)", report)
                cpu += float(m.group(1)) if m else 0.0
            out = r.stdout
    return total, peak, cpu, out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- inputs -------------------------------------------------------------------

def synthetic(path, size, seed):
    """Deterministic, moderately compressible bytes (text-like words, binary
    noise, zero runs), like a mix of assets or code: about 2-3x with gzip."""
    rng = random.Random(seed)
    vocab = ["".join(rng.choices("abcdefghijklmnopqrstuvwxyz_0123456789", k=rng.randrange(2, 11))) for _ in range(3000)]
    pool = " ".join(rng.choices(vocab, k=220000)).encode()
    written = 0
    with open(path, "wb") as f:
        while written < size:
            k = rng.random()
            if k < 0.65:
                off = rng.randrange(len(pool) - 70000)
                chunk = pool[off:off + rng.randrange(1024, 65536)]
            elif k < 0.9:
                chunk = rng.randbytes(rng.randrange(256, 8192))
            else:
                chunk = bytes(rng.randrange(64, 16384))
            chunk = chunk[:size - written]
            f.write(chunk)
            written += len(chunk)


class Inputs:
    def __init__(self, work, args):
        self.work = work
        self.hello = Path(os.environ.get("HELLO_BINARY", ROOT / "out/target/x86_64-unknown-linux-gnu/release/hello"))
        if not self.hello.is_file():
            raise Failed(f"{self.hello} is missing: run bench/run.sh (it builds examples/hello)")
        self.binaries = {"1MB": self.hello}
        pad = work / "pad.bin"
        synthetic(pad, args.big_mb * 1024 * 1024 - self.hello.stat().st_size, 20)
        big = work / "hello-20m"
        run(["objcopy", "--add-section", f".bench_pad={pad}", "--set-section-flags", ".bench_pad=noload,readonly",
             self.hello, big])
        big.chmod(0o755)
        pad.unlink()
        self.binaries["20MB"] = big
        self.asset = None
        if 4 in args.only:
            self.asset_dir = work / "asset-crate"
            self.asset_dir.mkdir()
            self.asset = self.asset_dir / "asset.bin"
            synthetic(self.asset, args.asset_mb * 1000 * 1000, 200)
            (self.asset_dir / "rustimg.json").write_text(
                json.dumps({"base": "scratch", "assets": [{"source": "asset.bin", "dest": "/data/"}]}))
        self.platform_bins = {}
        if 5 in args.only:
            fx = work / "elf"
            run(["bash", ROOT / "tests/fixtures/elf/make_fixtures.sh", fx])
            self.platform_bins = {"linux/amd64": self.hello}
            for p, name in FIXTURES.items():
                self.platform_bins[p] = fx / name

    def context(self, name, files, entrypoint="/usr/local/bin/hello", multi=False):
        """A podman build context: the files and a Containerfile FROM scratch."""
        ctx = self.work / f"ctx-{name}"
        if ctx.exists():
            return ctx
        ctx.mkdir()
        lines = ["FROM scratch"]
        if multi:
            lines += ["ARG TARGETARCH", "ARG TARGETVARIANT",
                      "COPY bin-${TARGETARCH}${TARGETVARIANT} /usr/local/bin/hello"]
        for dest, src in files:
            os.link(src, ctx / Path(dest).name) if os.stat(src).st_dev == os.stat(ctx).st_dev else shutil.copy(src, ctx)
            lines.append(f"COPY {Path(dest).name} {dest}")
        lines.append(f'ENTRYPOINT ["{entrypoint}"]')
        (ctx / "Containerfile").write_text("\n".join(lines) + "\n")
        return ctx

    def layer_root(self, name, files):
        """A directory holding the files at their image paths (what crane tars)."""
        root = self.work / f"root-{name}"
        if root.exists():
            return root
        for dest, src in files:
            p = root / dest.lstrip("/")
            p.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, p)
        return root


def tar_cmd(root, out):
    return ["tar", "--sort=name", "--owner=0", "--group=0", "--numeric-owner", "--mtime=@0", "-cf", out, "-C", root,
            "."]


# --- tools --------------------------------------------------------------------

class Registry:
    def __init__(self, work):
        self.port = free_port()
        data = work / "registry-data"
        data.mkdir()
        cfg = work / "registry.yml"
        cfg.write_text("version: 0.1\nlog: {level: error, accesslog: {disabled: true}}\n"
                       f"storage: {{filesystem: {{rootdirectory: {data}}}}}\n"
                       f"http:\n  addr: 127.0.0.1:{self.port}\n")
        self.log = open(work / "registry.log", "w")
        self.proc = subprocess.Popen(["docker-registry", "serve", str(cfg)], stdout=self.log, stderr=self.log)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                if self.proc.poll() is not None:
                    raise Failed("docker-registry exited; see registry.log")
                time.sleep(0.05)
        self.host = f"127.0.0.1:{self.port}"

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


class Podman:
    def __init__(self, work):
        self.base = ["podman", "--root", work / "podman/root", "--runroot", work / "podman/runroot",
                     "--storage-driver", "vfs", "--runtime", "runc", "--cgroup-manager", "cgroupfs",
                     "--events-backend", "file", "--tmpdir", work / "podman/tmp"]
        (work / "podman/tmp").mkdir(parents=True)
        conf = work / "registries.conf"
        conf.write_text('unqualified-search-registries = []\n')
        self.env = dict(os.environ, CONTAINERS_REGISTRIES_CONF=str(conf), TMPDIR=str(work / "podman/tmp"))

    def cmd(self, *a):
        return [*self.base, *a]

    def __call__(self, *a, check=True):
        return run(self.cmd(*a), check=check, env=self.env)


class Tools:
    def __init__(self, work, args):
        self.work = work
        self.rustimg = Path(os.environ.get("RUSTIMG", ROOT / "build/bin/rustimg"))
        self.crane = os.environ.get("CRANE") or shutil.which("crane")
        if not self.crane:
            raise Failed("crane is missing: run bench/run.sh (it installs crane) or set CRANE")
        self.podman = Podman(work)
        self.registry = Registry(work) if {2, 3, 4}.intersection(args.only) or "crane" in args.tools else None

    def rustimg_push(self, layout, ref):
        return [self.rustimg, "push", f"oci:{layout}:bench", ref]


def check_output_run(tools, image, entrypoint=None, expect="world!"):
    """Runs an image with podman and checks its greeting."""
    args = ["run", "--rm", "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
    if entrypoint:
        args += ["--entrypoint", entrypoint]
    r = tools.podman(*args, image)
    if expect not in r.stdout:
        raise Failed(f"{image} printed {r.stdout!r}, expected {expect!r}")


def check_registry(tools, ref, layers, entrypoint=None):
    info = json.loads(run(["skopeo", "inspect", "--tls-verify=false", f"docker://{ref}"]).stdout)
    if len(info["Layers"]) < layers:
        raise Failed(f"{ref}: {len(info['Layers'])} layers, expected {layers}")
    tools.podman("pull", "-q", "--tls-verify=false", ref)
    check_output_run(tools, ref, entrypoint)


# --- scenarios ----------------------------------------------------------------

class Bench:
    def __init__(self, args):
        self.args = args
        self.work = Path(tempfile.mkdtemp(prefix="rustimg-bench-", dir=args.workdir))
        self.results = []   # dicts: scenario, case, tool, times, rss, note
        self.pending = []
        self.extra = {}

    def record(self, scenario, case, tool, times, rss, cpu, note=""):
        med = statistics.median(times)
        self.results.append({"scenario": scenario, "case": case, "tool": tool, "median_s": med, "times": times,
                             "rss_kb": max(rss), "cpu_s": statistics.median(cpu), "note": note})
        log(f"  {scenario} {case:<6} {tool:<8} median {med:.3f}s  ({', '.join(f'{t:.3f}' for t in times)})  "
            f"CPU {statistics.median(cpu):.2f}s  peak RSS {max(rss) / 1024:.1f} MiB")

    def repeat(self, scenario, case, tool, make_cmds, check=None, note=""):
        """Queues a cell: make_cmds(i) -> (commands, cleanup or None); check(i)
        verifies the last run's output. Cells run by flush()."""
        self.pending.append((scenario, case, tool, make_cmds, check, note))

    def flush(self):
        """Runs the queued cells interleaved (run i of every cell, in queue
        order, before run i + 1), so a change in machine load hits every tool
        alike and each cell's run i can use the previous cell's output."""
        cells, self.pending = self.pending, []
        times = [[] for _ in cells]
        rss = [[] for _ in cells]
        cpu = [[] for _ in cells]
        for i in range(self.args.runs):
            for n, (scenario, case, tool, make_cmds, check, note) in enumerate(cells):
                cmds, cleanup = make_cmds(i)
                t, m, c, _ = timed(cmds, env=self.env_for(tool))
                times[n].append(t)
                rss[n].append(m)
                cpu[n].append(c)
                if check and i == self.args.runs - 1:
                    check(i)
                if cleanup:
                    cleanup(i)
        for n, (scenario, case, tool, _, _, note) in enumerate(cells):
            self.record(scenario, case, tool, times[n], rss[n], cpu[n], note)

    def env_for(self, tool):
        return self.tools.podman.env if tool == "podman" else None

    def main(self):
        a = self.args
        log(f"bench: working in {self.work}")
        self.inputs = Inputs(self.work, a)
        self.tools = Tools(self.work, a)
        try:
            for case, binary in self.inputs.binaries.items():
                if {1, 2, 3}.intersection(a.only):
                    self.scenario_123(case, binary)
                    self.flush()
            if 4 in a.only:
                self.scenario_4()
            if 5 in a.only:
                self.scenario_5()
                self.flush()
        finally:
            if self.tools.registry:
                self.tools.registry.stop()
        return self.results

    # (1)-(3)
    def scenario_123(self, case, binary):
        a, t, w = self.args, self.tools, self.work
        reg = t.registry.host if t.registry else None
        files = [("/usr/local/bin/hello", binary)]
        outs = w / f"out-{case.lower()}"
        outs.mkdir()
        log(f"bench: scenarios 1-3, {case} binary ({binary.stat().st_size} bytes)")
        if "rustimg" in a.tools:
            def builder(level, name):
                def build(i):
                    return [[t.rustimg, "build", "--binary", binary, "--base", "scratch", "--compression-level", level,
                             "--output", f"oci:{outs}/{name}-{i}:bench"]], None
                return build

            build = builder(a.level, "rustimg")
            if 1 in a.only:
                self.repeat(1, case, "rustimg", build, lambda i: check_output_run_layout(t, outs / f"rustimg-{i}"),
                            f"--compression-level {a.level}")
                if a.level != "6":
                    self.repeat(1, case, "rustimg, level 6", builder("6", "rustimg6"),
                                lambda i: check_output_run_layout(t, outs / f"rustimg6-{i}"), "rustimg's default level")
            if {2, 3}.intersection(a.only):
                if 1 not in a.only:
                    for i in range(a.runs):
                        run(build(i)[0][0])
                ref = lambda i: f"{reg}/rustimg-{case.lower()}-{i}:bench"
                push = lambda i: ([t.rustimg_push(outs / f"rustimg-{i}", ref(i))], None)
                self.repeat(2, case, "rustimg", push, lambda i: check_registry(t, ref(i), 1))
                self.repeat(3, case, "rustimg", push)
                floor_ref = lambda i: f"floor-{case.lower()}-{i}"
                self.repeat(2, case, "floor", lambda i: ([lambda: floor_push(reg, outs / f"rustimg-{i}", floor_ref(i))],
                                                         None),
                            lambda i: check_registry(t, f"{reg}/{floor_ref(i)}:bench", 1),
                            "the registry's own cost: fewest requests, in-process, one connection")
                self.repeat(3, case, "floor", lambda i: ([lambda: floor_push_again(reg, floor_ref(i))], None), None,
                            "ping + HEAD of the tag, in-process")
        if "crane" in a.tools:
            root = self.inputs.layer_root(case, files)

            def build(i):
                return [tar_cmd(root, outs / f"crane-{i}.layer.tar"),
                        [t.crane, "append", "--oci-empty-base", "-f", outs / f"crane-{i}.layer.tar", "-t",
                         f"bench/crane-{case.lower()}:{i}", "-o", outs / f"crane-{i}.tar"]], None

            def check(i):
                run(["skopeo", "inspect", f"docker-archive:{outs}/crane-{i}.tar"])
                t.podman("load", "-q", "-i", outs / f"crane-{i}.tar")
                check_output_run(t, f"localhost/bench/crane-{case.lower()}:{i}", "/usr/local/bin/hello")
            if 1 in a.only or {2, 3}.intersection(a.only):
                self.repeat(1, case, "crane", build, check, "tar + crane append -o (no entrypoint: crane mutate "
                                                           "needs a registry)")
            if {2, 3}.intersection(a.only):
                push = lambda i: ([[t.crane, "push", "--insecure", outs / f"crane-{i}.tar",
                                    f"{reg}/crane-{case.lower()}-{i}:bench"]], None)
                self.repeat(2, case, "crane", push,
                            lambda i: check_registry(t, f"{reg}/crane-{case.lower()}-{i}:bench", 1, "/usr/local/bin/hello"))
                self.repeat(3, case, "crane", push)
        if "podman" in a.tools:
            ctx = self.inputs.context(case, files)

            def build(i):
                return [t.podman.cmd("build", "-q", "--no-cache", "-t", f"localhost/bench-{case.lower()}:{i}", "-f",
                                     ctx / "Containerfile", ctx)], None
            if 1 in a.only or {2, 3}.intersection(a.only):
                self.repeat(1, case, "podman", build, lambda i: check_output_run(t, f"localhost/bench-{case.lower()}:{i}"))
            if {2, 3}.intersection(a.only):
                push = lambda i: ([t.podman.cmd("push", "-q", "--tls-verify=false", f"localhost/bench-{case.lower()}:{i}",
                                                f"{reg}/podman-{case.lower()}-{i}:bench")], None)
                self.repeat(2, case, "podman", push,
                            lambda i: check_registry(t, f"{reg}/podman-{case.lower()}-{i}:bench", 1))
                self.repeat(3, case, "podman", push)

    # (4)
    def scenario_4(self):
        a, t, w = self.args, self.tools, self.work
        reg = t.registry.host
        asset = self.inputs.asset
        outs = w / "out-asset"
        outs.mkdir()
        log(f"bench: scenario 4, a {asset.stat().st_size} byte asset layer")
        files = [("/usr/local/bin/hello", self.inputs.hello), ("/data/asset.bin", asset)]
        if "rustimg" in a.tools:
            # The baseline: the asset layer's tar, exactly as rustimg writes it
            # (the same tar whatever the compression), compressed by
            # single-threaded zlib at the same level, in cells interleaved with
            # the tools' so that both see the same machine load.
            run([t.rustimg, "build", "--binary", self.inputs.hello, "--spec", self.inputs.asset_dir / "rustimg.json",
                 "--compression", "none", "--output", f"oci:{w}/asset-plain:bench"])
            tar = largest_blob(w / "asset-plain")
            self.extra["tar_bytes"] = tar.stat().st_size
            levels = [a.level] + (["6"] if a.level != "6" else [])
            for level in levels:
                self.repeat(4, "baseline", f"zlib -{level}, 1 thread",
                            lambda i, level=level: ([[sys.executable, "-c", ZLIB_BASELINE, level, tar]], None))
            for level in levels:
                name = "rustimg" if level == a.level else f"rustimg, level {level}"
                out = lambda i, level=level: outs / f"rustimg{level}-{i}"

                def build(i, level=level, out=out):
                    return [[t.rustimg, "build", "--binary", self.inputs.hello, "--spec",
                             self.inputs.asset_dir / "rustimg.json", "--compression-level", level, "--output",
                             f"oci:{out(i)}:bench"]], None
                self.repeat(4, "build", name, build, lambda i, out=out: check_output_run_layout(t, out(i)),
                            f"--compression-level {level}")
            self.repeat(4, "push", "rustimg", lambda i: ([t.rustimg_push(outs / f"rustimg{a.level}-{i}",
                                                                           f"{reg}/rustimg-asset-{i}:bench")], None),
                        lambda i: check_registry(t, f"{reg}/rustimg-asset-{i}:bench", 2))
        if "crane" in a.tools:
            root = self.inputs.layer_root("asset", files)
            lt = outs / "crane.layer.tar"
            self.repeat(4, "build", "crane", lambda i: ([tar_cmd(root, lt), [
                t.crane, "append", "--oci-empty-base", "-f", lt, "-t", f"bench/crane-asset:{i}", "-o",
                outs / f"crane-{i}.tar"]], None),
                lambda i: run(["skopeo", "inspect", f"docker-archive:{outs}/crane-{i}.tar"]))
            self.repeat(4, "push", "crane", lambda i: ([[t.crane, "push", "--insecure", outs / f"crane-{i}.tar",
                                                          f"{reg}/crane-asset-{i}:bench"]], None),
                        lambda i: check_registry(t, f"{reg}/crane-asset-{i}:bench", 1, "/usr/local/bin/hello"))
        if "podman" in a.tools:
            ctx = self.inputs.context("asset", files)
            self.repeat(4, "build", "podman", lambda i: ([t.podman.cmd(
                "build", "-q", "--no-cache", "-t", f"localhost/bench-asset:{i}", "-f", ctx / "Containerfile", ctx)],
                lambda j: None), lambda i: check_output_run(t, f"localhost/bench-asset:{i}"))
            self.repeat(4, "push", "podman", lambda i: ([t.podman.cmd(
                "push", "-q", "--tls-verify=false", f"localhost/bench-asset:{i}", f"{reg}/podman-asset-{i}:bench")],
                lambda j: t.podman("rmi", "-f", f"localhost/bench-asset:{j}", check=False)),
                lambda i: check_registry(t, f"{reg}/podman-asset-{i}:bench", 2))
        self.flush()

    # (5)
    def scenario_5(self):
        a, t, w = self.args, self.tools, self.work
        bins = self.inputs.platform_bins
        outs = w / "out-index"
        outs.mkdir()
        log("bench: scenario 5, a four-platform index")
        if "rustimg" in a.tools:
            def build(i):
                cmd = [t.rustimg, "build", "--base", "scratch", "--compression-level", a.level]
                for p, b in bins.items():
                    cmd += ["--binary", b, "--platform", p]
                return [cmd + ["--output", f"oci:{outs}/rustimg-{i}:bench"]], None

            def check(i):
                raw = json.loads(run(["skopeo", "inspect", "--raw", f"oci:{outs}/rustimg-{i}:bench"]).stdout)
                got = sorted(m["platform"]["architecture"] for m in raw["manifests"])
                if got != sorted(x[1] for x in PLATFORMS):
                    raise Failed(f"rustimg index platforms: {got}")
                check_output_run_layout(t, outs / f"rustimg-{i}")
            self.repeat(5, "index", "rustimg", build, check, f"--compression-level {a.level}")
        if "podman" in a.tools:
            ctx = self.work / "ctx-index"
            ctx.mkdir()
            for p, arch, variant in PLATFORMS:
                shutil.copy(bins[p], ctx / f"bin-{arch}{variant}")
            (ctx / "Containerfile").write_text(
                "FROM scratch\nARG TARGETARCH\nARG TARGETVARIANT\n"
                "COPY bin-${TARGETARCH}${TARGETVARIANT} /usr/local/bin/hello\n"
                'ENTRYPOINT ["/usr/local/bin/hello"]\n')
            plats = ",".join(p for p, _, _ in PLATFORMS)

            def check(i):
                raw = json.loads(t.podman("manifest", "inspect", f"localhost/bench-index:{i}").stdout)
                got = sorted(m["platform"]["architecture"] for m in raw["manifests"])
                if got != sorted(x[1] for x in PLATFORMS):
                    raise Failed(f"podman manifest platforms: {got}")
            self.repeat(5, "index", "podman", lambda i: ([t.podman.cmd(
                "build", "-q", "--no-cache", "--platform", plats, "--manifest", f"localhost/bench-index:{i}", "-f",
                ctx / "Containerfile", ctx)], None), check)
        if "crane" in a.tools:
            reg = t.registry.host
            roots = {p: self.inputs.layer_root(f"index-{p.replace('/', '-')}", [("/usr/local/bin/hello", b)])
                     for p, b in bins.items()}

            def build(i):
                cmds, refs = [], []
                for p, arch, variant in PLATFORMS:
                    lt = outs / f"crane-{arch}{variant}.tar"
                    ref = f"{reg}/crane-index-{i}:{arch}{variant}"
                    cmds += [tar_cmd(roots[p], lt),
                             [t.crane, "append", "--insecure", "--oci-empty-base", "-f", lt, "-t", ref],
                             [t.crane, "mutate", "--insecure", "--set-platform", p, "--entrypoint",
                              "/usr/local/bin/hello", "-t", ref, ref]]
                    refs += ["-m", ref]
                cmds.append([t.crane, "index", "append", "--insecure", "-t", f"{reg}/crane-index-{i}:latest", *refs])
                return cmds, None

            def check(i):
                raw = json.loads(run(["skopeo", "inspect", "--tls-verify=false", "--raw",
                                      f"docker://{reg}/crane-index-{i}:latest"]).stdout)
                got = sorted(m["platform"]["architecture"] for m in raw["manifests"])
                if got != sorted(x[1] for x in PLATFORMS):
                    raise Failed(f"crane index platforms: {got}")
            self.repeat(5, "index", "crane", build, check, "in the local registry (crane has no local index)")


def check_output_run_layout(tools, layout):
    run(["skopeo", "inspect", f"oci:{layout}:bench"])
    r = tools.podman("pull", "-q", f"oci:{layout}:bench")
    check_output_run(tools, r.stdout.strip().splitlines()[-1])


# The registry floor: the requests a push cannot do without, on one
# kept-alive connection from this process (no process start, no TLS probe,
# blobs one after another). What is left of a tool's time is the tool's own.

def _layout_image(layout):
    layout = Path(layout)
    top = json.loads((layout / "index.json").read_text())["manifests"][0]
    raw = (layout / "blobs/sha256" / top["digest"][7:]).read_bytes()
    manifest = json.loads(raw)
    return raw, top["mediaType"], [manifest["config"]] + manifest["layers"]


def floor_push(host, layout, repo):
    raw, media_type, blobs = _layout_image(layout)
    c = http.client.HTTPConnection(*host.split(":"))
    try:
        def req(method, path, body=None, headers=None, want=None):
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            r.read()
            if want and r.status not in want:
                raise Failed(f"floor: {method} {path} -> {r.status}")
            return r
        req("GET", "/v2/", want=(200,))
        for b in blobs:
            req("HEAD", f"/v2/{repo}/blobs/{b['digest']}", want=(200, 404))
            loc = req("POST", f"/v2/{repo}/blobs/uploads/", body=b"", want=(202,)).getheader("Location")
            data = (Path(layout) / "blobs/sha256" / b["digest"][7:]).read_bytes()
            req("PUT", loc + ("&" if "?" in loc else "?") + "digest=" + b["digest"], body=data,
                headers={"Content-Type": "application/octet-stream"}, want=(201,))
        req("PUT", f"/v2/{repo}/manifests/bench", body=raw, headers={"Content-Type": media_type}, want=(201,))
    finally:
        c.close()


def floor_push_again(host, repo):
    c = http.client.HTTPConnection(*host.split(":"))
    try:
        for method, path in (("GET", "/v2/"), ("HEAD", f"/v2/{repo}/manifests/bench")):
            c.request(method, path, headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
            r = c.getresponse()
            r.read()
            if r.status != 200:
                raise Failed(f"floor: {method} {path} -> {r.status}")
    finally:
        c.close()


def largest_blob(layout):
    blobs = Path(layout) / "blobs/sha256"
    return max(blobs.iterdir(), key=lambda p: p.stat().st_size)


# Single-threaded zlib at level argv[1], gzip wrapper, 1 MiB reads: the baseline.
ZLIB_BASELINE = """
import sys, zlib
c = zlib.compressobj(int(sys.argv[1]), zlib.DEFLATED, 31)
with open(sys.argv[2], "rb") as f:
    while chunk := f.read(1 << 20):
        c.compress(chunk)
c.flush()
"""


# --- report -------------------------------------------------------------------

def machine():
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1)) // 1024
    return {"nproc": os.cpu_count(), "cpu": cpu, "mem_mib": mem, "kernel": platform.release(),
            "load": os.getloadavg()}


def versions(tools):
    def first(cmd):
        r = run(cmd, check=False)
        return (r.stdout or r.stderr).strip().splitlines()[0] if (r.stdout or r.stderr).strip() else "?"
    return {"rustimg": first([tools.rustimg, "version"]), "crane": first([tools.crane, "version"]),
            "podman": first(["podman", "--version"]), "skopeo": first(["skopeo", "--version"]),
            "docker-registry": first(["docker-registry", "--version"]), "zlib (python)": zlib.ZLIB_RUNTIME_VERSION}


NAMES = {1: "binary -> scratch image on disk", 2: "push cold", 3: "push again, unchanged",
         4: "200 MB asset layer", 5: "four-platform index"}


def markdown(results, extra, mach, vers, args):
    lines = [f"Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC. "
             f"Machine: {mach['nproc']} CPUs ({mach['cpu']}), {mach['mem_mib']} MiB, Linux {mach['kernel']}, "
             f"load average at the end {mach['load'][0]:.2f}. Runs per cell: {args.runs} (median).", "",
             "Versions: " + "; ".join(f"{k} {v}" for k, v in vers.items()), "",
             "| scenario | case | tool | median wall (s) | min (s) | peer / rustimg | CPU (s) | peak RSS (MiB) | note |",
             "|---|---|---|---|---|---|---|---|---|"]
    by = {}
    for r in results:
        by[(r["scenario"], r["case"], r["tool"])] = r
    peers = ("crane", "podman")
    for r in results:
        base = by.get((r["scenario"], r["case"], "rustimg"))
        ratio = f"{r['median_s'] / base['median_s']:.2f}x" if base and r["tool"] in peers else ""
        rss = f"{r['rss_kb'] / 1024:.1f}" if r["rss_kb"] else "-"
        cpu = f"{r['cpu_s']:.2f}" if r["rss_kb"] else "-"
        lines.append(f"| {r['scenario']} {NAMES[r['scenario']]} | {r['case']} | {r['tool']} | {r['median_s']:.3f} | "
                     f"{min(r['times']):.3f} | {ratio} | {cpu} | {rss} | {r['note']} |")
    floors = [(s, c) for (s, c, tool) in by if tool == "floor"]
    if floors:
        lines += ["", "The registry floor bounds every client: no tool can be faster than crane by more than "
                      "crane / floor."]
        for s, c in sorted(floors):
            floor, crane = by[(s, c, "floor")], by.get((s, c, "crane"))
            if crane:
                lines.append(f"- ({s}) {NAMES[s]}, {c}: floor {floor['median_s']:.3f} s; crane / floor = "
                             f"{crane['median_s'] / floor['median_s']:.2f}x")
    rows = [(r["tool"], r) for r in results if r["scenario"] == 4 and r["case"] == "build"
            and r["tool"].startswith("rustimg")]
    if rows:
        size = extra["tar_bytes"]
        lines += ["", f"Layer throughput (scenario 4): the asset layer's tar is {size} bytes; rustimg's figure is "
                      "the whole command (verify, tar, gzip, two SHA-256, write, publish), zlib's compression only "
                      f"(Python's zlib {zlib.ZLIB_RUNTIME_VERSION}, one thread, same tar)."]
        for tool, b in rows:
            level = b["note"].split()[-1]
            base = by.get((4, "baseline", f"zlib -{level}, 1 thread"))
            if not base:
                continue
            z, r = size / base["median_s"] / 1e6, size / b["median_s"] / 1e6
            lines.append(f"- level {level}: zlib {z:.1f} MB/s ({base['cpu_s']:.2f} CPU-s); rustimg {r:.1f} MB/s = "
                         f"**{r / z:.2f}x** ({b['cpu_s']:.2f} CPU-s, peak RSS {b['rss_kb'] / 1024:.1f} MiB); "
                         f"fastest runs {min(base['times']) / min(b['times']):.2f}x")
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--level", default="1", choices=[str(n) for n in range(1, 10)],
                   help="rustimg's gzip level (default 1: crane's; 6, rustimg's default, is measured too)")
    p.add_argument("--only", default="1,2,3,4,5", help="scenarios, e.g. 1,4")
    p.add_argument("--tools", default="rustimg,crane,podman")
    p.add_argument("--big-mb", type=int, default=20, help="size of the large binary (MiB)")
    p.add_argument("--asset-mb", type=int, default=200, help="size of the asset (MB)")
    p.add_argument("--workdir", default=None, help="where inputs and outputs go (default: $TMPDIR)")
    p.add_argument("--json", help="write raw results here")
    p.add_argument("--markdown", help="write the report table here")
    p.add_argument("--keep", action="store_true", help="keep the working directory")
    args = p.parse_args()
    args.only = {int(x) for x in args.only.split(",")}
    args.tools = args.tools.split(",")
    b = Bench(args)
    try:
        results = b.main()
        vers = versions(b.tools)
        mach = machine()
        md = markdown(results, b.extra, mach, vers, args)
        print(md)
        if args.markdown:
            Path(args.markdown).write_text(md)
        if args.json:
            Path(args.json).write_text(json.dumps({"results": results, "extra": b.extra, "machine": mach,
                                                   "versions": vers}, indent=1))
    except Failed as e:
        log(f"bench: FAILED: {e}")
        return 1
    finally:
        if not args.keep:
            shutil.rmtree(b.work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
