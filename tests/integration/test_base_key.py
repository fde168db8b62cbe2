"""base-key (issue 16, item 5): a build on an image base requires a cosign
signature on it by the given public key, checked as `rustimg verify-image`
(and `cosign verify --key`) do, before anything of the base is pulled. Real
docker-registry, real signatures (`rustimg sign`), keys made by openssl."""
import os
import subprocess
from pathlib import Path

import pytest

from conftest import require_tool
from test_build import hello_binary  # noqa: F401  session fixture: the example crate as a static binary

PASSPHRASE = "base-key-Pa55phrase-do-not-leak"


def keypair(tmp: Path, name: str) -> tuple:
    openssl = require_tool("openssl")
    key, pub = tmp / f"{name}.pem", tmp / f"{name}.pub"
    env = dict(os.environ, BASE_PW=PASSPHRASE)
    subprocess.run([openssl, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-aes-256-cbc",
                    "-pass", "env:BASE_PW", "-out", key], env=env, check=True, capture_output=True)
    subprocess.run([openssl, "pkey", "-in", key, "-passin", "env:BASE_PW", "-pubout", "-out", pub], env=env,
                   check=True, capture_output=True)
    return key, pub


@pytest.fixture(scope="module")
def bases(rustimg, registry_plain, tmp_path_factory):
    """Two bases in the registry, one signed by `key`: (signed ref, unsigned ref, key, pub)."""
    tmp = tmp_path_factory.mktemp("base-key")
    layer = tmp / "layer"
    (layer / "etc").mkdir(parents=True)
    (layer / "etc" / "base-release").write_text("signed base\n")
    refs = []
    for name in ("signed", "unsigned"):
        ref = f"{registry_plain.host}/bases/{name}:v1"
        res = rustimg("append", "--base", "scratch", "--platform", "linux/amd64", "--layer", layer,
                      "--output", f"docker://{ref}")
        assert res.code == 0, res
        refs.append(ref)
    key, pub = keypair(tmp, "base")
    res = rustimg("sign", "--key", key, "--key-password-env", "BASE_PW", refs[0], env={"BASE_PW": PASSPHRASE})
    assert res.code == 0, res
    return refs[0], refs[1], key, pub


def build_on(rustimg, binary, base, out, *extra, crate=None):
    """A --binary build; its crate directory (spec paths, assets) is the current one, `crate`."""
    return rustimg("build", "--binary", binary, "--base", base, "--output", f"oci:{out}:v1", *extra, cwd=crate)


def test_a_base_signed_by_the_key_is_built_on(rustimg, bases, hello_binary, tmp_path):  # noqa: F811
    signed, _, _, pub = bases
    res = build_on(rustimg, hello_binary, signed, tmp_path / "ok", "--base-key", pub)
    assert res.code == 0, res
    assert f"base {signed} is signed by {pub}" in res.err, res.err
    # The same key named by the spec, inside the crate.
    crate = tmp_path / "crate"
    (crate / "keys").mkdir(parents=True)
    (crate / "keys" / "base.pub").write_bytes(Path(pub).read_bytes())
    res = build_on(rustimg, hello_binary, signed, tmp_path / "spec", "--set", "base-key=keys/base.pub", crate=crate)
    assert res.code == 0, res
    assert "is signed by base-key keys/base.pub" in res.err, res.err


def test_an_unsigned_base_or_another_key_is_refused_before_the_pull(rustimg, bases, hello_binary, tmp_path):  # noqa: F811
    signed, unsigned, _, pub = bases
    res = build_on(rustimg, hello_binary, unsigned, tmp_path / "unsigned", "--base-key", pub)
    assert res.code == 1, res
    assert f"the base image {unsigned} is not signed by {pub}" in res.err and "has no signatures" in res.err, res.err
    assert "[pull] base" not in res.err, res.err  # nothing of the base was pulled
    assert not (tmp_path / "unsigned").exists()
    _, other_pub = keypair(tmp_path, "other")
    res = build_on(rustimg, hello_binary, signed, tmp_path / "other", "--base-key", other_pub)
    assert res.code == 1 and "is not signed by" in res.err and "does not verify" in res.err, res
    assert not (tmp_path / "other").exists()


def test_base_key_is_for_image_bases_and_stays_in_the_crate(rustimg, bases, hello_binary, tmp_path):  # noqa: F811
    _, _, _, pub = bases
    res = build_on(rustimg, hello_binary, "static", tmp_path / "builtin", "--base-key", pub)
    assert res.code == 2 and "is built into rustimg" in res.err, res
    crate = tmp_path / "crate"
    crate.mkdir()
    res = build_on(rustimg, hello_binary, "static", tmp_path / "outside", "--set", "base-key=../base.pub",
                   crate=crate)
    assert res.code == 2 and "$.base-key" in res.err and "points outside the crate directory" in res.err, res


def test_a_key_that_cannot_be_used_fails_before_cargo(rustimg, bases, tmp_path):
    import shutil
    from conftest import EXAMPLE
    signed, _, _, _ = bases
    crate = tmp_path / "hello"
    shutil.copytree(EXAMPLE, crate, ignore=shutil.ignore_patterns("target"))
    res = rustimg("build", crate, "--base", signed, "--base-key", tmp_path / "missing.pub",
                  "--output", f"oci:{tmp_path / 'out'}:v1")
    assert res.code == 2 and "missing.pub" in res.err, res
    assert not (crate / "target").exists()  # cargo never ran


def _layout_with_one_manifest(directory: Path, tag: str, manifest: dict, blobs: list) -> None:
    """An OCI layout by hand: `blobs` (bytes) and `manifest`, tagged `tag`."""
    import hashlib
    import json
    store = directory / "blobs" / "sha256"
    store.mkdir(parents=True)
    for data in blobs:
        (store / hashlib.sha256(data).hexdigest()).write_bytes(data)
    raw = json.dumps(manifest).encode()
    (store / hashlib.sha256(raw).hexdigest()).write_bytes(raw)
    (directory / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (directory / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [{
        "mediaType": manifest["mediaType"], "digest": "sha256:" + hashlib.sha256(raw).hexdigest(),
        "size": len(raw), "annotations": {"org.opencontainers.image.ref.name": tag}}]}))


def test_a_malformed_signature_image_on_the_base_is_refused_as_the_bases(rustimg, registry_plain, bases,
                                                                        hello_binary, tmp_path):  # noqa: F811
    """A hostile registry's .sig image for the base (more layers than rustimg
    reads) is refused before a layer is fetched, as an error about the base's
    signature, and nothing is built."""
    import hashlib
    import re
    _, _, _, pub = bases
    layer = tmp_path / "layer"
    layer.mkdir()
    (layer / "f").write_text("x\n")
    base = f"{registry_plain.host}/bases/malformed-sig:v1"
    res = rustimg("append", "--base", "scratch", "--platform", "linux/amd64", "--layer", layer,
                  "--output", f"docker://{base}", "--json")
    assert res.code == 0, res
    digest = re.search(r"sha256:[0-9a-f]{64}", res.out).group(0)
    config, payload = b"{}", b"{}"
    blob = lambda media_type, data: {"mediaType": media_type, "size": len(data),  # noqa: E731
                                     "digest": "sha256:" + hashlib.sha256(data).hexdigest()}
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": blob("application/vnd.oci.image.config.v1+json", config),
                "layers": [blob("application/vnd.dev.cosign.simplesigning.v1+json", payload)] * 257}
    sig_tag = digest.replace(":", "-") + ".sig"
    _layout_with_one_manifest(tmp_path / "sig", sig_tag, manifest, [config, payload])
    res = rustimg("push", f"oci:{tmp_path / 'sig'}:{sig_tag}", f"{registry_plain.host}/bases/malformed-sig:{sig_tag}")
    assert res.code == 0, res

    res = build_on(rustimg, hello_binary, base, tmp_path / "out", "--base-key", pub)
    assert res.code == 2, res
    assert f"the signature of the base image {base} cannot be checked against {pub}" in res.err, res.err
    assert "layers" in res.err, res.err
    assert not (tmp_path / "out").exists()
