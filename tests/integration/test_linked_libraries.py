"""C libraries statically linked into the binary (issue 19, item 5): a crate
that links the system's OpenSSL through the real openssl-sys crate, built by
`rustimg build`, and gcc -static programs over Debian's static zlib and SQLite;
`rustimg build` and `rustimg verify` name what was linked in, with versions."""
import gzip
import io
import json
import shutil
import subprocess
import tarfile

import pytest

from conftest import EXAMPLE, FIXTURES, blob, require_tool, run

CRATE = FIXTURES / "crates" / "opensslsys"


def modversion(package):
    """The version of a Debian -dev package as its pkg-config file gives it."""
    return run(require_tool("pkg-config"), "--modversion", package).stdout.strip()


def image_binary(layout, name, dest):
    """Extracts /usr/local/bin/NAME from the image in the OCI layout to `dest`."""
    index = json.loads((layout / "index.json").read_text())
    manifest = json.loads(blob(layout, index["manifests"][0]["digest"]))
    for layer in manifest["layers"]:
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob(layout, layer["digest"])))) as tf:
            for m in tf.getmembers():
                if m.isfile() and m.name.lstrip("./") == f"usr/local/bin/{name}":
                    dest.write_bytes(tf.extractfile(m).read())
                    return dest
    raise AssertionError(f"/usr/local/bin/{name} is not in the image")


def build(rustimg, root, source, name):
    """Builds a copy of the crate `source` with --json; returns (result, JSON, binary)."""
    crate = root / name
    shutil.copytree(source, crate, ignore=shutil.ignore_patterns("target"))
    layout = root / f"{name}-oci"
    res = rustimg("build", crate, "--output", f"oci:{layout}:latest", "--json", check_code=0)
    return res, json.loads(res.out), image_binary(layout, name, root / f"{name}.bin")


@pytest.fixture(scope="module")
def openssl_build(rustimg, tmp_path_factory):
    return build(rustimg, tmp_path_factory.mktemp("linked"), CRATE, "opensslsys")


def test_build_json_reports_the_static_openssl(openssl_build):
    _, result, _ = openssl_build
    [report] = result["reports"]
    assert report["linkage"] in ("static", "static-pie"), report
    assert report["linked_libraries"] == [{"name": "OpenSSL", "version": modversion("openssl")}], report


def test_build_output_names_the_static_openssl(openssl_build):
    res, _, _ = openssl_build
    assert f"statically linked C libraries: OpenSSL {modversion('openssl')}" in res.err, res


def test_verify_reports_the_static_openssl(rustimg, openssl_build):
    _, _, binary = openssl_build
    version = modversion("openssl")
    [report] = rustimg("verify", "--json", binary, check_code=0).json_lines()
    assert report["linked_libraries"] == [{"name": "OpenSSL", "version": version}], report
    human = rustimg("verify", binary, check_code=0).out
    assert f"C libraries:  OpenSSL {version}\n" in human, human


def test_the_openssl_binary_runs_with_that_version(openssl_build):
    # The binary itself says which OpenSSL it carries: the one reported.
    _, _, binary = openssl_build
    binary.chmod(0o755)
    out = run(binary).stdout
    major, minor, patch = (int(p) for p in modversion("openssl").split(".")[:3])
    assert f"{(major << 28) | (minor << 20) | (patch << 4):#x}" in out, out


def test_a_plain_rust_binary_links_no_c_library(rustimg, tmp_path):
    _, result, binary = build(rustimg, tmp_path, EXAMPLE, "hello")
    assert result["reports"][0]["linked_libraries"] == [], result
    [report] = rustimg("verify", "--json", binary, check_code=0).json_lines()
    assert report["linked_libraries"] == [], report
    assert "C libraries:  none\n" in rustimg("verify", binary, check_code=0).out


ZLIB_C = """#include <zlib.h>
#include <stdio.h>
int main(void) {
  unsigned char out[64]; uLongf n = sizeof out;
  printf("%d\\n", uncompress(out, &n, (const unsigned char *)"x", 1));
  return 0;
}
"""

SQLITE_C = """#include <sqlite3.h>
#include <stdio.h>
int main(void) { sqlite3 *db; printf("%d\\n", sqlite3_open(":memory:", &db)); return 0; }
"""


# What native-tls does: a TLS client context, nothing that prints the
# version, so the "OpenSSL 3.0.x  DD Mon YYYY" text is not linked in and
# the version comes from the "openssl-version" string OpenSSL 3 keeps.
TLS_C = """#include <openssl/ssl.h>
#include <stdio.h>
int main(void) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  printf("%d\\n", ctx != NULL);
  SSL_CTX_free(ctx);
  return 0;
}
"""


@pytest.mark.parametrize("source,libs,package,name", [
    (ZLIB_C, ["-lz"], "zlib", "zlib"),
    (SQLITE_C, ["-lsqlite3", "-lm"], "sqlite3", "SQLite"),
    (TLS_C, ["-lssl", "-lcrypto", "-lpthread"], "openssl", "OpenSSL"),
])
def test_verify_names_debian_static_c_libraries(rustimg, tmp_path, source, libs, package, name):
    gcc = require_tool("gcc")
    (tmp_path / "main.c").write_text(source)
    binary = tmp_path / "main"
    proc = subprocess.run([gcc, "-static", "-O2", "-Wl,--gc-sections", str(tmp_path / "main.c"), "-o", str(binary),
                           *libs], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    if name == "OpenSSL":  # the case this program is for: no version text to read
        assert f"OpenSSL {modversion(package)}".encode() not in binary.read_bytes()
    [report] = rustimg("verify", "--json", binary, check_code=0).json_lines()
    assert report["linked_libraries"] == [{"name": name, "version": modversion(package)}], report
