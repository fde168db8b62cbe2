"""rustimg build and hostile or unusual inputs: spec paths stay inside the
crate, --allow-dynamic waives dynamic linking only, the README's asset globs
work. Uses the host's /bin/true (a dynamic x86-64 PIE) and cc; no cargo."""
import gzip
import io
import json
import tarfile
from pathlib import Path

from conftest import ROOT, require_tool, run

TRUE = Path("/bin/true")
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")


def build_true(rustimg, out: Path, *extra, binary=TRUE):
    return rustimg("build", "--binary", binary, "--allow-dynamic", *extra, "--output", f"oci:{out}",
                   env={"SOURCE_DATE_EPOCH": ""})


def layers(layout: Path, digest: str):
    """{member name: [TarInfo, bytes]} of every layer of the image `digest`, and each
    layer's member names in order."""
    def blob(d):
        return (layout / "blobs" / "sha256" / d.split(":", 1)[1]).read_bytes()
    manifest = json.loads(blob(digest))
    out = []
    for desc in manifest["layers"]:
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob(desc["digest"])))) as tar:
            out.append([(m.name, tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()])
    return out


def crate_with_spec(path: Path, spec: dict) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "rustimg.json").write_text(json.dumps(spec))
    return path / "rustimg.json"


# --- 12: every path a spec names stays inside the crate ------------------------------

def test_ca_certificates_stay_inside_the_crate(rustimg, tmp_path):
    crate = tmp_path / "crate"
    (crate / "certs").mkdir(parents=True)
    ours = (ROOT / "tests" / "fixtures" / "ca" / "test-ca-one.pem").read_bytes()
    (crate / "certs" / "ca.pem").write_bytes(ours)
    (tmp_path / "secret.pem").write_text("not for the image")
    (crate / "abs-link.pem").symlink_to(tmp_path / "secret.pem")
    (crate / "host-link.pem").symlink_to(HOST_CA)
    (crate / "up").symlink_to(tmp_path)

    refused = {
        str(HOST_CA): ["$.ca-certificates", "must be relative to the crate directory", "true"],
        "../secret.pem": ["$.ca-certificates", "outside the crate directory", "true"],
        "abs-link.pem": ['"ca-certificates"', "abs-link.pem", "outside the crate directory", "true"],
        "host-link.pem": ['"ca-certificates"', "host-link.pem", "outside the crate directory", "true"],
        "up/secret.pem": ['"ca-certificates"', "up/secret.pem", "outside the crate directory", "true"],
    }
    for i, (bundle, needles) in enumerate(refused.items()):
        spec = crate_with_spec(crate, {"base": "static", "ca-certificates": bundle})
        out = tmp_path / f"refused{i}"
        res = build_true(rustimg, out, "--spec", spec)
        assert res.code == 2, (bundle, res)
        for needle in needles:
            assert needle in res.err, (bundle, needle, res)
        assert "not for the image" not in res.err
        assert not (out / "index.json").exists()

    # Inside the crate the bundle is taken; `true` takes the host's.
    for bundle, expected in (("certs/ca.pem", ours),
                             (True, HOST_CA.read_bytes())):
        spec = crate_with_spec(crate, {"base": "static", "ca-certificates": bundle})
        out = tmp_path / f"ok-{bundle is True}"
        res = build_true(rustimg, out, "--spec", spec)
        assert res.code == 0, res
        base = dict(layers(out, res.out.strip().splitlines()[-1])[0])
        assert base["etc/ssl/certs/ca-certificates.crt"] == expected


# --- 13: --allow-dynamic waives dynamic linking, nothing else ------------------------

def patched(src: Path, dest: Path, offset: int, value: bytes) -> Path:
    data = bytearray(src.read_bytes())
    data[offset:offset + len(value)] = value
    dest.write_bytes(bytes(data))
    dest.chmod(0o755)
    return dest


def test_allow_dynamic_does_not_waive_other_problems(rustimg, tmp_path):
    cc = require_tool("cc")
    (tmp_path / "main.c").write_text("int main(void) { return 0; }\n")
    obj = tmp_path / "main.o"
    run(cc, "-c", tmp_path / "main.c", "-o", obj)
    cases = [
        (obj, [], "relocatable object file (ET_REL)"),
        (patched(TRUE, tmp_path / "core", 16, (4).to_bytes(2, "little")), [], "core dump (ET_CORE)"),
        (patched(TRUE, tmp_path / "freebsd", 7, bytes([9])), [], "not built for Linux"),
        (patched(TRUE, tmp_path / "arm64", 18, (183).to_bytes(2, "little")), ["--platform", "linux/amd64"],
         "does not match platform linux/amd64"),
    ]
    for i, (binary, extra, needle) in enumerate(cases):
        for base in ("scratch", "static"):
            out = tmp_path / f"out{i}-{base}"
            res = build_true(rustimg, out, "--base", base, *extra, binary=binary)
            assert res.code == 1, (binary, base, res)
            assert needle in res.err and str(binary) in res.err, (binary, base, res)
            assert res.out == ""
            assert not (out / "index.json").exists()

    # What it is for: a dynamic executable.
    res = build_true(rustimg, tmp_path / "dyn", "--base", "scratch")
    assert res.code == 0, res
    assert "building anyway (--allow-dynamic)" in res.err, res


# --- 14: the asset globs the README shows ----------------------------------------

def test_readme_double_star_asset_glob(rustimg, tmp_path):
    crate = tmp_path / "crate"
    for rel, text in {"static/index.html": "<html>", "static/css/site.css": "body{}",
                      "static/css/deep/more.css": "p{}", "other.txt": "not an asset"}.items():
        (crate / rel).parent.mkdir(parents=True, exist_ok=True)
        (crate / rel).write_text(text)
    spec = crate_with_spec(crate, {"base": "scratch",
                                   "assets": [{"source": "static/**", "dest": "/srv/static/", "mode": "0644"}]})
    out = tmp_path / "out"
    res = build_true(rustimg, out, "--spec", spec)
    assert res.code == 0, res
    assets = layers(out, res.out.strip().splitlines()[-1])[0]
    names = [name for name, _ in assets]
    assert len(names) == len(set(names)), names
    files = {name: data for name, data in assets if data is not None}
    assert files == {"srv/static/index.html": b"<html>", "srv/static/css/site.css": b"body{}",
                     "srv/static/css/deep/more.css": b"p{}"}, names
