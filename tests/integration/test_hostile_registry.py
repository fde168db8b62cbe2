"""rustimg against a malicious registry (issue 12): credentials stay with their
origin, hostile replies are bounded, stalls end, retries are honest, and a pull
trusts the documents it verifies rather than the transport's headers.

The hostile peer is registry_support/hostile.py on loopback; it doubles as the
HTTP proxy through which "foreign hosts" (evil.invalid) are reached, so what a
client would have sent there is recorded and nothing leaves the machine."""
import hashlib
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import rustimg_bin
from registries import make_layout, record_output
from registry_support.hostile import OCI_INDEX, OCI_MANIFEST, HostileRegistry, docker_config

USER = "hostile-user"
PASSWORD = "Hostile-Pa55word-never-leaves"
FOREIGN = "evil.invalid"


def run_cli(*args, env=None, timeout=300):
    full_env = {k: v for k, v in os.environ.items()
                if k.lower() not in ("docker_config", "registry_auth_file", "http_proxy", "https_proxy",
                                     "no_proxy", "all_proxy")}
    full_env["HOME"] = "/nonexistent-rustimg-home"
    full_env.update(env or {})
    proc = subprocess.run([str(rustimg_bin()), *map(str, args)], capture_output=True, text=True, env=full_env,
                          timeout=timeout, stdin=subprocess.DEVNULL)
    record_output(proc.stdout, proc.stderr)
    return proc


def proxy_env(reg):
    """Foreign hosts are reached through the hostile server acting as a proxy."""
    return {"http_proxy": reg.url, "HTTP_PROXY": reg.url, "no_proxy": "127.0.0.1,localhost",
            "NO_PROXY": "127.0.0.1,localhost"}


def basic(user=USER, password=PASSWORD):
    import base64
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def assert_no_secret(requests):
    for r in requests:
        assert "authorization" not in r.headers, f"{r.method} {r.host}{r.path} carried credentials"
        assert PASSWORD.encode() not in r.body


# --- 1. upload Locations on another origin get no credentials ----------------------------

@pytest.mark.parametrize("where", ["foreign-host", "other-port"])
@pytest.mark.parametrize("answer", ["post", "patch"])
def test_upload_location_on_another_origin_gets_no_credentials(tmp_path, where, answer):
    layout = tmp_path / "layout"
    make_layout(layout, seed=12, layers=1, layer_size=3000)
    with HostileRegistry(basic_auth=(USER, PASSWORD)) as reg, HostileRegistry() as other:
        elsewhere = f"http://{FOREIGN}" if where == "foreign-host" else other.url
        outside = FOREIGN if where == "foreign-host" else "registry"
        recorder = reg if where == "foreign-host" else other

        def steer(h, req):
            if not reg._authorized(req):
                return reg.default(h, req)
            if answer == "post" or req.method == "PATCH":
                h.reply(202, headers={"Location": f"{elsewhere}/upload/{len(reg.requests)}"})
            else:
                reg.default(h, req)

        other.route("*", r"/upload/.*", lambda h, req: h.reply(202 if req.method == "PATCH" else 201,
                                                                headers={"Location": req.path}))
        reg.route("POST", r"/v2/.+/blobs/uploads/", steer)
        reg.route("PATCH", r"/v2/.+/blobs/uploads/.*", steer)
        env = {**docker_config(tmp_path / "docker", reg.host, USER, PASSWORD), **proxy_env(reg)}
        extra = ["--chunk-size", "1000"] if answer == "patch" else []
        proc = run_cli("push", *extra, f"oci:{layout}:latest", f"{reg.host}/app:v1", env=env)
        assert proc.returncode == 0, proc.stderr
        sent = recorder.to(outside)
        assert any(r.method in ("PUT", "PATCH") for r in sent), "the steered upload never happened"
        assert_no_secret(sent)
        # the registry itself did get the credentials: the test exercised an authenticated push
        assert any(r.headers.get("authorization") == basic() for r in reg.to("registry"))
    assert PASSWORD not in proc.stderr + proc.stdout


# --- 2. a Bearer realm over plain HTTP on another host is refused ------------------------

def test_plain_http_token_realm_on_another_host_is_refused(tmp_path, rustimg):
    layout = tmp_path / "layout"
    make_layout(layout, seed=13, layers=1, layer_size=1000)
    with HostileRegistry() as reg:
        def challenge(h, req):
            h.reply(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"token"}]}',
                    {"WWW-Authenticate": f'Bearer realm="http://{FOREIGN}/token",service="hostile"'},
                    "application/json")

        reg.route("*", r"/v2/.*", challenge)
        env = {**docker_config(tmp_path / "docker", reg.host, USER, PASSWORD), **proxy_env(reg)}
        proc = run_cli("push", f"oci:{layout}:latest", f"{reg.host}/app:v1", env=env)
        assert proc.returncode == 1, proc.stderr
        assert "not an https URL" in proc.stderr and FOREIGN in proc.stderr
        assert reg.to(FOREIGN) == [], "credentials went to the plain-HTTP realm"
    assert PASSWORD not in proc.stderr


# --- 5. bodies are bounded by their descriptors ------------------------------------------

def serve_layout(reg, tmp_path, **kw):
    layout = tmp_path / "src"
    make_layout(layout, seed=5, layers=1, layer_size=2000, **kw)
    root = reg.content.add_layout(layout, "app", "v1")
    return layout, root


def image_manifest(reg, root):
    doc = json.loads(reg.content.blobs[root["digest"]])
    return doc


def republish(reg, doc, tag="v1", media_type=OCI_MANIFEST):
    data = json.dumps(doc).encode()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    reg.content.manifests[f"app:{tag}"] = (data, media_type)
    reg.content.manifests[f"app:{digest}"] = (data, media_type)
    return digest


def test_blob_longer_than_its_descriptor_is_cut_off(tmp_path):
    with HostileRegistry() as reg:
        _, root = serve_layout(reg, tmp_path)
        config = image_manifest(reg, root)["config"]
        sent = {"bytes": 0}

        def flood(h, req):
            h.send_response(200)
            h.send_header("Content-Length", str(256 << 20))
            h.end_headers()
            chunk = b"\0" * 65536
            try:
                for _ in range(4096):
                    h.wfile.write(chunk)
                    sent["bytes"] += len(chunk)
            except OSError:
                pass

        reg.route("GET", rf"/v2/app/blobs/{config['digest']}", flood)
        proc = run_cli("pull", f"{reg.host}/app:v1", "--output", f"oci:{tmp_path / 'out'}:v1")
        assert proc.returncode != 0, proc.stderr
        assert "longer than" in proc.stderr and config["digest"] in proc.stderr
        # the client hung up long before the flood ended (256 MiB)
        assert sent["bytes"] < (32 << 20), sent
        assert not (tmp_path / "out").exists() or "app" not in (tmp_path / "out" / "index.json").read_text()


def test_descriptor_with_size_zero_is_refused(tmp_path):
    with HostileRegistry() as reg:
        _, root = serve_layout(reg, tmp_path)
        doc = image_manifest(reg, root)
        doc["layers"][0]["size"] = 0
        republish(reg, doc)
        proc = run_cli("pull", f"{reg.host}/app:v1", "--output", f"oci:{tmp_path / 'out'}:v1")
        assert proc.returncode == 2, proc.stderr
        assert "size 0" in proc.stderr and doc["layers"][0]["digest"] in proc.stderr
        assert not (tmp_path / "out").exists()


def test_manifest_over_the_size_cap_is_refused(tmp_path):
    with HostileRegistry() as reg:
        _, root = serve_layout(reg, tmp_path)
        doc = image_manifest(reg, root)
        doc["annotations"] = {"padding": "x" * (5 << 20)}
        republish(reg, doc)
        proc = run_cli("pull", f"{reg.host}/app:v1", "--output", f"oci:{tmp_path / 'out'}:v1")
        assert proc.returncode != 0, proc.stderr
        assert "exceeds 4096 KiB" in proc.stderr
        assert not (tmp_path / "out").exists()


# --- 6. stalls end: a timeout the user sets, and Ctrl-C within a second -------------------

def trickle(h, req):
    """Promises a manifest, then sends one byte a second."""
    h.send_response(200)
    h.send_header("Content-Type", OCI_MANIFEST)
    h.send_header("Content-Length", "100000")
    h.end_headers()
    try:
        for _ in range(600):
            h.wfile.write(b" ")
            h.wfile.flush()
            time.sleep(1)
    except OSError:
        pass


def test_a_trickling_registry_is_given_up_on(tmp_path):
    with HostileRegistry() as reg:
        reg.route("GET", r"/v2/app/manifests/v1", trickle)
        start = time.monotonic()
        proc = run_cli("pull", "--timeout", "2", "--stall-timeout", "2", f"{reg.host}/app:v1",
                       "--output", f"oci:{tmp_path / 'out'}:v1", timeout=240)
        assert proc.returncode == 1, proc.stderr
        assert "timed out" in proc.stderr and "--timeout" in proc.stderr
        assert "attempts over" in proc.stderr
        # bounded by the options (the server would trickle for ten minutes)
        assert time.monotonic() - start < 200
        assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("stage", ["manifest", "blob"])
def test_interrupt_stops_a_stalled_transfer_and_leaves_nothing(tmp_path, stage):
    out = tmp_path / "out"
    with HostileRegistry() as reg:
        if stage == "manifest":
            reg.route("GET", r"/v2/app/manifests/v1", trickle)
        else:
            _, root = serve_layout(reg, tmp_path)
            layer = image_manifest(reg, root)["layers"][0]
            reg.route("GET", rf"/v2/app/blobs/{layer['digest']}", trickle)
        env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "no_proxy")}
        env["HOME"] = "/nonexistent-rustimg-home"
        proc = subprocess.Popen([str(rustimg_bin()), "pull", f"{reg.host}/app:v1", "--output", f"oci:{out}:v1"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            want = "/manifests/v1" if stage == "manifest" else "/blobs/"
            while not any(want in r.path and r.method == "GET" for r in reg.requests):
                assert time.monotonic() < deadline, "the pull never reached the stalled request"
                assert proc.poll() is None, proc.communicate()
                time.sleep(0.05)
            time.sleep(1.5)  # well inside the stall
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=15)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        record_output(err)
        assert proc.returncode == 130, err
        assert "cancelled" in err
    leftovers = [p.name for p in tmp_path.rglob("*") if ".rustimg-" in p.name]
    assert leftovers == []
    if out.exists():
        assert json.loads((out / "index.json").read_text())["manifests"] == []


# --- 7. retries: kept-alive protocol errors, and an honest final count ----------------------

@pytest.mark.parametrize("garbage", [b"XTTP/1.1 200 OK\r\n\r\n", b""])
def test_protocol_error_on_a_kept_alive_connection_is_retried(tmp_path, garbage):
    with HostileRegistry() as reg:
        _, root = serve_layout(reg, tmp_path)
        spoiled = set()

        def once_per_connection(h, req):
            # the second request on every kept-alive connection gets a reply
            # curl cannot parse (or none), once per connection
            if req.index_on_connection == 2 and req.connection not in spoiled:
                spoiled.add(req.connection)
                h.wfile.write(garbage)
                h.wfile.flush()
                h.close_connection = True
                return
            reg.default(h, req)

        reg.route("*", r"/v2/.*", once_per_connection)
        proc = run_cli("pull", "--jobs", "1", f"{reg.host}/app:v1", "--output", f"oci:{tmp_path / 'out'}:v1")
        assert proc.returncode == 0, proc.stderr
        assert spoiled, "no request was spoiled: the test did not exercise a kept-alive connection"
        assert proc.stdout.strip().splitlines()[-1] == root["digest"]


def test_final_error_counts_attempts_and_time(tmp_path):
    with HostileRegistry() as reg:
        reg.route("GET", r"/v2/app/manifests/v1", lambda h, req: h.reply(
            503, b'{"errors":[{"code":"UNAVAILABLE","message":"down"}]}', {"Retry-After": "0"},
            "application/json"))
        proc = run_cli("pull", f"{reg.host}/app:v1", "--output", f"oci:{tmp_path / 'out'}:v1")
        assert proc.returncode == 1, proc.stderr
        import re
        m = re.search(r"gave up after (\d+) attempts over (\d+\.\d) s", proc.stderr)
        assert m, proc.stderr
        assert int(m.group(1)) == len(reg.to("registry")) - 1  # every attempt after the ping


# --- 9. pull trusts the document, not the transport ----------------------------------------

def test_generic_content_type_is_identified_by_the_document(tmp_path):
    with HostileRegistry() as reg:
        _, root = serve_layout(reg, tmp_path, platforms=["linux/amd64", "linux/arm64"])
        data, media_type = reg.content.manifests["app:v1"]
        assert media_type == OCI_INDEX
        for key, (d, _) in list(reg.content.manifests.items()):
            reg.content.manifests[key] = (d, "application/octet-stream")
        out = tmp_path / "out"
        proc = run_cli("pull", f"{reg.host}/app:v1", "--output", f"oci:{out}:v1")
        assert proc.returncode == 0, proc.stderr
        entry = json.loads((out / "index.json").read_text())["manifests"][0]
        assert entry["mediaType"] == OCI_INDEX
        inspect = subprocess.run(["skopeo", "inspect", "--raw", f"oci:{out}:v1"], capture_output=True)
        assert inspect.returncode == 0, inspect.stderr
        assert inspect.stdout == data


def test_index_entry_whose_media_type_lies_is_refused(tmp_path):
    with HostileRegistry() as reg:
        _, root = serve_layout(reg, tmp_path, platforms=["linux/amd64"])
        index = json.loads(reg.content.manifests["app:v1"][0])
        # an inner index where the entry claims an image manifest
        inner = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX,
                            "manifests": index["manifests"]}).encode()
        inner_digest = "sha256:" + hashlib.sha256(inner).hexdigest()
        reg.content.manifests[f"app:{inner_digest}"] = (inner, OCI_INDEX)
        index["manifests"] = [{"mediaType": OCI_MANIFEST, "digest": inner_digest, "size": len(inner)}]
        republish(reg, index, media_type=OCI_INDEX)
        out = tmp_path / "out"
        proc = run_cli("pull", f"{reg.host}/app:v1", "--output", f"oci:{out}:v1")
        assert proc.returncode == 2, proc.stderr
        assert "lies" in proc.stderr and inner_digest in proc.stderr
        assert not out.exists()


def test_a_chain_of_nested_indexes_is_not_followed_forever(tmp_path):
    with HostileRegistry() as reg:
        _, root = serve_layout(reg, tmp_path)
        child = {"mediaType": OCI_MANIFEST, "digest": root["digest"], "size": root["size"],
                 "platform": {"os": "linux", "architecture": "amd64"}}
        for _ in range(50):
            data = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [child]}).encode()
            digest = "sha256:" + hashlib.sha256(data).hexdigest()
            reg.content.manifests[f"app:{digest}"] = (data, OCI_INDEX)
            child = {"mediaType": OCI_INDEX, "digest": digest, "size": len(data)}
        reg.content.manifests["app:v1"] = reg.content.manifests[f"app:{child['digest']}"]
        proc = run_cli("pull", f"{reg.host}/app:v1", "--output", f"oci:{tmp_path / 'out'}:v1")
        assert proc.returncode == 2, proc.stderr
        assert "deeper than 8" in proc.stderr
        fetched = [r for r in reg.requests if "/manifests/" in r.path]
        assert len(fetched) <= 12, len(fetched)
        assert not (tmp_path / "out").exists()


# --- 10. artifacts about an image: listings are bounded, entries checked ------------------

SPDX = "application/spdx+json"


def referrers_route(reg, entries):
    """The referrers API answers every subject with an index of `entries`."""
    body = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode()
    reg.route("GET", r"/v2/app/referrers/.*", lambda h, req: h.reply(200, body, content_type=OCI_INDEX))


def test_a_referrers_list_over_the_cap_is_refused_before_any_artifact_is_read(tmp_path):
    with HostileRegistry() as reg:
        serve_layout(reg, tmp_path)
        referrers_route(reg, [{"mediaType": OCI_MANIFEST, "size": 300, "artifactType": SPDX,
                               "digest": "sha256:" + hashlib.sha256(str(i).encode()).hexdigest()}
                              for i in range(4097)])
        proc = run_cli("sbom", f"{reg.host}/app:v1")
        assert proc.returncode == 2, proc.stderr
        assert "4097 artifacts, more than the 4096 rustimg reads" in proc.stderr, proc.stderr
        assert proc.stdout == ""
        fetched = [r.path for r in reg.requests if "/manifests/sha256:" in r.path]
        assert fetched == [], fetched


def test_sign_attest_skips_listed_artifacts_it_cannot_check(tmp_path):
    """rustimg sign --attest attests what the registry lists about the image,
    and passes over, saying why, an entry by a digest other than sha256
    (never fetched: it could not be checked) and one the registry lists but
    does not serve. The signature is still made."""
    from test_base_key import PASSPHRASE, keypair
    with HostileRegistry() as reg:
        _, root = serve_layout(reg, tmp_path)
        sha512 = "sha512:" + hashlib.sha512(b"x").hexdigest()
        missing = "sha256:" + hashlib.sha256(b"not served").hexdigest()
        referrers_route(reg, [{"mediaType": OCI_MANIFEST, "size": 300, "artifactType": SPDX, "digest": sha512},
                              {"mediaType": OCI_MANIFEST, "size": 300, "artifactType": SPDX, "digest": missing}])
        key, _ = keypair(tmp_path, "hostile")
        proc = run_cli("sign", "--key", key, "--key-password-env", "HOSTILE_PW", "--attest", f"{reg.host}/app:v1",
                       env={"HOSTILE_PW": PASSPHRASE})
        assert proc.returncode == 0, proc.stderr
        assert f"not attested: {sha512}: " in proc.stderr, proc.stderr
        assert f"not attested: {missing}: " in proc.stderr, proc.stderr
        assert proc.stdout.split()[0] == root["digest"], proc.stdout
        assert not [r.path for r in reg.requests if "sha512" in r.path and "/referrers/" not in r.path]
        sig_tag = root["digest"].replace(":", "-") + ".sig"
        assert f"app:{sig_tag}" in reg.content.manifests
        assert f"app:{root['digest'].replace(':', '-')}.att" not in reg.content.manifests
