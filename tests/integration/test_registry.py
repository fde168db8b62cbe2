"""Registry push/pull against the real docker-registry (issue 5).

Driven through tests/registry/push_tool.cpp (rustimg_registry_tool) until the
CLI grows push/pull. Oracles: skopeo inspect, the registries' own storage, the
fault proxy's request log and the token server's log.
"""
import hashlib
import json
import os
import stat
import subprocess
import urllib.request
from pathlib import Path

import pytest

from registries import (LOG_FILES, OUTPUTS, PULL_PASSWORD, PULL_USER, SECRETS, TEST_PASSWORD, TEST_USER,
                        WRONG_PASSWORD, make_layout, record_output)


def skopeo_inspect(reg, ref, *extra, raw=False):
    cmd = ["skopeo", "inspect", *reg.skopeo_flags(), *extra]
    if raw:
        cmd.append("--raw")
    cmd.append(f"docker://{ref}")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    record_output(proc.stdout, proc.stderr)
    assert proc.returncode == 0, f"skopeo inspect {ref} failed:\n{proc.stderr}"
    return json.loads(proc.stdout)


def http_get(url, accept=None, method="GET"):
    req = urllib.request.Request(url, method=method)
    if accept:
        req.add_header("Accept", accept)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


ACCEPT = ", ".join([
    "application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json"])


def assert_registry_consistent(base_url):
    """Every tag of every repository names only blobs the registry holds."""
    status, body = http_get(f"{base_url}/v2/_catalog")
    assert status == 200
    checked = 0
    for repo in json.loads(body)["repositories"]:
        status, body = http_get(f"{base_url}/v2/{repo}/tags/list")
        for tag in json.loads(body).get("tags") or []:
            pending = [tag]
            while pending:
                ref = pending.pop()
                status, mbody = http_get(f"{base_url}/v2/{repo}/manifests/{ref}", accept=ACCEPT)
                assert status == 200, f"{repo}:{ref} -> {status}"
                doc = json.loads(mbody)
                for child in doc.get("manifests", []):
                    pending.append(child["digest"])
                for blob in ([doc["config"]] if "config" in doc else []) + doc.get("layers", []):
                    st, _ = http_get(f"{base_url}/v2/{repo}/blobs/{blob['digest']}", method="HEAD")
                    assert st == 200, f"{repo}:{tag} names missing blob {blob['digest']}"
                    checked += 1
    return checked


def blob_files(layout: Path):
    return {p.name: p.read_bytes() for p in (layout / "blobs" / "sha256").iterdir()}


# --- (a) plain HTTP ---------------------------------------------------------------------

def test_push_plain_http_and_skopeo_inspect(registry_plain, registry_tool, tmp_path):
    root = make_layout(tmp_path / "img", seed=1)
    ref = f"{registry_plain.host}/test/plain:v1"
    res = registry_tool("push", tmp_path / "img", ref)
    assert res.code == 0, res
    assert res.last_line == f"{ref}@{root['digest']}"
    assert res.summary["blobs_uploaded"] == 4  # config + 3 layers
    blob_bytes = sum(len(b) for d, b in blob_files(tmp_path / "img").items() if "sha256:" + d != root["digest"])
    assert res.summary["bytes_uploaded"] == blob_bytes
    assert res.summary["progress_done_bytes"] == blob_bytes  # progress reported every byte
    info = skopeo_inspect(registry_plain, ref)
    assert info["Digest"] == root["digest"]
    assert len(info["Layers"]) == 3
    assert info["Architecture"] == "amd64"


def test_pull_round_trip(registry_plain, registry_tool, tmp_path):
    make_layout(tmp_path / "img", seed=2)
    ref = f"{registry_plain.host}/test/roundtrip:v1"
    assert registry_tool("push", tmp_path / "img", ref).code == 0
    res = registry_tool("pull", ref, tmp_path / "out")
    assert res.code == 0, res
    assert blob_files(tmp_path / "out") == blob_files(tmp_path / "img")
    assert res.summary["bytes_downloaded"] == res.summary["progress_done_bytes"] > 0
    # skopeo reads what we wrote as a valid OCI layout.
    proc = subprocess.run(["skopeo", "inspect", f"oci:{tmp_path / 'out'}:v1"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    # A single-platform image is checked against the requested platform.
    assert registry_tool("pull", ref, tmp_path / "amd", "--platform", "linux/amd64").code == 0
    res = registry_tool("pull", ref, tmp_path / "arm", "--platform", "linux/arm64")
    assert res.code == 1
    assert "single-platform image for linux/amd64, not linux/arm64" in res.err, res


def test_chunked_upload(registry_plain, registry_tool, tmp_path, fault_proxy):
    proxy = fault_proxy(rate=0.0)
    make_layout(tmp_path / "img", seed=3, layer_size=30_000)
    ref = f"{proxy.host}/test/chunked:v1"
    res = registry_tool("push", tmp_path / "img", ref, "--chunk-size", "8192")
    assert res.code == 0, res
    patches = [r for r in proxy.requests() if r["method"] == "PATCH"]
    assert len(patches) >= 3 * 3, proxy.requests()  # every layer in several chunks
    skopeo_inspect(proxy.upstream, f"{proxy.upstream.host}/test/chunked:v1")


def test_cross_repository_mount(registry_plain, registry_tool, tmp_path):
    root = make_layout(tmp_path / "img", seed=4)
    base = f"{registry_plain.host}/test/base:v1"
    assert registry_tool("push", tmp_path / "img", base).code == 0
    res = registry_tool("push", tmp_path / "img", f"{registry_plain.host}/test/app:v1", "--mount-from", "test/base")
    assert res.code == 0, res
    assert res.summary["blobs_mounted"] == 4 and res.summary["blobs_uploaded"] == 0, res
    assert skopeo_inspect(registry_plain, f"{registry_plain.host}/test/app:v1")["Digest"] == root["digest"]


def test_multi_platform_index(registry_plain, registry_tool, tmp_path):
    root = make_layout(tmp_path / "img", seed=5, layers=2, platforms=["linux/amd64", "linux/arm64", "linux/arm/v7"])
    ref = f"{registry_plain.host}/test/multi:v1"
    res = registry_tool("push", tmp_path / "img", ref)
    assert res.code == 0, res
    assert res.summary["manifests_pushed"] == 4  # three children by digest, then the tag
    raw = skopeo_inspect(registry_plain, ref, raw=True)
    assert raw["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert len(raw["manifests"]) == 3
    arm = skopeo_inspect(registry_plain, ref, "--override-arch", "arm64")
    assert arm["Architecture"] == "arm64"
    # Pull one platform: only that image's blobs arrive.
    res = registry_tool("pull", ref, tmp_path / "arm", "--platform", "linux/arm64")
    assert res.code == 0, res
    assert res.summary["digest"] == root["digest"]
    assert res.summary["manifests"] == 1
    pulled = blob_files(tmp_path / "arm")
    assert len(pulled) == 1 + 1 + 2  # the arm64 manifest (the layout's root), config, 2 layers
    for name, data in pulled.items():
        assert hashlib.sha256(data).hexdigest() == name
    # A platform the index does not offer is a clear error.
    res = registry_tool("pull", ref, tmp_path / "none", "--platform", "linux/s390x")
    assert res.code == 1
    assert "linux/s390x" in res.err and "linux/arm64" in res.err, res


# --- (b) Basic auth over TLS --------------------------------------------------------------

def test_push_basic_auth_tls(registry_tls, registry_tool, tmp_path):
    root = make_layout(tmp_path / "img", seed=10)
    ref = f"{registry_tls.host}/test/tls:v1"
    res = registry_tool("push", tmp_path / "img", ref, *registry_tls.tool_flags())
    assert res.code == 0, res
    info = skopeo_inspect(registry_tls, ref)
    assert info["Digest"] == root["digest"]
    res = registry_tool("pull", ref, tmp_path / "out", *registry_tls.tool_flags())
    assert res.code == 0, res
    assert blob_files(tmp_path / "out") == blob_files(tmp_path / "img")


def test_credentials_from_docker_config(registry_tls, registry_tool, tmp_path):
    make_layout(tmp_path / "img", seed=11)
    cfg = tmp_path / "docker"
    cfg.mkdir()
    import base64
    auth = base64.b64encode(f"{TEST_USER}:{TEST_PASSWORD}".encode()).decode()
    (cfg / "config.json").write_text(json.dumps({"auths": {f"https://{registry_tls.host}/v1/": {"auth": auth}}}))
    res = registry_tool("push", tmp_path / "img", f"{registry_tls.host}/test/dockercfg:v1",
                        "--ca-file", registry_tls.ca_file, env={"DOCKER_CONFIG": str(cfg)})
    assert res.code == 0, res


def test_credentials_from_helper(registry_tls, registry_tool, tmp_path):
    """credHelpers wins over auths; the helper gets the server URL on stdin."""
    make_layout(tmp_path / "img", seed=12)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    seen = tmp_path / "helper-stdin"
    helper = bindir / "docker-credential-rustimgtest"
    helper.write_text("#!/bin/sh\n"
                      f"[ \"$1\" = get ] || exit 3\ncat > {seen}\n"
                      f"printf '{{\"ServerURL\":\"%s\",\"Username\":\"{TEST_USER}\",\"Secret\":\"{TEST_PASSWORD}\"}}' "
                      f"\"$(cat {seen})\"\n")
    helper.chmod(helper.stat().st_mode | stat.S_IEXEC)
    cfg = tmp_path / "docker"
    cfg.mkdir()
    import base64
    wrong = base64.b64encode(f"{TEST_USER}:{WRONG_PASSWORD}".encode()).decode()
    (cfg / "config.json").write_text(json.dumps({
        "auths": {registry_tls.host: {"auth": wrong}},
        "credHelpers": {registry_tls.host: "rustimgtest"}}))
    env = {"DOCKER_CONFIG": str(cfg), "PATH": f"{bindir}:{os.environ['PATH']}"}
    res = registry_tool("push", tmp_path / "img", f"{registry_tls.host}/test/helper:v1",
                        "--ca-file", registry_tls.ca_file, env=env)
    assert res.code == 0, res
    assert seen.read_text() == registry_tls.host
    # credsStore: the same protocol for every registry without a credHelpers entry.
    seen.unlink()
    (cfg / "config.json").write_text(json.dumps({"auths": {registry_tls.host: {}}, "credsStore": "rustimgtest"}))
    res = registry_tool("push", tmp_path / "img", f"{registry_tls.host}/test/helper:v3",
                        "--ca-file", registry_tls.ca_file, env=env)
    assert res.code == 0, res
    assert seen.read_text() == registry_tls.host
    # A helper that is not installed is named in the error.
    (cfg / "config.json").write_text(json.dumps({"credHelpers": {registry_tls.host: "missinghelper"}}))
    res = registry_tool("push", tmp_path / "img", f"{registry_tls.host}/test/helper:v2",
                        "--ca-file", registry_tls.ca_file, env=env)
    assert res.code == 1
    assert "docker-credential-missinghelper" in res.err and "PATH" in res.err, res


@pytest.mark.parametrize("where", ["REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR"])
def test_credentials_from_podman_auth_json(where, registry_tls, registry_tool, tmp_path):
    import base64
    make_layout(tmp_path / "img", seed=15, layers=1)
    auth = base64.b64encode(f"{TEST_USER}:{TEST_PASSWORD}".encode()).decode()
    if where == "REGISTRY_AUTH_FILE":
        path = tmp_path / "auth.json"
        env = {"REGISTRY_AUTH_FILE": str(path)}
    else:
        path = tmp_path / "run" / "containers" / "auth.json"
        env = {"XDG_RUNTIME_DIR": str(tmp_path / "run")}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"auths": {registry_tls.host: {"auth": auth}}}))
    res = registry_tool("push", tmp_path / "img", f"{registry_tls.host}/test/podmanauth:v1",
                        "--ca-file", registry_tls.ca_file, env=env)
    assert res.code == 0, res
    # Without the file the registry refuses: the credentials did come from it.
    path.unlink()
    res = registry_tool("push", tmp_path / "img", f"{registry_tls.host}/test/podmanauth:v2",
                        "--ca-file", registry_tls.ca_file, env=env)
    assert res.code == 1 and "error [auth]" in res.err and "no credentials" in res.err, res


def test_wrong_password_names_registry_and_user(registry_tls, registry_tool, tmp_path):
    make_layout(tmp_path / "img", seed=13)
    res = registry_tool("push", tmp_path / "img", f"{registry_tls.host}/test/wrong:v1",
                        "--ca-file", registry_tls.ca_file, "--creds", f"{TEST_USER}:{WRONG_PASSWORD}", "--verbose")
    assert res.code == 1
    assert "error [auth]" in res.err, res
    assert registry_tls.host in res.err and TEST_USER in res.err, res
    assert WRONG_PASSWORD not in res.err + res.out


def test_bad_certificate_is_explained(registry_tls, registry_tool, tmp_path):
    make_layout(tmp_path / "img", seed=14)
    res = registry_tool("push", tmp_path / "img", f"{registry_tls.host}/test/cert:v1",
                        "--creds", f"{TEST_USER}:{TEST_PASSWORD}")
    assert res.code == 1
    assert "certificate" in res.err and "could not be verified" in res.err, res
    assert "CA" in res.err, res


# --- (c) token auth -----------------------------------------------------------------------

def token_log(reg):
    return [json.loads(l) for l in Path(reg.extra["token_log"]).read_text().splitlines() if l.strip()]


def test_push_token_auth(registry_token, registry_tool, tmp_path):
    root = make_layout(tmp_path / "img", seed=20)
    ref = f"{registry_token.host}/test/token:v1"
    res = registry_tool("push", tmp_path / "img", ref, *registry_token.tool_flags())
    assert res.code == 0, res
    info = skopeo_inspect(registry_token, ref)
    assert info["Digest"] == root["digest"]
    entries = token_log(registry_token)
    assert any(e.get("user") == TEST_USER and "repository:test/token:pull,push" in e.get("scopes", [])
               for e in entries), entries


def test_token_refresh_and_scope_widening(registry_token, registry_tool, tmp_path):
    """A mount needs pull on a second repository: the client asks for a wider
    token with its refresh token (POST grant_type=refresh_token)."""
    make_layout(tmp_path / "img", seed=21)
    base = f"{registry_token.host}/test/tbase:v1"
    assert registry_tool("push", tmp_path / "img", base, *registry_token.tool_flags()).code == 0
    before = len(token_log(registry_token))
    res = registry_tool("push", tmp_path / "img", f"{registry_token.host}/test/tapp:v1",
                        *registry_token.tool_flags(), "--mount-from", "test/tbase")
    assert res.code == 0, res
    assert res.summary["blobs_mounted"] == 4, res
    new = token_log(registry_token)[before:]
    assert any(e["grant"] == "refresh_token" and "repository:test/tbase:pull" in e["scopes"] for e in new), new


def test_identity_token_from_docker_config(registry_token, registry_tool, tmp_path):
    """An `identitytoken` (OAuth2 refresh token, as docker login stores it) is
    exchanged with POST grant_type=refresh_token; no password is involved."""
    import urllib.parse
    form = urllib.parse.urlencode({"grant_type": "password", "username": TEST_USER, "password": TEST_PASSWORD,
                                   "service": "test-registry", "access_type": "offline",
                                   "client_id": "test"}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{registry_token.extra['token_port']}/token", data=form)
    with urllib.request.urlopen(req, timeout=30) as resp:
        refresh = json.loads(resp.read())["refresh_token"]
    cfg = tmp_path / "docker"
    cfg.mkdir()
    (cfg / "config.json").write_text(json.dumps({"auths": {registry_token.host: {"identitytoken": refresh}}}))
    make_layout(tmp_path / "img", seed=24, layers=1)
    before = len(token_log(registry_token))
    res = registry_tool("push", tmp_path / "img", f"{registry_token.host}/test/idtoken:v1",
                        env={"DOCKER_CONFIG": str(cfg)})
    assert res.code == 0, res
    assert refresh not in res.out + res.err
    new = token_log(registry_token)[before:]
    assert new and all(e["grant"] == "refresh_token" and e["user"] == TEST_USER for e in new), new


def test_token_insufficient_scope_is_auth_error(registry_token, registry_tool, tmp_path):
    make_layout(tmp_path / "img", seed=22)
    res = registry_tool("push", tmp_path / "img", f"{registry_token.host}/test/denied:v1",
                        "--creds", f"{PULL_USER}:{PULL_PASSWORD}")
    assert res.code == 1
    assert "error [auth]" in res.err and PULL_USER in res.err and registry_token.host in res.err, res
    import re
    assert re.search(r"was not granted repository:test/denied:(pull,push|push,pull)", res.err), res
    assert PULL_PASSWORD not in res.err


def test_token_wrong_password(registry_token, registry_tool, tmp_path):
    make_layout(tmp_path / "img", seed=23)
    res = registry_tool("push", tmp_path / "img", f"{registry_token.host}/test/wrong:v1",
                        "--creds", f"{TEST_USER}:{WRONG_PASSWORD}", "--verbose")
    assert res.code == 1
    assert "error [auth]" in res.err and TEST_USER in res.err and registry_token.host in res.err, res
    assert WRONG_PASSWORD not in res.err + res.out


# --- connection failures --------------------------------------------------------------------

def test_unknown_host(registry_tool, tmp_path):
    make_layout(tmp_path / "img", seed=30, layers=1)
    res = registry_tool("push", tmp_path / "img", "no-such-host.invalid:5000/test/x:v1")
    assert res.code == 1
    assert "cannot resolve host" in res.err and "no-such-host.invalid" in res.err and "Check" in res.err, res


def test_refused_connection(registry_tool, tmp_path):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    make_layout(tmp_path / "img", seed=31, layers=1)
    res = registry_tool("push", tmp_path / "img", f"127.0.0.1:{port}/test/x:v1")
    assert res.code == 1
    assert "refused" in res.err and f"127.0.0.1:{port}" in res.err and "running" in res.err, res


# --- the fault proxy ------------------------------------------------------------------------

def test_index_children_pushed_by_digest_before_tag(registry_tool, tmp_path, fault_proxy):
    proxy = fault_proxy(rate=0.0)
    root = make_layout(tmp_path / "img", seed=42, layers=1, platforms=["linux/amd64", "linux/arm64"])
    res = registry_tool("push", tmp_path / "img", f"{proxy.host}/test/order:v1")
    assert res.code == 0, res
    first_push = proxy.requests()
    first_manifest = next(i for i, r in enumerate(first_push) if r["method"] == "PUT" and "/manifests/" in r["path"])
    puts = [r["path"] for r in first_push if r["method"] == "PUT" and "/manifests/" in r["path"]]
    assert len(puts) == 3, puts
    assert puts[-1] == "/v2/test/order/manifests/v1"
    children = json.loads((tmp_path / "img" / "blobs" / "sha256" / root["digest"][7:]).read_bytes())["manifests"]
    assert sorted(puts[:2]) == sorted(f"/v2/test/order/manifests/{c['digest']}" for c in children)
    # Pushing the index again: the tag names it already, nothing is written.
    proxy.clear()
    res = registry_tool("push", tmp_path / "img", f"{proxy.host}/test/order:v1")
    assert res.code == 0, res
    assert res.summary["manifests_pushed"] == 0 and res.summary["blobs_existing"] == 4, res
    assert [r for r in proxy.requests() if r["method"] != "HEAD" and r["path"] != "/v2/"] == [], proxy.requests()
    # With a new tag as well: children exist (HEAD by digest), only the tags are written.
    proxy.clear()
    res = registry_tool("push", tmp_path / "img", f"{proxy.host}/test/order:v1", "--tag", "v2")
    assert res.code == 0, res
    writes = [(r["method"], r["path"]) for r in proxy.requests() if r["method"] in ("PUT", "POST", "PATCH")]
    assert writes == [("PUT", "/v2/test/order/manifests/v1"), ("PUT", "/v2/test/order/manifests/v2")], writes
    assert not [r for r in proxy.requests() if "/blobs/" in r["path"]], proxy.requests()
    # Every blob upload finished before the first manifest naming it could be pushed.
    assert any(r["method"] == "PUT" and "/blobs/uploads/" in r["path"] for r in first_push[:first_manifest])


@pytest.mark.parametrize("variable", ["http_proxy", "HTTP_PROXY"])
def test_http_proxy_environment_is_honoured(variable, registry_tool, tmp_path, fault_proxy):
    """http_proxy / HTTP_PROXY send requests through a proxy; NO_PROXY bypasses it."""
    proxy = fault_proxy(rate=0.0)
    make_layout(tmp_path / "img", seed=41, layers=1)
    ref = f"{proxy.upstream.host}/test/viaproxy:v1"  # the registry itself, not the proxy
    res = registry_tool("push", tmp_path / "img", ref, env={variable: f"http://{proxy.host}"})
    assert res.code == 0, res
    reqs = proxy.requests()
    assert "/v2/test/viaproxy/manifests/v1" in [r["path"] for r in reqs], reqs
    proxy.clear()
    res = registry_tool("push", tmp_path / "img", ref,
                        env={variable: f"http://{proxy.host}", "NO_PROXY": "127.0.0.1"})
    assert res.code == 0, res
    assert proxy.requests() == []


def test_repush_uploads_no_blob(registry_tool, tmp_path, fault_proxy):
    proxy = fault_proxy(rate=0.0)
    make_layout(tmp_path / "img", seed=40)
    ref = f"{proxy.host}/test/again:v1"
    assert registry_tool("push", tmp_path / "img", ref).code == 0
    proxy.clear()
    res = registry_tool("push", tmp_path / "img", ref)
    assert res.code == 0, res
    assert res.summary["blobs_existing"] == 4 and res.summary["bytes_uploaded"] == 0, res
    assert res.summary["manifests_pushed"] == 0, res
    # The tag already names the digest: one HEAD of the tag, nothing else.
    reqs = [(r["method"], r["path"]) for r in proxy.requests()]
    assert [r for r in reqs if r[1] != "/v2/"] == [("HEAD", "/v2/test/again/manifests/v1")], reqs
    # A new tag for the same image is checked blob by blob and pushed.
    proxy.clear()
    res = registry_tool("push", tmp_path / "img", ref, "--tag", "v2")
    assert res.code == 0, res
    assert res.summary["blobs_existing"] == 4 and res.summary["bytes_uploaded"] == 0, res
    reqs = [(r["method"], r["path"]) for r in proxy.requests()]
    blob_reqs = [r for r in reqs if "/blobs/" in r[1]]
    assert blob_reqs and all(m == "HEAD" for m, _ in blob_reqs), reqs
    assert [r for r in reqs if r[0] in ("PUT", "POST", "PATCH")] == [
        ("PUT", "/v2/test/again/manifests/v1"), ("PUT", "/v2/test/again/manifests/v2")], reqs


@pytest.mark.parametrize("seed", [7, 1234, 98765])
def test_push_survives_faults(registry_tool, tmp_path, fault_proxy, seed):
    proxy = fault_proxy(seed=seed, rate=0.3)
    root = make_layout(tmp_path / "img", seed=50 + seed, layers=3, layer_size=200_000)
    ref = f"{proxy.host}/test/faults{seed}:v1"
    res = registry_tool("push", tmp_path / "img", ref, "--retries", "10", "--retry-delay-ms", "20", "--verbose")
    assert res.code == 0, res
    reqs = proxy.requests()
    faults = [r for r in reqs if r["fault"]]
    assert len(faults) >= 0.2 * len(reqs), (len(faults), len(reqs))
    assert "retrying" in res.err
    if any(r["fault"] == "429" for r in reqs):
        assert "in 1000 ms" in res.err, res.err  # Retry-After: 1 honoured
    up = proxy.upstream
    info = skopeo_inspect(up, f"{up.host}/test/faults{seed}:v1")
    assert info["Digest"] == root["digest"]
    assert assert_registry_consistent(up.url) > 0
    # Pull back through the faults too: every digest verified.
    res = registry_tool("pull", ref, tmp_path / "out", "--retries", "10", "--retry-delay-ms", "20")
    assert res.code == 0, res
    assert blob_files(tmp_path / "out") == blob_files(tmp_path / "img")


def test_manifest_never_names_missing_blob_when_push_fails(registry_tool, tmp_path, fault_proxy):
    """With too few retries the push fails, but the registry holds no broken manifest."""
    proxy = fault_proxy(seed=3, rate=0.6, max_consecutive=10)
    make_layout(tmp_path / "img", seed=60, layers=3)
    res = registry_tool("push", tmp_path / "img", f"{proxy.host}/test/broken:v1", "--retries", "1")
    assert res.code == 1
    assert "gave up after 1 attempt" in res.err, res
    assert_registry_consistent(proxy.upstream.url)


def test_pull_follows_redirect_without_forwarding_credentials(registry_token, registry_tool, tmp_path,
                                                             fault_proxy):
    """Blob GETs redirected to another host (like pre-signed object-store URLs)
    are followed, digests verified, and the Authorization header stays home."""
    proxy = fault_proxy(upstream=registry_token, redirect_blobs=True)
    make_layout(tmp_path / "img", seed=70)
    ref = f"{proxy.host}/test/redirect:v1"
    assert registry_tool("push", tmp_path / "img", ref, *registry_token.tool_flags()).code == 0
    proxy.clear()
    res = registry_tool("pull", ref, tmp_path / "out", *registry_token.tool_flags())
    assert res.code == 0, res
    assert blob_files(tmp_path / "out") == blob_files(tmp_path / "img")
    reqs = proxy.requests()
    redirected = [r for r in reqs if r["path"].startswith("/_redirected/")]
    originals = [r for r in reqs if r["status"] == 307]
    assert len(redirected) == 4 and len(originals) == 4, reqs
    assert all(r["auth"] for r in originals), reqs
    assert not any(r["auth"] for r in redirected), reqs


def test_named_insecure_registry_skips_tls_verification(registry_tls, registry_tool, tmp_path):
    make_layout(tmp_path / "img", seed=71, layers=1)
    res = registry_tool("push", tmp_path / "img", f"{registry_tls.host}/test/insecure:v1",
                        "--insecure", registry_tls.host, "--creds", f"{TEST_USER}:{TEST_PASSWORD}")
    assert res.code == 0, res


def test_progress_callback_cancels(registry_plain, registry_tool, tmp_path):
    make_layout(tmp_path / "img", seed=72, layers=2, layer_size=300_000)
    res = registry_tool("push", tmp_path / "img", f"{registry_plain.host}/test/cancel:v1",
                        "--cancel-after-bytes", "1000")
    assert res.code == 1
    assert "error [cancelled]" in res.err, res
    status, _ = http_get(f"{registry_plain.url}/v2/test/cancel/manifests/v1", accept=ACCEPT)
    assert status == 404


# --- podman: pull and run what was pushed ------------------------------------------------------

STATIC_BINARY = Path("/sbin/ldconfig")  # static-pie on Debian: runs in an empty image


@pytest.fixture
def podman_cli(tmp_path):
    """Runs podman with its own storage (vfs) and the flags this machine needs (specs 4.3)."""
    import shutil
    import tempfile
    if shutil.which("podman") is None or shutil.which("runc") is None:
        pytest.fail("podman and runc are required: run scripts/setup.sh")
    runroot = tempfile.mkdtemp(prefix="ri-pod-", dir="/tmp")  # podman caps the runroot at 50 characters

    def run(*args):
        cmd = ["podman", "--root", str(tmp_path / "podman-root"), "--runroot", runroot,
               "--storage-driver", "vfs", "--runtime", "runc", "--cgroup-manager", "cgroupfs", *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        record_output(proc.stdout, proc.stderr)
        return proc

    yield run
    shutil.rmtree(runroot, ignore_errors=True)


@pytest.mark.parametrize("which", ["registry_plain", "registry_tls", "registry_token"])
def test_podman_pulls_and_runs_pushed_image(which, request, registry_tool, tmp_path, podman_cli):
    reg = request.getfixturevalue(which)
    make_layout(tmp_path / "img", seed=80, layers=1,
                files={"ldconfig": (STATIC_BINARY.read_bytes(), 0o755)}, entrypoint=["/ldconfig", "--version"])
    ref = f"{reg.host}/test/runnable:v1"
    res = registry_tool("push", tmp_path / "img", ref, *reg.tool_flags())
    assert res.code == 0, res
    proc = podman_cli("pull", *reg.skopeo_flags(), ref)
    assert proc.returncode == 0, proc.stderr
    proc = podman_cli("run", "--rm", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", ref)
    assert proc.returncode == 0, proc.stderr
    assert "ldconfig" in proc.stdout


def test_image_on_pulled_base_mounts_base_layers_and_runs(registry_plain, registry_tool, tmp_path, podman_cli):
    """Base pulled from the registry, an app layer appended (here in Python; the
    image module does this for real builds), pushed to another repository: the
    base layers are mounted, not uploaded, and podman runs the result."""
    make_layout(tmp_path / "base", seed=81, layers=2,
                files={"ldconfig": (STATIC_BINARY.read_bytes(), 0o755)}, entrypoint=["/ldconfig", "--version"])
    base_ref = f"{registry_plain.host}/test/runbase:v1"
    assert registry_tool("push", tmp_path / "base", base_ref).code == 0
    pulled = tmp_path / "pulled"
    res = registry_tool("pull", base_ref, pulled)
    assert res.code == 0, res
    # Append an app layer to the pulled base.
    import gzip, io, tarfile
    index = json.loads((pulled / "index.json").read_text())
    blobs = pulled / "blobs" / "sha256"
    manifest = json.loads((blobs / index["manifests"][0]["digest"][7:]).read_bytes())
    config = json.loads((blobs / manifest["config"]["digest"][7:]).read_bytes())
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        data = b"app payload\n"
        info = tarfile.TarInfo("app/data.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    layer = gzip.compress(raw.getvalue(), mtime=0)

    def put(data: bytes) -> str:
        d = hashlib.sha256(data).hexdigest()
        (blobs / d).write_bytes(data)
        return "sha256:" + d

    config["rootfs"]["diff_ids"].append("sha256:" + hashlib.sha256(raw.getvalue()).hexdigest())
    cbytes = json.dumps(config).encode()
    manifest["config"] = {"mediaType": manifest["config"]["mediaType"], "digest": put(cbytes), "size": len(cbytes)}
    manifest["layers"].append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": put(layer),
                               "size": len(layer)})
    mbytes = json.dumps(manifest).encode()
    index["manifests"] = [{"mediaType": manifest["mediaType"], "digest": put(mbytes), "size": len(mbytes)}]
    (pulled / "index.json").write_text(json.dumps(index))

    app_ref = f"{registry_plain.host}/test/runapp:v1"
    res = registry_tool("push", pulled, app_ref, "--mount-from", "test/runbase")
    assert res.code == 0, res
    assert res.summary["blobs_mounted"] == 3, res   # the base's three layers
    assert res.summary["blobs_uploaded"] == 2, res  # the new config and the app layer
    proc = podman_cli("run", "--rm", "--tls-verify=false", "--ulimit", "nofile=1024:1024",
                  "--ulimit", "nproc=1024:1024", app_ref)
    assert proc.returncode == 0, proc.stderr
    assert "ldconfig" in proc.stdout


# --- secrets ---------------------------------------------------------------------------------

def test_no_secret_in_any_output_or_log(registry_tls, registry_token, registry_tool, tmp_path):
    """Runs last in this module: searches every captured tool output and every
    registry, token server and proxy log of the session for the passwords.
    It first makes verbose pushes with right and wrong passwords itself, so it
    has something to search even when run alone."""
    make_layout(tmp_path / "img", seed=99, layers=1)
    for reg in (registry_tls, registry_token):
        for password in (TEST_PASSWORD, WRONG_PASSWORD):
            registry_tool("push", tmp_path / "img", f"{reg.host}/test/secrets:v1", "--verbose",
                          *(["--ca-file", reg.ca_file] if reg.ca_file else []),
                          "--creds", f"{TEST_USER}:{password}")
    assert OUTPUTS, "no outputs were recorded"
    texts = list(OUTPUTS)
    for f in LOG_FILES:
        if Path(f).exists():
            texts.append(Path(f).read_text(errors="replace"))
    # The search covers what matters: auth errors (they name the user) and request logs.
    assert any(f'user "{TEST_USER}"' in t for t in texts)
    assert any("registry: PUT " in t for t in texts)
    for secret in SECRETS:
        for t in texts:
            assert secret not in t, f"secret leaked into output/log: ...{t[max(0, t.find(secret) - 200):t.find(secret)]}"
