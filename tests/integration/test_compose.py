"""`rustimg append` and `rustimg mutate` (issue 18): crane's append and mutate
over rustimg's compose values.

The base is distroless-style: the example binary on rustimg's built-in
"static" base (passwd, CA bundle, ...), pushed to the real docker-registry.
Oracles: skopeo inspect (layers and digests), the registry's own blobs,
umoci unpack (files, modes, owners as a runtime sees them) and podman.
"""
import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from conftest import blob, podman_run, require_tool, run
from test_build import elf_fixtures, hello_binary  # noqa: F401  session fixtures: the example, ELF samples

NONROOT = 65532


def digest_line(res) -> str:
    assert res.code == 0, res
    line = res.out.strip().splitlines()[-1]
    assert line.startswith("sha256:") and len(line) == 71, res
    return line


def skopeo_json(*args):
    return json.loads(run("skopeo", *args).stdout)


def registry_blob(host: str, repo: str, digest: str) -> bytes:
    """A blob as the registry serves it (skopeo copy would re-serialise manifests, not blobs)."""
    import urllib.request
    with urllib.request.urlopen(f"http://{host}/v2/{repo}/blobs/{digest}", timeout=60) as r:
        return r.read()


def manifest_and_config(layout: Path, digest: str):
    manifest = json.loads(blob(layout, digest))
    return manifest, json.loads(blob(layout, manifest["config"]["digest"]))


def tar_layer(path: Path, entries) -> Path:
    """A tar of `entries`: (name, type, mode, uid, gid, content) with fixed times."""
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tf:
        for name, kind, mode, uid, gid, content in entries:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.uid, info.gid, info.mtime = kind, mode, uid, gid, 1700000000
            data = content.encode() if content is not None else None
            if data is not None:
                info.size = len(data)
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


@pytest.fixture(scope="module")
def base(rustimg, hello_binary, registry_plain):  # noqa: F811
    """The example on the built-in static base, pushed as HOST/compose/base:v1."""
    require_tool("skopeo")
    ref = f"{registry_plain.host}/compose/base:v1"
    res = rustimg("build", "--binary", hello_binary, "--base", "static", "--push", ref, env={"SOURCE_DATE_EPOCH": ""})
    assert res.code == 0 and res.out.strip().splitlines()[-1].startswith(ref + "@sha256:"), res
    info = skopeo_json("inspect", "--tls-verify=false", f"docker://{ref}")
    raw = skopeo_json("inspect", "--tls-verify=false", "--raw", f"docker://{ref}")
    assert len(info["Layers"]) == 2, info  # the static base's layer and the app's
    return {"ref": ref, "host": registry_plain.host, "layers": info["Layers"], "manifest": raw}


@pytest.fixture(scope="module")
def layer_inputs(tmp_path_factory):
    """A directory layer (host modes, owned by root) and a tar layer (its own modes and owners)."""
    work = tmp_path_factory.mktemp("compose-inputs")
    tree = work / "tree"
    (tree / "opt" / "tool").mkdir(parents=True)
    (tree / "opt" / "tool" / "run.sh").write_text("#!/bin/sh\necho tool\n")
    (tree / "opt" / "tool" / "run.sh").chmod(0o750)
    (tree / "opt" / "tool" / "notes.txt").write_text("notes\n")
    (tree / "opt" / "tool" / "notes.txt").chmod(0o600)
    os.symlink("run.sh", tree / "opt" / "tool" / "current")
    tar = tar_layer(work / "conf.tar", [
        ("etc/app", tarfile.DIRTYPE, 0o750, NONROOT, NONROOT, None),
        ("etc/app/app.toml", tarfile.REGTYPE, 0o640, NONROOT, NONROOT, "port = 8080\n"),
        ("var/lib/app", tarfile.DIRTYPE, 0o700, 1000, 1001, None),
    ])
    return tree, tar


@pytest.fixture(scope="module")
def appended(rustimg, base, layer_inputs, tmp_path_factory):
    """`rustimg append` of the directory and the tar onto the pulled base, into an OCI layout."""
    tree, tar = layer_inputs
    layout = tmp_path_factory.mktemp("appended") / "layout"
    digest = digest_line(rustimg("append", "--base", base["ref"], "--layer", tree, "--layer", tar,
                                 "--output", f"oci:{layout}:v1", env={"SOURCE_DATE_EPOCH": "1700000000"}))
    return layout, digest


def test_append_keeps_the_base_layers_byte_for_byte(base, appended):
    layout, digest = appended
    info = skopeo_json("inspect", f"oci:{layout}:v1")
    assert info["Digest"] == digest
    assert info["Layers"][:2] == base["layers"], "the base's layers first, same digests (never recompressed)"
    assert len(info["Layers"]) == 4, info  # + one layer per --layer
    manifest, config = manifest_and_config(layout, digest)
    for ours, theirs in zip(manifest["layers"], base["manifest"]["layers"]):
        assert (ours["digest"], ours["size"], ours["mediaType"]) == (theirs["digest"], theirs["size"],
                                                                      theirs["mediaType"])
        data = blob(layout, ours["digest"])
        assert data == registry_blob(base["host"], "compose/base", ours["digest"]), "byte for byte"
    assert [h.get("created_by") for h in config["history"][-2:]] == ["rustimg append"] * 2
    assert len(config["rootfs"]["diff_ids"]) == 4
    # The base's runtime config is kept.
    assert config["config"]["Entrypoint"] == ["/usr/local/bin/hello"]
    assert config["config"]["User"] == "65532:65532"


def test_umoci_unpack_shows_the_appended_files_with_modes_and_owners(appended, tmp_path):
    require_tool("umoci")
    if os.geteuid() != 0:
        pytest.fail("umoci unpack keeps the layers' owners only as root (the suite runs as root, as dockerd needs)")
    layout, _ = appended
    bundle = tmp_path / "bundle"
    run("umoci", "unpack", "--image", f"{layout}:v1", bundle)
    rootfs = bundle / "rootfs"

    def facts(rel):
        st = os.lstat(rootfs / rel)
        return oct(st.st_mode & 0o7777), st.st_uid, st.st_gid

    assert facts("usr/local/bin/hello") == ("0o755", 0, 0)  # the base's
    assert "nonroot:x:65532:65532" in (rootfs / "etc/passwd").read_text()
    # The directory layer: host modes (execute bit: 0755, else 0644), root's.
    assert facts("opt/tool/run.sh") == ("0o755", 0, 0)
    assert facts("opt/tool/notes.txt") == ("0o644", 0, 0)
    assert os.readlink(rootfs / "opt/tool/current") == "run.sh"
    assert (rootfs / "opt/tool/run.sh").read_text() == "#!/bin/sh\necho tool\n"
    # The tar layer: its own modes and owners.
    assert facts("etc/app") == ("0o750", NONROOT, NONROOT)
    assert facts("etc/app/app.toml") == ("0o640", NONROOT, NONROOT)
    assert (rootfs / "etc/app/app.toml").read_text() == "port = 8080\n"
    assert facts("var/lib/app") == ("0o700", 1000, 1001)


def test_append_to_the_registry_mounts_the_base_and_is_the_same_image(rustimg, base, layer_inputs, appended):
    tree, tar = layer_inputs
    _, digest = appended
    ref = f"{base['host']}/compose/appended:v1"
    res = rustimg("append", "--base", f"docker://{base['ref']}", "--layer", tree, "--layer", tar,
                  "--output", f"docker://{ref}", "--json", env={"SOURCE_DATE_EPOCH": "1700000000"})
    assert res.code == 0, res
    doc = json.loads(res.out)
    assert doc["digest"] == digest, "the same inputs give the same image wherever it goes"
    assert doc["references"] == [f"{ref}@{digest}"]
    assert doc["pushed"][0]["blobs_mounted"] == 2, doc  # the base's layers, from compose/base
    raw = run("skopeo", "inspect", "--tls-verify=false", "--raw", f"docker://{ref}").stdout.encode()
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == digest


def test_mutate_changes_only_the_config_and_manifest(rustimg, appended, podman):
    layout, digest = appended
    res = rustimg("mutate", f"oci:{layout}:v1", "--env", "GREETING=mutated", "--env", "EXTRA=1",
                  "--entrypoint", '["/usr/local/bin/hello", "--from-mutate"]', "--cmd", "arg1",
                  "--user", "1000:1000", "--workdir", "/tmp", "--label", "team=rustimg", "--port", "8080",
                  "--stop-signal", "SIGINT", "--annotation", "org.example.note=mutated",
                  "--output", f"oci:{layout}:mutated")
    mutated = digest_line(res)
    before, before_config = manifest_and_config(layout, digest)
    after, after_config = manifest_and_config(layout, mutated)
    assert mutated != digest
    assert after["config"]["digest"] != before["config"]["digest"]
    assert after["layers"] == before["layers"], "every layer descriptor unchanged"
    assert after["annotations"]["org.example.note"] == "mutated"
    # Only the runtime config changed: rootfs, history, platform are the same.
    for key in ("rootfs", "history", "architecture", "os", "created"):
        assert after_config[key] == before_config[key], key
    c = after_config["config"]
    assert c["Entrypoint"] == ["/usr/local/bin/hello", "--from-mutate"] and c["Cmd"] == ["arg1"]
    assert "GREETING=mutated" in c["Env"] and "EXTRA=1" in c["Env"]
    assert any(e.startswith("PATH=") for e in c["Env"]), "variables not named are kept"
    assert (c["User"], c["WorkingDir"], c["StopSignal"]) == ("1000:1000", "/tmp", "SIGINT")
    assert c["Labels"]["team"] == "rustimg" and "8080/tcp" in c["ExposedPorts"]
    # podman sees the new config.
    facts, text = podman_run(podman, f"oci:{layout}:mutated")
    assert facts["uid"] == "1000" and facts["cwd"] == "/tmp", text
    assert text.startswith("mutated, world!\n") and facts["env.GREETING"] == "mutated", text
    assert facts["args"] == '["--from-mutate", "arg1"]', text

    # An unchanged mutate of the same image writes the same manifest: deterministic.
    again = rustimg("mutate", f"oci:{layout}:mutated", "--output", f"oci:{layout}:again")
    assert digest_line(again) == mutated


def test_mutate_sets_healthcheck_and_created_and_append_compresses(rustimg, appended, layer_inputs, tmp_path):
    layout, digest = appended
    res = rustimg("mutate", f"oci:{layout}:v1", "--created", "1800000000",
                  "--healthcheck", '{"test": ["CMD", "/usr/local/bin/hello"], "interval": "30s", "retries": 3}',
                  "--output", f"oci:{tmp_path / 'hc'}")
    after, config = manifest_and_config(tmp_path / "hc", digest_line(res))
    assert config["created"] == "2027-01-15T08:00:00Z"
    assert config["config"]["Healthcheck"] == {"Test": ["CMD", "/usr/local/bin/hello"], "Interval": 30_000_000_000,
                                               "Retries": 3}
    off = rustimg("mutate", f"oci:{tmp_path / 'hc'}", "--healthcheck", "null", "--output", f"oci:{tmp_path / 'off'}")
    _, off_config = manifest_and_config(tmp_path / "off", digest_line(off))
    assert off_config["config"]["Healthcheck"] == {"Test": ["NONE"]}
    # --unset removes fields; unsetting what the base did not set gives back its config.
    user = rustimg("mutate", f"oci:{layout}:v1", "--user", "7:7", "--workdir", "/w", "--stop-signal", "SIGINT",
                   "--output", f"oci:{tmp_path / 'unset'}:user")
    _, user_config = manifest_and_config(tmp_path / "unset", digest_line(user))
    assert (user_config["config"]["User"], user_config["config"]["StopSignal"]) == ("7:7", "SIGINT")
    unset = rustimg("mutate", f"oci:{tmp_path / 'unset'}:user", "--unset", "user", "--unset", "workdir",
                    "--unset", "stop-signal", "--output", f"oci:{tmp_path / 'unset'}:none")
    _, unset_config = manifest_and_config(tmp_path / "unset", digest_line(unset))
    assert not {"User", "WorkingDir", "StopSignal"} & set(unset_config["config"]), unset_config
    _, base_config = manifest_and_config(layout, digest)
    fields = {"User", "WorkingDir", "StopSignal"}
    assert unset_config["config"] == {k: v for k, v in base_config["config"].items() if k not in fields}

    tree, _ = layer_inputs
    zst = rustimg("append", "--base", "scratch", "--layer", tree, "--compression", "zstd", "--compression-level", "19",
                  "--output", f"oci:{tmp_path / 'zst'}")
    manifest, _ = manifest_and_config(tmp_path / "zst", digest_line(zst))
    assert [l["mediaType"] for l in manifest["layers"]] == ["application/vnd.oci.image.layer.v1.tar+zstd"]
    level = rustimg("append", "--base", "scratch", "--layer", tree, "--compression-level", "12",
                    "--output", f"oci:{tmp_path / 'bad-level'}")
    assert level.code == 2 and "gzip level 12 is not between 1 and 9" in level.err, level
    assert not (tmp_path / "bad-level").exists()


def index_of(layout: Path):
    return (layout / "index.json").read_bytes() if (layout / "index.json").exists() else None


@pytest.mark.parametrize("case", ["fifo", "missing", "dotdot", "duplicate", "unknown-option", "bad-env",
                                  "bad-compression", "bad-healthcheck", "bad-port", "bad-unset", "bare-path"])
def test_errors_name_the_input_and_write_nothing(rustimg, case, tmp_path, appended):
    src_layout, _ = appended
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "ok.txt").write_text("ok\n")
    out = tmp_path / "out"
    archive = tmp_path / "out.tar"
    existing = tmp_path / "existing"
    run("skopeo", "copy", f"oci:{src_layout}:v1", f"oci:{existing}:keep")
    existing_index = index_of(existing)
    cli = {
        # A host entry that cannot be read as a file (what a file that vanishes or turns into something else hits).
        "fifo": (lambda: os.mkfifo(tree / "pipe"),
                 ["append", "--base", "scratch", "--layer", tree], "pipe", "remove it from"),
        "missing": (lambda: None, ["append", "--base", "scratch", "--layer", tmp_path / "nope"], "nope",
                    "does not exist"),
        "dotdot": (lambda: None, ["append", "--base", "scratch", "--layer", tree, "--layer-path", "../x"],
                   "--layer-path: invalid image path \"../x\"", "give a path in the image"),
        "duplicate": (lambda: tar_layer(tmp_path / "dup.tar", [
            ("etc/a", tarfile.REGTYPE, 0o644, 0, 0, "one\n"), ("etc/a", tarfile.REGTYPE, 0o644, 0, 0, "two\n")]),
            ["append", "--base", "scratch", "--layer", tmp_path / "dup.tar"], "etc/a", "twice"),
        "unknown-option": (lambda: None, ["mutate", f"oci:{src_layout}:v1", "--entrypiont", "/x"], "--entrypiont",
                           "did you mean --entrypoint"),
        "bad-env": (lambda: None, ["mutate", f"oci:{src_layout}:v1", "--env", "NOVALUE"], "NOVALUE", "KEY=VALUE"),
        "bad-compression": (lambda: None, ["append", "--base", "scratch", "--layer", tree, "--compression", "brotli"],
                            '--compression "brotli"', 'give "gzip", "zstd" or "none"'),
        "bad-healthcheck": (lambda: None, ["mutate", f"oci:{src_layout}:v1", "--healthcheck", '{"tset": ["CMD"]}'],
                            "--healthcheck", 'did you mean "test"'),
        "bad-port": (lambda: None, ["mutate", f"oci:{src_layout}:v1", "--env", "A=1", "--port", "http"],
                     '--port: $.ports[0]', 'got "http"'),
        "bad-unset": (lambda: None, ["mutate", f"oci:{src_layout}:v1", "--unset", "usr"], "--unset: $.usr",
                      'did you mean "user"'),
        "bare-path": (lambda: None, ["mutate", str(src_layout)], f"SRC {src_layout} is a local path",
                      f"write oci:{src_layout}"),
    }
    prepare, args, names, fix = cli[case]
    prepare()
    for dest in (f"oci:{out}:v1", f"oci-archive:{archive}", f"oci:{existing}:new"):
        res = rustimg(*args, "--output", dest)
        assert res.code == 2, res
        assert names in res.err and fix in res.err, res
        assert res.out == "", res
        assert not out.exists() and not archive.exists(), "nothing written"
        assert index_of(existing) == existing_index, "an existing layout is left as it was"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == [], "no staging left behind"
