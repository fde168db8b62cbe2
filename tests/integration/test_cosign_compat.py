"""`rustimg sign` and `rustimg verify-image` against the REAL cosign
(github.com/sigstore/cosign/v2/cmd/cosign@v2.6.5) and the REAL docker-registry
(issue 16).

Both directions:
  - rustimg signs (a simple-signing payload in the sha256-<hex>.sig image of
    each manifest, an index's platform manifests too) and `cosign verify --key`
    accepts it, and rejects another key;
  - `cosign sign` / `cosign attest` sign and `rustimg verify-image` accepts
    that (signatures and, with --attestation, attestations), and rejects a
    wrong key, a tampered payload and an unsigned image.

No transparency log is reachable here: cosign runs with --insecure-ignore-tlog
and signs with --tlog-upload=false.
"""
import base64
import hashlib
import json
import os
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

from conftest import EXAMPLE, require_tool, rustimg_bin

PASSPHRASE = "attest-Pa55phrase-do-not-leak"
COSIGN_PASSWORD = "cosign-Pa55word-do-not-leak"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def _cosign() -> str:
    path = shutil.which("cosign")
    if path is None:
        go = shutil.which("go")
        if go:
            gopath = subprocess.run([go, "env", "GOPATH"], capture_output=True, text=True).stdout.strip()
            candidate = Path(gopath) / "bin" / "cosign"
            if candidate.is_file():
                path = str(candidate)
    if path is None:
        pytest.fail("cosign is not installed: run scripts/setup.sh "
                    "(go install github.com/sigstore/cosign/v2/cmd/cosign@v2.6.5)")
    return path


def _run(args, env=None, cwd=None, timeout=300):
    full = dict(os.environ)
    full.update(env or {})
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, env=full, cwd=cwd,
                          timeout=timeout)


@pytest.fixture
def work(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    # cosign and rustimg keep no state of the user's between tests.
    return tmp_path, {"HOME": str(home), "DOCKER_CONFIG": str(home / ".docker")}


def _cosign_run(env, *args):
    # No TUF mirror is reachable: cosign only warns that it cannot refresh its trust root.
    return _run([_cosign(), *args], env=env)


def _cosign_verify(env, pub, ref):
    return _cosign_run(env, "verify", "--key", pub, "--insecure-ignore-tlog", "--allow-insecure-registry", ref)


def _rustimg(env, *args):
    return _run([rustimg_bin(), *args], env=env)


def _push_image(registry, tmp: Path, repo: str, name: str, platform: str = "linux/amd64") -> str:
    layer = tmp / f"layer-{name}"
    layer.mkdir()
    (layer / "hello.txt").write_text(f"hello {name}\n")
    proc = _run([rustimg_bin(), "append", "--base", "scratch", "--platform", platform, "--layer", layer,
                 "--output", f"docker://{registry.host}/{repo}:{name}"])
    assert proc.returncode == 0, proc.stderr
    digest = proc.stdout.strip().splitlines()[-1].rsplit("@", 1)[1]
    assert digest.startswith("sha256:")
    return digest


def _get(registry, repo: str, what: str, accept: str) -> bytes:
    req = urllib.request.Request(f"http://{registry.host}/v2/{repo}/{what}", headers={"Accept": accept})
    with urllib.request.urlopen(req) as r:
        return r.read()


def _put_manifest(registry, repo: str, tag: str, body: bytes, media_type: str) -> None:
    urllib.request.urlopen(urllib.request.Request(
        f"http://{registry.host}/v2/{repo}/manifests/{tag}", method="PUT", data=body,
        headers={"Content-Type": media_type})).close()


def _put_blob(registry, repo: str, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with urllib.request.urlopen(urllib.request.Request(
            f"http://{registry.host}/v2/{repo}/blobs/uploads/", method="POST", data=b"")) as r:
        loc = r.headers["Location"]
    if loc.startswith("/"):
        loc = f"http://{registry.host}{loc}"
    sep = "&" if "?" in loc else "?"
    urllib.request.urlopen(urllib.request.Request(
        f"{loc}{sep}digest={digest}", method="PUT", data=data,
        headers={"Content-Type": "application/octet-stream"})).close()
    return digest


def _sig_tag(digest: str, suffix: str = ".sig") -> str:
    return digest.replace(":", "-") + suffix


def _keypair(tmp: Path, name: str = "signing") -> tuple:
    """An encrypted PKCS#8 P-256 key made by openssl, and its public key."""
    openssl = require_tool("openssl")
    key, pub = tmp / f"{name}.pem", tmp / f"{name}.pub"
    env = {"ATTEST_PW": PASSPHRASE}
    proc = _run([openssl, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-aes-256-cbc", "-pass", "env:ATTEST_PW", "-out", key], env=env)
    assert proc.returncode == 0, proc.stderr
    proc = _run([openssl, "pkey", "-in", key, "-passin", "env:ATTEST_PW", "-pubout", "-out", pub], env=env)
    assert proc.returncode == 0, proc.stderr
    return key, pub


def _index(registry, repo: str, tag: str, digests: list) -> str:
    """Puts an OCI index of the manifests `digests` (linux/amd64, linux/arm64) at `tag`."""
    manifests = []
    for digest, arch in zip(digests, ["amd64", "arm64"]):
        body = _get(registry, repo, f"manifests/{digest}", OCI_MANIFEST)
        manifests.append({"mediaType": OCI_MANIFEST, "digest": digest, "size": len(body),
                          "platform": {"architecture": arch, "os": "linux"}})
    body = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}).encode()
    _put_manifest(registry, repo, tag, body, OCI_INDEX)
    return "sha256:" + hashlib.sha256(body).hexdigest()


def test_cosign_verifies_rustimg_signatures(registry_plain, work):
    tmp, env = work
    repo = "attest/rustimg-signed"
    amd64 = _push_image(registry_plain, tmp, repo, "amd64", "linux/amd64")
    arm64 = _push_image(registry_plain, tmp, repo, "arm64", "linux/arm64")
    index = _index(registry_plain, repo, "multi", [amd64, arm64])
    key, pub = _keypair(tmp)
    base = f"{registry_plain.host}/{repo}"

    # Unsigned: neither cosign nor rustimg finds a signature.
    assert _cosign_verify(env, pub, f"{base}@{index}").returncode != 0
    proc = _rustimg(env, "verify-image", "--key", pub, f"{base}:multi")
    assert proc.returncode == 1, proc
    assert "has no signatures" in proc.stderr and "rustimg sign --key" in proc.stderr, proc.stderr

    # The passphrase comes from $COSIGN_PASSWORD by default, or the variable named.
    proc = _rustimg(env, "sign", "--key", key, f"{base}:multi")
    assert proc.returncode != 0 and "COSIGN_PASSWORD" in proc.stderr, proc
    proc = _rustimg(dict(env, MY_KEY_PW=PASSPHRASE), "sign", "--key", key, "--key-password-env", "MY_KEY_PW",
                    "--json", f"{base}:multi")
    assert proc.returncode == 0, proc.stderr
    assert PASSPHRASE not in proc.stdout + proc.stderr
    signed = json.loads(proc.stdout)["signed"]
    # The index first, then each platform's manifest (cosign sign --recursive).
    assert [s["digest"] for s in signed] == [index, amd64, arm64]
    assert all(s["identity"] == base for s in signed)
    assert all(f"{base}:{_sig_tag(s['digest'])}@sha256:" in s["signature"] for s in signed)

    for digest in (index, amd64, arm64):
        proc = _cosign_verify(env, pub, f"{base}@{digest}")
        assert proc.returncode == 0, proc.stderr
        payload = json.loads(proc.stdout)[0]
        assert payload["critical"]["image"]["docker-manifest-digest"] == digest
        assert payload["critical"]["type"] == "cosign container image signature"
        assert payload["critical"]["identity"]["docker-reference"] == base
    # By tag too, as users call it.
    assert _cosign_verify(env, pub, f"{base}:multi").returncode == 0
    proc = _rustimg(env, "verify-image", "--key", pub, f"{base}:amd64")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [amd64, base]

    # Signing again with the same key adds nothing (as cosign does)...
    proc = _rustimg(dict(env, COSIGN_PASSWORD=PASSPHRASE), "sign", "--key", key, f"{base}@{amd64}")
    assert proc.returncode == 0, proc.stderr
    sig = json.loads(_get(registry_plain, repo, f"manifests/{_sig_tag(amd64)}", OCI_MANIFEST))
    assert len(sig["layers"]) == 1
    # ...another key adds its signature to the .sig image, keeping the first.
    key2, pub2 = _keypair(tmp, "second")
    assert _cosign_verify(env, pub2, f"{base}@{amd64}").returncode != 0
    proc = _rustimg(dict(env, COSIGN_PASSWORD=PASSPHRASE), "sign", "--key", key2, f"{base}@{amd64}")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[0] == amd64
    sig = json.loads(_get(registry_plain, repo, f"manifests/{_sig_tag(amd64)}", OCI_MANIFEST))
    assert len(sig["layers"]) == 2
    for p in (pub, pub2):
        assert _cosign_verify(env, p, f"{base}@{amd64}").returncode == 0
        assert _rustimg(env, "verify-image", "--key", p, f"{base}@{amd64}").returncode == 0

    # A reference by another digest algorithm is not trusted blindly.
    proc = _rustimg(env, "verify-image", "--key", pub, f"{base}@sha512:{'a' * 128}")
    assert proc.returncode != 0 and "sha256" in proc.stderr, proc

    # cosign's own check is real: a key that signed nothing fails.
    _, other_pub = _keypair(tmp, "other")
    assert _cosign_verify(env, other_pub, f"{base}@{index}").returncode != 0
    proc = _rustimg(env, "verify-image", "--key", other_pub, f"{base}@{index}")
    assert proc.returncode == 1 and "does not verify" in proc.stderr, proc


def test_rustimg_verifies_cosign_signatures_and_attestations(registry_plain, work):
    tmp, env = work
    repo = "attest/cosign-signed"
    digest = _push_image(registry_plain, tmp, repo, "v1")
    other_digest = _push_image(registry_plain, tmp, repo, "v2")
    assert other_digest != digest
    base = f"{registry_plain.host}/{repo}"
    ref = f"{base}@{digest}"
    cenv = dict(env, COSIGN_PASSWORD=COSIGN_PASSWORD)

    proc = _run([_cosign(), "generate-key-pair"], env=cenv, cwd=tmp, timeout=120)
    assert proc.returncode == 0, proc.stderr
    pub = tmp / "cosign.pub"
    proc = _cosign_run(cenv, "sign", "--key", tmp / "cosign.key", "--tlog-upload=false",
                       "--allow-insecure-registry", "-y", ref)
    assert proc.returncode == 0, proc.stderr
    predicate = tmp / "predicate.json"
    predicate.write_text(json.dumps({"buildDefinition": {"buildType": "https://example.com/t"},
                                     "runDetails": {"builder": {"id": "https://example.com/b"}}}))
    proc = _cosign_run(cenv, "attest", "--key", tmp / "cosign.key", "--type", "slsaprovenance1",
                       "--predicate", predicate, "--tlog-upload=false", "--allow-insecure-registry", "-y", ref)
    assert proc.returncode == 0, proc.stderr

    # Accepted with cosign's public key: the signature, by digest and by tag...
    proc = _rustimg(env, "verify-image", "--key", pub, ref)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [digest, base]
    proc = _rustimg(env, "verify-image", "--key", pub, "--json", f"{base}:v1")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["verified"][0]["digest"] == digest
    # ...and the attestation, by cosign's type name or the predicate type URI.
    for kind in ("slsaprovenance1", "https://slsa.dev/provenance/v1"):
        proc = _rustimg(env, "verify-image", "--key", pub, "--attestation", kind, ref)
        assert proc.returncode == 0, proc.stderr
        statement = json.loads(proc.stdout.splitlines()[0])
        assert statement["predicate"]["runDetails"]["builder"]["id"] == "https://example.com/b"
        assert statement["subject"][0]["digest"]["sha256"] == digest.split(":", 1)[1]
    proc = _rustimg(env, "verify-image", "--key", pub, "--attestation", "spdxjson", ref)
    assert proc.returncode == 1 and "https://spdx.dev/Document" in proc.stderr, proc
    proc = _rustimg(env, "verify-image", "--key", pub, "--attestation", "slsaprovenanse1", ref)
    assert proc.returncode == 2 and 'did you mean "slsaprovenance1"' in proc.stderr, proc

    # Rejected: a wrong key.
    _, wrong_pub = _keypair(tmp, "wrong")
    proc = _rustimg(env, "verify-image", "--key", wrong_pub, ref)
    assert proc.returncode == 1 and "does not verify" in proc.stderr, proc
    proc = _rustimg(env, "verify-image", "--key", wrong_pub, "--attestation", "slsaprovenance1", ref)
    assert proc.returncode == 1, proc
    assert _cosign_verify(env, wrong_pub, ref).returncode != 0

    # Rejected: an unsigned image.
    proc = _rustimg(env, "verify-image", "--key", pub, f"{base}@{other_digest}")
    assert proc.returncode == 1 and "has no signatures" in proc.stderr, proc

    # Rejected: the signature replayed onto another image (its .sig tag now
    # holds a payload signed for `digest`).
    sig_manifest = _get(registry_plain, repo, f"manifests/{_sig_tag(digest)}", OCI_MANIFEST)
    _put_manifest(registry_plain, repo, _sig_tag(other_digest), sig_manifest, OCI_MANIFEST)
    proc = _rustimg(env, "verify-image", "--key", pub, f"{base}@{other_digest}")
    assert proc.returncode == 1 and "for another image" in proc.stderr, proc
    assert _cosign_verify(env, pub, f"{base}@{other_digest}").returncode != 0

    # Rejected: a tampered payload, stored under its own (honest) digest, so
    # that only the signature can catch it.
    manifest = json.loads(sig_manifest)
    layer = manifest["layers"][0]
    original = _get(registry_plain, repo, f"blobs/{layer['digest']}", "*/*")
    tampered = original.replace(base.encode(), b"evil.example/other")
    assert tampered != original
    layer["digest"], layer["size"] = _put_blob(registry_plain, repo, tampered), len(tampered)
    _put_manifest(registry_plain, repo, _sig_tag(digest), json.dumps(manifest).encode(), OCI_MANIFEST)
    proc = _rustimg(env, "verify-image", "--key", pub, ref)
    assert proc.returncode == 1 and "does not verify" in proc.stderr, proc
    assert _cosign_verify(env, pub, ref).returncode != 0
    assert COSIGN_PASSWORD not in proc.stdout + proc.stderr


def test_rustimg_signs_with_cosign_generated_key(registry_plain, work):
    """`rustimg sign --key cosign.key` reads cosign's own encrypted key (scrypt
    and nacl/secretbox around a PKCS#8 key) and `cosign verify --key
    cosign.pub` accepts what it signs; a key pair cosign made with an empty
    passphrase works too; a wrong or missing passphrase is refused naming the
    file, never echoing the passphrase."""
    tmp, env = work
    repo = "attest/cosign-key"
    digest = _push_image(registry_plain, tmp, repo, "v1")
    base = f"{registry_plain.host}/{repo}"
    ref = f"{base}@{digest}"
    cenv = dict(env, COSIGN_PASSWORD=COSIGN_PASSWORD)

    proc = _run([_cosign(), "generate-key-pair"], env=cenv, cwd=tmp, timeout=120)
    assert proc.returncode == 0, proc.stderr
    key, pub = tmp / "cosign.key", tmp / "cosign.pub"
    assert key.read_text().startswith("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n")
    assert _cosign_verify(env, pub, ref).returncode != 0  # nothing signed yet

    wrong = "not-" + COSIGN_PASSWORD
    proc = _rustimg(dict(env, COSIGN_PASSWORD=wrong), "sign", "--key", key, ref)
    assert proc.returncode != 0, proc
    assert f"{key}: cannot decrypt the private key: wrong passphrase" in proc.stderr, proc.stderr
    assert wrong not in proc.stdout + proc.stderr
    proc = _rustimg(env, "sign", "--key", key, ref)
    assert proc.returncode != 0, proc
    assert "no passphrase was given" in proc.stderr and "COSIGN_PASSWORD" in proc.stderr, proc.stderr
    assert _cosign_verify(env, pub, ref).returncode != 0  # the failures tagged nothing

    proc = _rustimg(cenv, "sign", "--key", key, "--json", ref)
    assert proc.returncode == 0, proc.stderr
    assert COSIGN_PASSWORD not in proc.stdout + proc.stderr
    assert [s["digest"] for s in json.loads(proc.stdout)["signed"]] == [digest]
    proc = _cosign_verify(env, pub, ref)
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)[0]
    assert payload["critical"]["image"]["docker-manifest-digest"] == digest
    assert payload["critical"]["identity"]["docker-reference"] == base
    proc = _rustimg(env, "verify-image", "--key", pub, ref)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [digest, base]

    # cosign allows an empty passphrase (COSIGN_PASSWORD set to ""); so does rustimg.
    empty_dir = tmp / "empty"
    empty_dir.mkdir()
    proc = _run([_cosign(), "generate-key-pair"], env=dict(env, COSIGN_PASSWORD=""), cwd=empty_dir, timeout=120)
    assert proc.returncode == 0, proc.stderr
    digest2 = _push_image(registry_plain, tmp, repo, "v2")
    ref2 = f"{base}@{digest2}"
    proc = _rustimg(dict(env, COSIGN_PASSWORD=""), "sign", "--key", empty_dir / "cosign.key", ref2)
    assert proc.returncode == 0, proc.stderr
    assert _cosign_verify(env, empty_dir / "cosign.pub", ref2).returncode == 0
    # cosign's check is real: the first key signed nothing of v2.
    assert _cosign_verify(env, pub, ref2).returncode != 0


def _cosign_verify_attestation(env, pub, ref, kind):
    return _cosign_run(env, "verify-attestation", "--key", pub, "--type", kind, "--insecure-ignore-tlog",
                       "--allow-insecure-registry", ref)


def _statements(cosign_stdout: str) -> list:
    """The in-toto statements of the DSSE envelopes cosign verify-attestation printed."""
    return [json.loads(base64.b64decode(json.loads(line)["payload"]))
            for line in cosign_stdout.splitlines() if line.startswith("{")]


def test_build_sign_key_signs_the_push_and_attests_sbom_and_provenance_for_cosign(registry_plain, work):
    """rustimg build --push --sign-key: cosign verify accepts the image, and
    cosign verify-attestation --type spdxjson / slsaprovenance1 accept the
    SBOM and the provenance the build attached, as DSSE statements about the
    pushed manifest; rustimg verify-image --attestation agrees; signing again
    adds nothing."""
    tmp, env = work
    crate = tmp / "hello"
    shutil.copytree(EXAMPLE, crate, ignore=shutil.ignore_patterns("target"))
    key, pub = _keypair(tmp)
    ref = f"{registry_plain.host}/attest/built:v1"
    env = dict(env, ATTEST_PW=PASSPHRASE, SOURCE_DATE_EPOCH="1700000000",
               RUSTUP_HOME=os.path.expanduser("~/.rustup"), CARGO_HOME=os.path.expanduser("~/.cargo"))

    # Nothing pushed: refused before cargo runs.
    proc = _rustimg(env, "build", crate, "--output", f"oci:{tmp / 'local'}", "--sign-key", key,
                    "--sign-key-password-env", "ATTEST_PW")
    assert proc.returncode == 2 and "signs what is pushed" in proc.stderr, proc
    assert not (crate / "target").exists()

    proc = _rustimg(env, "build", crate, "--push", ref, "--sign-key", key, "--sign-key-password-env", "ATTEST_PW",
                    "--json")
    assert proc.returncode == 0, proc.stderr
    assert PASSPHRASE not in proc.stdout + proc.stderr
    result = json.loads(proc.stdout)
    digest = result["digest"]
    signed = result["signed"]
    assert [(s["digest"], s.get("predicate_type", "")) for s in signed] == [
        (digest, ""), (digest, "https://spdx.dev/Document"), (digest, "https://slsa.dev/provenance/v1")]

    assert _cosign_verify(env, pub, f"{ref}@{digest}").returncode == 0
    sbom_doc = json.loads(_rustimg(env, "sbom", ref).stdout)
    proc = _cosign_verify_attestation(env, pub, f"{ref}@{digest}", "spdxjson")
    assert proc.returncode == 0, proc.stderr
    spdx = [s for s in _statements(proc.stdout) if s["predicateType"] == "https://spdx.dev/Document"]
    assert len(spdx) == 1 and spdx[0]["predicate"] == sbom_doc
    assert spdx[0]["subject"][0]["digest"] == {"sha256": digest[7:]}
    proc = _cosign_verify_attestation(env, pub, f"{ref}@{digest}", "slsaprovenance1")
    assert proc.returncode == 0, proc.stderr
    slsa = [s for s in _statements(proc.stdout) if s["predicateType"] == "https://slsa.dev/provenance/v1"]
    assert len(slsa) == 1
    assert slsa[0]["predicate"]["buildDefinition"]["externalParameters"]["package"]["name"] == "hello"
    # Another key's attestation is not accepted.
    _, other_pub = _keypair(tmp, "other")
    assert _cosign_verify_attestation(env, other_pub, f"{ref}@{digest}", "spdxjson").returncode != 0
    assert _rustimg(env, "verify-image", "--key", pub, "--attestation", "slsaprovenance1", ref).returncode == 0

    # rustimg sign --attest with the same key: the signature and both statements are there already.
    proc = _rustimg(env, "sign", "--key", key, "--key-password-env", "ATTEST_PW", "--attest", ref)
    assert proc.returncode == 0, proc.stderr
    lines = [line.split() for line in proc.stdout.splitlines()]
    assert [line[0] for line in lines] == [digest] * 3 and lines[2][2] == "https://slsa.dev/provenance/v1"
    att = json.loads(_get(registry_plain, "attest/built", f"manifests/{_sig_tag(digest, '.att')}", OCI_MANIFEST))
    assert len(att["layers"]) == 2

    # Another tool's in-toto artifact about the image that is no SLSA statement:
    # rustimg sign --attest passes over it, saying so, and attests nothing new.
    other = json.dumps({"_type": "https://in-toto.io/Statement/v1", "predicateType": "https://example.com/x",
                        "subject": [{"name": "x", "digest": {"sha256": digest[7:]}}], "predicate": {}}).encode()
    config = _put_blob(registry_plain, "attest/built", b"{}")
    layer = _put_blob(registry_plain, "attest/built", other)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/vnd.in-toto+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": config, "size": 2},
        "layers": [{"mediaType": "application/vnd.in-toto+json", "digest": layer, "size": len(other)}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": digest,
                    "size": len(_get(registry_plain, "attest/built", f"manifests/{digest}", OCI_MANIFEST))}}).encode()
    foreign = "sha256:" + hashlib.sha256(manifest).hexdigest()
    _put_manifest(registry_plain, "attest/built", foreign, manifest, OCI_MANIFEST)
    index_tag = f"sha256-{digest[7:]}"
    index = json.loads(_get(registry_plain, "attest/built", f"manifests/{index_tag}", OCI_INDEX))
    index["manifests"].append({"mediaType": OCI_MANIFEST, "digest": foreign, "size": len(manifest),
                               "artifactType": "application/vnd.in-toto+json"})
    _put_manifest(registry_plain, "attest/built", index_tag, json.dumps(index).encode(), OCI_INDEX)
    proc = _rustimg(env, "sign", "--key", key, "--key-password-env", "ATTEST_PW", "--attest", ref)
    assert proc.returncode == 0, proc.stderr
    assert f"not attested: {foreign}" in proc.stderr and "predicate type" in proc.stderr, proc.stderr
    att = json.loads(_get(registry_plain, "attest/built", f"manifests/{_sig_tag(digest, '.att')}", OCI_MANIFEST))
    assert len(att["layers"]) == 2


def _layout_index(layout: Path) -> dict:
    return json.loads((layout / "index.json").read_text())


def _layout_manifest(layout: Path, tag: str) -> dict:
    for entry in _layout_index(layout)["manifests"]:
        if entry.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
            hex_ = entry["digest"].split(":", 1)[1]
            return json.loads((layout / "blobs" / "sha256" / hex_).read_text())
    raise AssertionError(f"no {tag} in {layout}/index.json")


def test_sign_an_image_in_an_oci_layout_then_push_it_for_cosign(registry_plain, work):
    """rustimg sign --attest oci:DIR:TAG signs and attests in the layout
    (sha256-<hex>.sig / .att tags beside the image), verify-image checks it
    there, and rustimg push carries the signatures with the image so that
    cosign verify / verify-attestation accept it in the registry."""
    tmp, env = work
    crate = tmp / "hello"
    shutil.copytree(EXAMPLE, crate, ignore=shutil.ignore_patterns("target"))
    key, pub = _keypair(tmp)
    layout = tmp / "layout"
    repo = f"{registry_plain.host}/attest/from-layout"
    env = dict(env, ATTEST_PW=PASSPHRASE, SOURCE_DATE_EPOCH="1700000000",
               RUSTUP_HOME=os.path.expanduser("~/.rustup"), CARGO_HOME=os.path.expanduser("~/.cargo"))
    proc = _rustimg(env, "build", crate, "--output", f"oci:{layout}:v1", "--json")
    assert proc.returncode == 0, proc.stderr
    digest = json.loads(proc.stdout)["digest"]
    src = f"oci:{layout}:v1"

    # Unsigned: verify-image says so, naming the layout's tag.
    proc = _rustimg(env, "verify-image", "--key", pub, src)
    assert proc.returncode == 1 and "has no signatures" in proc.stderr and _sig_tag(digest) in proc.stderr, proc
    # A layout has no repository: the identity the signature names is asked for.
    proc = _rustimg(env, "sign", "--key", key, "--key-password-env", "ATTEST_PW", src)
    assert proc.returncode == 2 and "--identity" in proc.stderr, proc
    assert not any(_sig_tag(digest) in json.dumps(e) for e in _layout_index(layout)["manifests"])
    proc = _rustimg(env, "sign", "--key", key, "--key-password-env", "ATTEST_PW", "--identity", f"{repo}:v1", src)
    assert proc.returncode == 2 and "without a tag" in proc.stderr, proc

    proc = _rustimg(env, "sign", "--key", key, "--key-password-env", "ATTEST_PW", "--identity", repo, "--attest",
                    "--json", src)
    assert proc.returncode == 0, proc.stderr
    assert PASSPHRASE not in proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert [(s["digest"], s["identity"]) for s in doc["signed"]] == [(digest, repo)]
    assert doc["signed"][0]["signature"].startswith(f"oci:{layout}:{_sig_tag(digest)}@sha256:")
    assert sorted(a["predicate_type"] for a in doc["attested"]) == [
        "https://slsa.dev/provenance/v1", "https://spdx.dev/Document"]
    assert doc["skipped"] == []
    assert len(_layout_manifest(layout, _sig_tag(digest))["layers"]) == 1
    assert len(_layout_manifest(layout, _sig_tag(digest, ".att"))["layers"]) == 2
    # The signature images tagged in the layout do not hide the image's own tag.
    assert _rustimg(env, "sbom", src).returncode == 0

    # Checked in the layout: this key, not another.
    proc = _rustimg(env, "verify-image", "--key", pub, src)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [digest, repo]
    _, other_pub = _keypair(tmp, "other")
    proc = _rustimg(env, "verify-image", "--key", other_pub, src)
    assert proc.returncode == 1 and "does not verify" in proc.stderr, proc
    proc = _rustimg(env, "verify-image", "--key", pub, "--attestation", "spdxjson", src)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[0])["subject"][0]["name"] == repo

    # Signing again adds nothing.
    proc = _rustimg(env, "sign", "--key", key, "--key-password-env", "ATTEST_PW", "--identity", repo, "--attest", src)
    assert proc.returncode == 0, proc.stderr
    assert len(_layout_manifest(layout, _sig_tag(digest))["layers"]) == 1
    assert len(_layout_manifest(layout, _sig_tag(digest, ".att"))["layers"]) == 2

    # A payload tampered with in the layout is refused (and so is the layout's blob check).
    sig = _layout_manifest(layout, _sig_tag(digest))
    payload_blob = layout / "blobs" / "sha256" / sig["layers"][0]["digest"].split(":", 1)[1]
    good = payload_blob.read_bytes()
    payload_blob.write_bytes(good.replace(b"sha256:", b"sha256:0", 1)[:len(good)])
    assert _rustimg(env, "verify-image", "--key", pub, src).returncode != 0
    # A missing blob is damage, not "unsigned": verify-image says so, and a
    # push refuses the layout before it sends anything.
    payload_blob.unlink()
    proc = _rustimg(env, "verify-image", "--key", pub, src)
    assert proc.returncode == 2 and "damaged" in proc.stderr and _sig_tag(digest) in proc.stderr, proc
    proc = _rustimg(env, "push", src, f"{repo}-damaged:v1")
    assert proc.returncode == 2 and "damaged" in proc.stderr, proc
    proc = _rustimg(env, "pull", f"{repo}-damaged:v1", f"oci:{tmp / 'nothing'}")
    assert proc.returncode != 0 and not (tmp / "nothing").exists(), proc
    payload_blob.write_bytes(good)

    # Pushed with the image: cosign finds the signature and both attestations in the registry.
    proc = _rustimg(env, "push", src, f"{repo}:v1", "--json")
    assert proc.returncode == 0, proc.stderr
    pushed = json.loads(proc.stdout)["pushed"][0]
    assert sorted(s.split("@")[0] for s in pushed["signatures"]) == [
        f"{repo}:{_sig_tag(digest, '.att')}", f"{repo}:{_sig_tag(digest)}"]
    proc = _cosign_verify(env, pub, f"{repo}@{digest}")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)[0]["critical"]["identity"]["docker-reference"] == repo
    assert _cosign_verify(env, other_pub, f"{repo}@{digest}").returncode != 0
    for kind, predicate in (("spdxjson", "https://spdx.dev/Document"),
                            ("slsaprovenance1", "https://slsa.dev/provenance/v1")):
        proc = _cosign_verify_attestation(env, pub, f"{repo}@{digest}", kind)
        assert proc.returncode == 0, proc.stderr
        assert any(s["predicateType"] == predicate for s in _statements(proc.stdout))
