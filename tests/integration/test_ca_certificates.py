"""CA bundles that work (issue 19, item 4): a "ca-certificates" or
"extra-ca-certificates" file that is no PEM bundle of certificates is refused
before cargo runs; "extra-ca-certificates" adds to the host's roots instead of
replacing them; on "scratch" an explicitly requested bundle is included (and
the image run under podman finds it), never silently dropped.
Test certificates: tests/fixtures/ca (self-signed, valid until 2126)."""
import json
import shutil
from pathlib import Path

from conftest import EXAMPLE, ROOT, blob, podman_run, run
from test_build import hello_binary  # noqa: F401 (the session fixture: the example crate, built once)
from test_build_inputs import build_true, crate_with_spec, layers

CA = ROOT / "tests" / "fixtures" / "ca"
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
BUNDLE = "etc/ssl/certs/ca-certificates.crt"
BEGIN = b"-----BEGIN CERTIFICATE-----"
ONE = (CA / "test-ca-one.pem").read_bytes()
TWO = (CA / "test-ca-two.pem").read_bytes()


def copy_example(dest: Path) -> Path:
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns("target"))
    return dest


def image_files(layout: Path, digest: str) -> dict:
    """{path: bytes} of the regular files in every layer of the image `digest`."""
    return {name: data for layer in layers(layout, digest) for name, data in layer if data is not None}


def env_of(layout: Path, digest: str) -> list:
    manifest = json.loads(blob(layout, digest))
    return json.loads(blob(layout, manifest["config"]["digest"]))["config"].get("Env", [])


def test_bad_bundles_are_refused_before_cargo(rustimg, tmp_path):
    crate = copy_example(tmp_path / "hello")
    (crate / "certs").mkdir()
    shutil.copy(CA / "test-ca-one.der", crate / "certs" / "corp.der")
    (crate / "certs" / "corp.pem").write_bytes(ONE)
    (crate / "certs" / "mixed.pem").write_bytes(ONE + b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    (crate / "certs" / "empty.pem").write_bytes(b"")
    cases = [
        ({"ca-certificates": "certs/corp.der"},
         ['"ca-certificates"', "certs/corp.der is DER, not PEM",
          "openssl x509 -inform der -in certs/corp.der -out certs/corp.der.pem"]),
        ({"ca-certificates": "Cargo.toml"}, ['"ca-certificates"', "Cargo.toml holds no certificate"]),
        ({"ca-certificates": "certs/empty.pem"}, ["certs/empty.pem is empty"]),
        ({"extra-ca-certificates": ["certs/corp.pem", "certs/mixed.pem"]},
         ['"extra-ca-certificates"', "certs/mixed.pem", "certificate #2 does not parse"]),
    ]
    for i, (spec, needles) in enumerate(cases):
        (crate / "rustimg.json").write_text(json.dumps(spec))
        out = tmp_path / f"out{i}"
        res = rustimg("build", crate, "--output", f"oci:{out}", env={"SOURCE_DATE_EPOCH": ""})
        assert res.code == 2, (spec, res)
        for needle in needles:
            assert needle in res.err, (spec, needle, res)
        assert "Compiling" not in res.err and not (crate / "target").exists(), (spec, res)  # before cargo
        assert not out.exists(), spec
        assert res.out == ""


def test_extra_ca_certificates_keep_the_host_roots(rustimg, tmp_path):
    crate = tmp_path / "crate"
    (crate / "certs").mkdir(parents=True)
    (crate / "certs" / "corp.pem").write_bytes(ONE)
    (crate / "certs" / "two.pem").write_bytes(TWO)
    host = HOST_CA.read_bytes()
    assert host.count(BEGIN) > 10

    # Added to the host's bundle, in the spec's order.
    spec = crate_with_spec(crate, {"base": "static", "extra-ca-certificates": ["certs/corp.pem", "certs/two.pem"]})
    out = tmp_path / "extra"
    res = build_true(rustimg, out, "--spec", spec)
    assert res.code == 0, res
    digest = res.out.strip().splitlines()[-1]
    bundle = image_files(out, digest)[BUNDLE]
    assert bundle.count(BEGIN) == host.count(BEGIN) + 2
    assert bundle.startswith(host) and bundle.endswith(ONE + TWO)
    assert f"{host.count(BEGIN) + 2} certificates from the host's" in res.err, res
    assert "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt" in env_of(out, digest)

    # Added to the spec's own bundle instead; alone with "ca-certificates": false.
    for own, expected in (("certs/corp.pem", ONE + TWO), (False, TWO)):
        spec = crate_with_spec(crate, {"base": "static", "ca-certificates": own,
                                       "extra-ca-certificates": "certs/two.pem"})
        out = tmp_path / f"own-{own}"
        res = build_true(rustimg, out, "--spec", spec)
        assert res.code == 0, res
        assert image_files(out, res.out.strip().splitlines()[-1])[BUNDLE] == expected


def test_scratch_includes_an_explicitly_requested_bundle(rustimg, podman, hello_binary, tmp_path):  # noqa: F811
    crate = copy_example(tmp_path / "hello")
    (crate / "certs").mkdir()
    (crate / "certs" / "corp.pem").write_bytes(ONE)
    host = HOST_CA.read_bytes()
    cases = {
        "default": ({"base": "scratch"}, None),
        "host": ({"base": "scratch", "ca-certificates": True}, host),
        "extra": ({"base": "scratch", "extra-ca-certificates": "certs/corp.pem"}, host + ONE),
    }
    for name, (spec, expected) in cases.items():
        (crate / "rustimg.json").write_text(json.dumps(spec))
        archive = tmp_path / f"{name}.tar"
        res = rustimg("build", "--binary", hello_binary, "--crate", crate,
                      "--output", f"docker-archive:{archive}:test/ca-{name}:v1", env={"SOURCE_DATE_EPOCH": ""})
        assert res.code == 0, (name, res)
        run(*podman, "load", "-i", archive)
        facts, text = podman_run(podman, f"test/ca-{name}:v1")
        if expected is None:  # scratch by default: nothing but the binary
            assert facts["ca_bundle"] == "absent", text
            assert facts["env.SSL_CERT_FILE"] == "<unset>", text
            continue
        assert facts["ca_bundle"] == "present", (name, text)
        assert facts["env.SSL_CERT_FILE"] == "/etc/ssl/certs/ca-certificates.crt", (name, text)
        assert 'added to the "scratch" base because the spec asks for it' in res.err, (name, res)
        layout = tmp_path / f"{name}-layout"
        res = rustimg("build", "--binary", hello_binary, "--crate", crate, "--output", f"oci:{layout}",
                      env={"SOURCE_DATE_EPOCH": ""})
        assert res.code == 0, (name, res)
        files = image_files(layout, res.out.strip().splitlines()[-1])
        assert files[BUNDLE] == expected, name
        assert "etc/passwd" not in files, name  # still scratch: the bundle alone


def test_scratch_includes_requested_tzdata_and_a_printed_spec_asks_for_nothing_new(rustimg, tmp_path):
    # "tzdata": true on scratch: the host's zoneinfo comes, alone, and the build output says so.
    crate = tmp_path / "crate"
    spec = crate_with_spec(crate, {"base": "scratch", "tzdata": True})
    out = tmp_path / "tz"
    res = build_true(rustimg, out, "--spec", spec)
    assert res.code == 0, res
    files = image_files(out, res.out.strip().splitlines()[-1])
    assert files["usr/share/zoneinfo/Europe/Paris"] == Path("/usr/share/zoneinfo/Europe/Paris").read_bytes()
    assert "etc/passwd" not in files and BUNDLE not in files, sorted(files)[:5]
    assert ("time zone database /usr/share/zoneinfo from the host's /usr/share/zoneinfo "
            '(added to the "scratch" base because the spec asks for it)') in res.err, res

    # `rustimg spec` of a scratch spec, fed back as the spec (less "targets", which
    # cannot be combined with "platforms"): the default stays "no bundle".
    spec = crate_with_spec(crate, {"base": "scratch"})
    printed = rustimg("spec", "--spec", spec, cwd=tmp_path)
    assert printed.code == 0, printed
    fed_back = json.loads(printed.out)
    assert fed_back["ca-certificates"] is False
    del fed_back["targets"]
    spec = crate_with_spec(crate, fed_back)
    out = tmp_path / "fed-back"
    res = build_true(rustimg, out, "--spec", spec)
    assert res.code == 0, res
    assert BUNDLE not in image_files(out, res.out.strip().splitlines()[-1])
    assert "CA bundle" not in res.err, res
