"""The Python package as users install it (issue 15, items 1-3): the sdist
carries the C++ core it builds and installs in a fresh venv against the
system's libraries, and the wheel built from it (isolated, then repaired by
auditwheel) is self-contained and works in a fresh venv against a real
registry. scripts/build-wheel.sh makes both; test.sh runs it first."""
import json
import os
import shutil
import subprocess
import sys
import tarfile
import urllib.request
import zipfile
from pathlib import Path

from conftest import ROOT

MAX_WHEEL_BYTES = 8 * 1024 * 1024
# Libraries the system libarchive brings along and the wheel must not need:
# the wheel's libarchive is built with tar, zlib and zstd only. libcurl is
# loaded with dlopen, from the system, never bundled.
UNWANTED = ("libarchive", "libxml2", "libicu", "libnettle", "libacl", "liblzma", "libbz2", "liblz4", "libb2",
            "libcurl")
# What manylinux lets a wheel take from the system (auditwheel's policy);
# everything else must be bundled in rustimg.libs/.
SYSTEM_LIBS = ("libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1", "libz.so.1", "libpthread.so.0",
               "libdl.so.2", "ld-linux-x86-64.so.2")


def run(*args, cwd=None, env=None, timeout=900):
    proc = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"{args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def needed_libs(elf) -> list:
    out = run("readelf", "-d", elf)
    return [line.split("[", 1)[1].rstrip("]") for line in out.splitlines() if "(NEEDED)" in line]


def clean_env(tmp_path) -> dict:
    """The caller's environment without what could lend the venv a module or
    library: no PYTHONPATH, LD_LIBRARY_PATH or pkg-config override (the
    private libarchive of scripts/build-wheel.sh). pip's cache stays the
    caller's, shared with build-wheel.sh, so build dependencies come from it."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "LD_LIBRARY_PATH", "LD_PRELOAD", "PKG_CONFIG", "PKG_CONFIG_PATH",
                        "PKG_CONFIG_LIBDIR", "CMAKE_PREFIX_PATH")}
    env["RUSTIMG_CACHE_DIR"] = str(tmp_path / "cache")
    return env


def fresh_venv(tmp_path, env, *pip_install) -> Path:
    """A new venv with `pip install --quiet *pip_install` run in it; its python."""
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", *pip_install, env=env, timeout=1800)
    return python


def build_and_verify_hello(python, tmp_path, env, push_to=None) -> dict:
    """In the venv: rustimg.build of examples/hello to an OCI layout,
    rustimg.verify of the binary it built, and rustimg.push to the registry
    `push_to` if given. Returns what the script saw."""
    crate = tmp_path / "hello"
    shutil.copytree(ROOT / "examples" / "hello", crate, ignore=shutil.ignore_patterns("target"))
    layout = f"oci:{tmp_path / 'layout'}:v1"
    push = "[]" if push_to is None else f"""rustimg.push({layout!r}, "{push_to}/wheel/hello:v1",
                      insecure_registries=["{push_to}"], use_config_files=False)"""
    script = f"""
import glob, json, rustimg
res = rustimg.build(crate={str(crate)!r}, output={layout!r}, source_date_epoch=0)
pushed = {push}
binary, = glob.glob({str(crate)!r} + "/target/*/rustimg/hello")  # the profile rustimg builds with
report = rustimg.verify(binary)
print(json.dumps({{"module": rustimg.__file__, "digest": res.digest, "platform": report.platform,
                  "built_platform": res.reports[0].platform, "pushed": [str(p) for p in pushed]}}))
"""
    # -I: no user site, no current directory on sys.path, so only the venv's
    # rustimg can be imported.
    out = json.loads(run(python, "-I", "-c", script, cwd=tmp_path, env=env).splitlines()[-1])
    assert out["module"].startswith(str(python.parent.parent)), out
    assert out["platform"] == out["built_platform"] == "linux/amd64", out
    return out


def test_sdist_carries_the_core_it_builds(sdist):
    """The sdist holds the core (as files, not links out of the archive) and
    nothing the build does not read. That it builds: scripts/build-wheel.sh
    makes the wheel the tests below install from this sdist."""
    with tarfile.open(sdist) as tar:
        members = tar.getmembers()
    top = sdist.name[:-len(".tar.gz")]
    names = {m.name.removeprefix(top + "/") for m in members}
    links = [m.name for m in members if m.issym() or m.islnk()]
    assert not links, f"the sdist stores links that dangle once extracted: {links}"
    for needed in ("pyproject.toml", "CMakeLists.txt", "src/rustimg/_core.cpp", "core/CMakeLists.txt",
                   "core/src/CMakeLists.txt", "core/capi/CMakeLists.txt", "core/cmake/check_layering.cmake",
                   "core/include/rustimg/pipeline.hpp"):
        assert needed in names, f"{sdist.name} lacks {needed}"
    # Every source of the core is in it, as in the checkout.
    for src in (ROOT / "src").rglob("*"):
        if src.is_file() and src.suffix in (".cpp", ".hpp", ".in", ".txt"):
            assert f"core/src/{src.relative_to(ROOT / 'src')}" in names, f"{sdist.name} lacks {src}"
    extra = sorted(n for n in names if n.startswith(("tests/", "examples/", "core/tests", "build", "bench")))
    assert not extra, f"the sdist carries what the build does not need: {extra[:10]}"


def test_wheel_is_self_contained_manylinux(wheel, auditwheel, tmp_path):
    """auditwheel calls it manylinux; the extension needs nothing from the
    system beyond the manylinux set (no -dev package, no libarchive and what it
    drags); the wheel is under 8 MB."""
    size = wheel.stat().st_size
    assert size < MAX_WHEEL_BYTES, f"{wheel.name} is {size / 2**20:.1f} MB, over 8 MB"
    show = run(auditwheel, "show", wheel)
    assert 'is consistent with the following platform tag: "manylinux_' in " ".join(show.split()), show
    with zipfile.ZipFile(wheel) as z:
        z.extractall(tmp_path)
    bundled = sorted(p.name for p in (tmp_path / "rustimg.libs").glob("*")) \
        if (tmp_path / "rustimg.libs").exists() else []
    ext, = (tmp_path / "rustimg").glob("_core*.so")
    needed = needed_libs(ext)
    for lib in needed + bundled:
        assert not lib.startswith(UNWANTED), f"the wheel needs {lib} (NEEDED {needed}, bundled {bundled})"
    for lib in needed:
        assert lib in SYSTEM_LIBS or lib in bundled, f"{ext.name} needs {lib} from the system: {needed}"
    # libarchive is linked in privately: another libarchive in the process
    # cannot take its calls.
    exported = run("nm", "-D", "--defined-only", ext)
    assert " archive_read_new" not in exported, "the extension exports libarchive's symbols"


def test_wheel_verifies_builds_and_pushes_in_a_fresh_venv(wheel, registry_plain, tmp_path):
    """A venv with nothing but the wheel (installed offline: it has no
    dependencies) runs verify, build of examples/hello and push to a real
    registry; the registry then serves the manifest built."""
    env = clean_env(tmp_path)
    python = fresh_venv(tmp_path, env, "--no-index", "--no-deps", wheel)
    host = registry_plain.host
    out = build_and_verify_hello(python, tmp_path, env, push_to=host)
    assert out["digest"] in out["pushed"][0], out
    req = urllib.request.Request(f"http://{host}/v2/wheel/hello/manifests/v1", method="HEAD", headers={
        "Accept": "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.headers["Docker-Content-Digest"] == out["digest"]


def test_sdist_installs_in_a_fresh_venv(sdist, tmp_path):
    """`pip install` of the sdist, as a user with the -dev packages of
    scripts/setup.sh would run it: an isolated build against the system's
    libraries (not build-wheel.sh's private libarchive), then build and verify
    from that venv. Compiles the core once more (a few minutes)."""
    env = clean_env(tmp_path)
    python = fresh_venv(tmp_path, env, sdist)
    ext, = (python.parent.parent / "lib").glob("python3*/site-packages/rustimg/_core*.so")
    libs = needed_libs(ext)
    assert any(lib.startswith("libarchive.so") for lib in libs), f"not built with the system's libarchive: {libs}"
    build_and_verify_hello(python, tmp_path, env)
