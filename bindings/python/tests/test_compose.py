"""rustimg.LayerBuilder / Layer / Image / Index: the compose values from
Python, on real files, read back with tarfile and from OCI layouts and a real
docker-registry (the C++ kinds of tests/unit/test_compose.cpp, plus what only
the binding has: close(), context managers, keyword arguments)."""
import gzip
import hashlib
import io
import json
import os
import tarfile

import pytest

import rustimg

from test_registry import registry  # noqa: F401  (the real docker-registry fixture)

AMD64 = "linux/amd64"


def blob(layout, digest):
    return (layout / "blobs" / "sha256" / digest.split(":", 1)[1]).read_bytes()


def written_layer(layer, tmp_path):
    """The blob of `layer` as an image written to a layout holds it."""
    out = tmp_path / "layer-out"
    with rustimg.Image.scratch(AMD64) as base, base.append(layer) as img:
        img.write(f"oci:{out}")
    return blob(out, layer.digest)


def entries(layer_bytes):
    with tarfile.open(fileobj=io.BytesIO(layer_bytes), mode="r:*") as tar:
        return {m.name: (m, tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()}


def temp_files(directory):
    return [p for p in directory.rglob("*")]


def layout_manifest_digest(layout):
    """The digest the layout's index.json names (one manifest or index)."""
    (manifest,) = json.loads((layout / "index.json").read_text())["manifests"]
    return manifest["digest"]


def test_same_inputs_same_digest_in_any_order(tmp_path):
    app = tmp_path / "app"
    app.write_bytes(b"binary")
    app.chmod(0o700)
    conf = tmp_path / "app.toml"
    conf.write_text("x = 1\n")
    a = (rustimg.LayerBuilder().add_file("/usr/local/bin/app", app).add_bytes("/etc/motd", b"hi\n")
         .add_file("/etc/app.toml", conf, mode=0o600, uid=7, gid=8))
    b = (rustimg.LayerBuilder().add_file("etc/app.toml", str(conf), mode=0o600, uid=7, gid=8)
         .add_bytes("etc//motd", bytearray(b"hi\n")).add_file("usr/local/bin/app", app))
    la, lb = a.build(mtime=1700000000), b.build(mtime=1700000000)
    assert (la.digest, la.diff_id) == (lb.digest, lb.diff_id)
    assert la.digest == a.build(mtime=1700000000).digest  # the builder is unchanged by build()
    assert la.media_type == "application/vnd.oci.image.layer.v1.tar+gzip"
    assert la.digest != a.build(mtime=1).digest  # the mtime is part of the layer
    os.utime(app, (1, 1))  # host file times do not matter
    assert a.build(mtime=1700000000).digest == la.digest
    zstd = a.build(mtime=1700000000, compression="zstd", level=19)
    assert zstd.media_type.endswith("+zstd") and zstd.diff_id == la.diff_id and zstd.digest != la.digest
    assert la.size == len(written_layer(la, tmp_path))
    with pytest.raises(rustimg.InvalidArgumentError, match=r'compression= ?"brotli" is not a compression'):
        a.build(compression="brotli")


def test_modes_owners_and_mtime_in_the_tar(tmp_path):
    exe = tmp_path / "tool"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o700)
    data = tmp_path / "data"
    data.write_text("data")
    (tmp_path / "tree" / "sub").mkdir(parents=True)
    (tmp_path / "tree" / "sub" / "f.txt").write_text("f")
    (tmp_path / "tree" / "link").symlink_to("sub/f.txt")
    layer = (rustimg.LayerBuilder()
             .add_file("/bin/tool", exe)
             .add_file("/srv/data", data)
             .add_file("/srv/secret", data, mode=0o600, uid=1000, gid=1001)
             .add_directory("/var/lib/app", mode=0o700, uid=65532, gid=65532)
             .add_symlink("/bin/t", "tool")
             .add_bytes("/etc/app.conf", b"k=v\n", mode=0o640, gid=42)
             .add_tree("/opt/tree", tmp_path / "tree", uid=5, gid=6)
             .build(mtime=1234567))
    got = entries(written_layer(layer, tmp_path))
    assert got["bin/tool"][0].mode == 0o755  # the host's execute bit
    assert got["srv/data"][0].mode == 0o644
    assert (got["srv/secret"][0].mode, got["srv/secret"][0].uid, got["srv/secret"][0].gid) == (0o600, 1000, 1001)
    assert got["var/lib/app"][0].isdir() and got["var/lib/app"][0].mode == 0o700
    assert got["var/lib/app"][0].uid == 65532
    assert got["bin/t"][0].issym() and got["bin/t"][0].linkname == "tool"
    assert got["etc/app.conf"][1] == b"k=v\n" and got["etc/app.conf"][0].gid == 42
    assert got["opt/tree/sub/f.txt"][0].uid == 5
    assert got["opt/tree/link"][0].linkname == "sub/f.txt"
    assert {m.mtime for m, _ in got.values()} == {1234567}
    assert hashlib.sha256(gzip.decompress(written_layer(layer, tmp_path))).hexdigest() == layer.diff_id[7:]


def test_bad_paths_and_duplicates_are_refused(tmp_path):
    f = tmp_path / "f"
    f.write_text("x")
    b = rustimg.LayerBuilder()
    with pytest.raises(rustimg.InvalidArgumentError, match=r'"\.\." is not allowed'):
        b.add_bytes("/etc/../x", b"x")
    with pytest.raises(rustimg.InvalidArgumentError, match="NUL"):
        b.add_file("a\0b", f)
    b.add_file("/etc/x", f)
    with pytest.raises(rustimg.InvalidArgumentError, match="/etc/x is added twice"):
        b.add_bytes("/etc/x", b"y")
    with pytest.raises(rustimg.NotFoundError, match="missing"):
        b.add_file("/y", tmp_path / "missing")
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "escape").symlink_to("/etc/passwd")
    with pytest.raises(rustimg.InvalidArgumentError, match="resolves outside"):
        b.add_tree("/t", tmp_path / "t")
    with pytest.raises(TypeError, match=r"data= takes bytes, bytearray or memoryview, not str: .*\.encode\(\)"):
        b.add_bytes("/s", "a str, not bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not list"):
        b.add_bytes("/s", [104, 105])  # type: ignore[arg-type]
    b.add_bytes("/mv", memoryview(b"mv"))


def test_modes_and_owners_are_keyword_only(tmp_path):
    f = tmp_path / "f"
    f.write_text("x")
    b = rustimg.LayerBuilder()
    for call in (lambda: b.add_file("/a", f, 0o600), lambda: b.add_directory("/d", 0o700),
                 lambda: b.add_tree("/t", tmp_path, 1), lambda: b.add_symlink("/l", "a", 1),
                 lambda: b.add_bytes("/b", b"b", 0o600)):
        with pytest.raises(TypeError, match="positional argument"):
            call()
    assert b.add_bytes("/b", b"b", mode=0o600, uid=1, gid=2) is b


def test_a_vanished_host_file_leaves_nothing(tmp_path, monkeypatch):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    gone = tmp_path / "gone"
    gone.write_text("soon gone")
    b = rustimg.LayerBuilder().add_file("/app/gone", gone)
    gone.unlink()
    with pytest.raises(rustimg.NotFoundError, match=str(gone)):
        b.build()
    assert temp_files(scratch) == []


def test_close_and_with_release_the_blobs_and_closed_values_raise(tmp_path, monkeypatch):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    layer = rustimg.LayerBuilder().add_bytes("/a", b"a").build()
    with rustimg.Image.scratch(AMD64) as base:
        img = base.append(layer)
    with pytest.raises(rustimg.InvalidArgumentError, match="rustimg.Image was closed"):
        base.append(layer)
    with pytest.raises(rustimg.InvalidArgumentError, match="was closed"):
        _ = base.digest
    assert repr(base) == "<rustimg.Image closed>"
    assert temp_files(scratch) != []
    layer.close()
    layer.close()  # twice is harmless
    with pytest.raises(rustimg.InvalidArgumentError, match="rustimg.Layer was closed"):
        _ = layer.digest
    # The image made before keeps the layer's blob: it is still written whole.
    assert img.write(f"oci:{tmp_path / 'out'}").digest == img.digest
    assert temp_files(scratch) != []
    img.close()
    assert temp_files(scratch) == []  # the last holder closed: the blob is gone at once


def test_a_tar_keeps_its_content_and_hostile_tars_are_refused(tmp_path, monkeypatch):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("etc/hosts")
        info.size = 20
        info.mode = 0o640
        info.uid, info.gid, info.uname = 7, 9, "someone"
        info.mtime = 1600000000.75
        tar.addfile(info, io.BytesIO(b"127.0.0.1 localhost\n"))
    raw = buf.getvalue()
    (tmp_path / "l.tar").write_bytes(raw)
    (tmp_path / "l.tar.gz").write_bytes(gzip.compress(raw))
    layer = rustimg.Layer.from_tar(tmp_path / "l.tar")
    assert rustimg.Layer.from_tar(str(tmp_path / "l.tar.gz")).digest == layer.digest
    # Written again entry by entry: content, mode, ids and whole-second mtime
    # kept; the user name and the fraction of a second dropped.
    member, data = entries(written_layer(layer, tmp_path))["etc/hosts"]
    assert data == b"127.0.0.1 localhost\n"
    assert (member.mode, member.uid, member.gid, member.mtime, member.uname) == (0o640, 7, 9, 1600000000, "")
    # A tar rustimg wrote keeps its diff_id.
    plain = rustimg.LayerBuilder().add_bytes("/etc/motd", b"hi\n").build(compression="none")
    assert plain.media_type.endswith("tar")
    (tmp_path / "ours.tar").write_bytes(written_layer(plain, tmp_path))
    again = rustimg.Layer.from_tar(tmp_path / "ours.tar", compression="none")
    assert (again.diff_id, again.digest) == (plain.diff_id, plain.digest)
    assert again.diff_id == "sha256:" + hashlib.sha256((tmp_path / "ours.tar").read_bytes()).hexdigest()
    assert again.uncompressed_size == (tmp_path / "ours.tar").stat().st_size

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    bad = io.BytesIO()
    with tarfile.open(fileobj=bad, mode="w") as tar:
        info = tarfile.TarInfo("../x")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    (tmp_path / "bad.tar").write_bytes(bad.getvalue())
    with pytest.raises(rustimg.InvalidArgumentError, match=r'entry "\.\./x" has a "\.\." component'):
        rustimg.Layer.from_tar(tmp_path / "bad.tar")
    with pytest.raises(rustimg.NotFoundError, match="missing.tar"):
        rustimg.Layer.from_tar(tmp_path / "missing.tar")
    assert temp_files(scratch) == []


def test_scratch_append_config_write_load(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    app = rustimg.LayerBuilder().add_bytes("/usr/local/bin/app", b"binary", mode=0o755).build()
    base = rustimg.Image.scratch(AMD64).append(app, "app")
    img = base.with_config(entrypoint=["/usr/local/bin/app"], env={"PORT": "8080"}, ports=[8080],
                           labels={"org.example": "yes"}, user="65532:65532", stop_signal="SIGINT",
                           healthcheck={"test": ["CMD", "/usr/local/bin/app", "--check"], "interval": "30s",
                                        "start-period": "1m30s", "retries": 3})
    # Only the config and the manifest change; the value changed from stays as it was.
    assert img.digest != base.digest
    assert img.layers == base.layers and img.layers[0]["digest"] == app.digest
    assert base.config["config"].get("Entrypoint") is None
    cfg = img.config["config"]
    assert cfg["Entrypoint"] == ["/usr/local/bin/app"] and cfg["Env"] == ["PORT=8080"]
    assert "8080/tcp" in cfg["ExposedPorts"] and cfg["User"] == "65532:65532" and cfg["StopSignal"] == "SIGINT"
    assert cfg["Labels"] == {"org.example": "yes"}
    assert cfg["Healthcheck"]["Interval"] == 30 * 10**9 and cfg["Healthcheck"]["Retries"] == 3
    assert cfg["Healthcheck"]["StartPeriod"] == 90 * 10**9
    assert img.config["created"] == "2023-11-14T22:13:20Z"
    assert img.config["history"][0]["created_by"] == "app"
    assert (img.platform, img.format) == (AMD64, "oci")
    assert img.media_type == "application/vnd.oci.image.manifest.v1+json"

    out = tmp_path / "out"
    result = img.write(f"oci:{out}:v1")
    assert isinstance(result, rustimg.TransferResult)
    assert result == rustimg.TransferResult(reference=f"oci:{out}:v1", digest=img.digest)
    assert layout_manifest_digest(out) == result.digest
    assert json.loads(blob(out, result.digest))["layers"][0]["digest"] == app.digest
    with rustimg.Image.load(f"oci:{out}:v1") as loaded:
        assert loaded.digest == img.digest and loaded.config == img.config
        changed = loaded.with_config(env={"PORT": "9090", "A": "1"}).with_created(0)
    assert changed.layers == img.layers
    assert changed.config["config"]["Env"] == ["PORT=9090", "A=1"]
    assert changed.config["config"]["User"] == "65532:65532"  # fields not named stay
    assert changed.config["created"] == "1970-01-01T00:00:00Z"
    archive = changed.write(f"docker-archive:{tmp_path / 'd.tar'}")
    assert (archive.reference, archive.digest) == (f"docker-archive:{tmp_path / 'd.tar'}", changed.digest)

    # An empty value removes a field; None (the default) keeps it.
    removed = changed.with_config(entrypoint=[], user="", workdir=None)
    assert "Entrypoint" not in removed.config["config"] and "User" not in removed.config["config"]
    assert removed.config["config"]["Env"] == ["PORT=9090", "A=1"]
    off = changed.with_config(healthcheck={"test": ["NONE"]})
    assert off.config["config"]["Healthcheck"]["Test"] == ["NONE"]
    assert changed.with_config() == changed and changed.with_config(ports=[], env={}, cmd=None) == changed
    assert rustimg.Image.load(f"docker-archive:{tmp_path / 'd.tar'}").layers[0]["digest"] == app.digest


def test_bad_config_arguments(tmp_path):
    img = rustimg.Image.scratch(AMD64)
    with pytest.raises(TypeError):
        img.with_config(entrypint=["/x"])  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"entrypoint= takes a list, e.g. \['/app'\]"):
        img.with_config(entrypoint="/app")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"ports= takes a list, e.g. \['8080'\]"):
        img.with_config(ports="8080")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="ports= takes a list"):
        img.with_config(ports=8080)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="env= takes a dict"):
        img.with_config(env=["A=1"])  # type: ignore[arg-type]
    # Every value is checked by the core's spec readers, named by its key.
    with pytest.raises(rustimg.InvalidArgumentError, match=r'with_config\(\): \$\.ports\[1\]: .*got "http"'):
        img.with_config(ports=[8080, "http"])
    with pytest.raises(rustimg.InvalidArgumentError, match=r"\$\.healthcheck\.every: unknown key"):
        img.with_config(healthcheck={"test": ["CMD", "x"], "every": 3})
    with pytest.raises(rustimg.InvalidArgumentError, match=r'\$\.healthcheck\.start_period: .*"start-period"'):
        img.with_config(healthcheck={"test": ["CMD", "x"], "start_period": "5s"})
    with pytest.raises(rustimg.InvalidArgumentError, match=r"\$\.healthcheck\.interval: "):
        img.with_config(healthcheck={"test": ["CMD", "x"], "interval": "soon"})
    with pytest.raises(rustimg.InvalidArgumentError, match=r'\$\.env\.1A: invalid variable name'):
        img.with_config(env={"1A": "x"})
    with pytest.raises(rustimg.InvalidArgumentError, match=r"\$\.stop-signal: .*SIGNOPE"):
        img.with_config(stop_signal="SIGNOPE")
    with pytest.raises(rustimg.InvalidArgumentError, match=r"\$\.workdir: must be an absolute path"):
        img.with_config(workdir="relative")
    with pytest.raises(rustimg.InvalidArgumentError, match="append a layer first"):
        img.write(f"oci:{tmp_path / 'o'}")
    assert not (tmp_path / "o" / "index.json").exists()
    with pytest.raises(rustimg.UnsupportedError, match="not a built-in base"):
        rustimg.Image.builtin("debian", AMD64)
    with pytest.raises(rustimg.InvalidArgumentError):
        rustimg.Image.scratch("linux/amd64", format="oci2")


def test_builtin_static_annotations_created_and_index(tmp_path):
    static = rustimg.Image.builtin("static", "linux/arm64", ca_certificates=False, mtime=0)
    assert len(static.layers) == 1 and static.config["architecture"] == "arm64"
    assert static.config["config"]["Env"][0].startswith("PATH=")
    assert "base static" in static.config["history"][0]["created_by"]
    assert static.digest == rustimg.Image.builtin("static", "linux/arm64", ca_certificates=False, mtime=0).digest

    img = rustimg.Image.scratch(AMD64).with_annotations({"org.example.a": "1"}).with_created(86400)
    assert img.annotations == {"org.example.a": "1"} and img.config["created"] == "1970-01-02T00:00:00Z"
    with pytest.raises(rustimg.InvalidArgumentError, match="Docker manifests carry no annotations"):
        rustimg.Image.scratch(AMD64, format="docker").with_annotations({"a": "b"})

    layer = rustimg.LayerBuilder().add_bytes("/a", b"a").build(mtime=0)
    amd = img.append(layer)
    with rustimg.Index([amd, static]) as index:
        written = index.write(f"oci:{tmp_path / 'multi'}:v1")
        assert written.digest == index.digest and index.media_type.endswith("image.index.v1+json")
    assert rustimg.Image.load(f"oci:{tmp_path / 'multi'}:v1", platform="linux/arm64").digest == static.digest
    with pytest.raises(rustimg.InvalidArgumentError, match="linux/amd64"):
        rustimg.Image.load(f"oci:{tmp_path / 'multi'}:v1")  # several platforms, none asked for
    with pytest.raises(rustimg.InvalidArgumentError):
        rustimg.Index([amd, amd])


def test_pull_append_write_to_the_registry(registry, tmp_path):  # noqa: F811
    layer = rustimg.LayerBuilder().add_bytes("/etc/base", b"base").build(mtime=0)
    base = rustimg.Image.scratch(AMD64).append(layer, "base").with_created(0)
    events = []
    pushed = base.write(f"docker://{registry}/py/base:v1", insecure_registries=[registry],
                        progress=lambda stage, msg: events.append(stage))
    assert isinstance(pushed, rustimg.TransferResult)
    assert pushed.reference == f"{registry}/py/base:v1@{base.digest}"
    assert (pushed.digest, pushed.blobs_uploaded, pushed.blobs_mounted) == (base.digest, 2, 0)
    assert pushed.bytes_uploaded > 0
    assert events

    with rustimg.Image.pull(f"{registry}/py/base:v1", AMD64, insecure_registries=[registry]) as pulled:
        assert pulled.digest == base.digest  # unchanged: the same bytes
        app = rustimg.LayerBuilder().add_bytes("/app", b"app", mode=0o755).build(mtime=0)
        img = pulled.append(app, "app").with_config(entrypoint=["/app"])
    result = img.write(f"docker://{registry}/py/app:v1", insecure_registries=[registry])
    assert result.reference == f"{registry}/py/app:v1@{img.digest}"
    assert result.blobs_mounted == 1  # the base layer, from py/base
    assert [d["digest"] for d in img.layers] == [layer.digest, app.digest]
    assert rustimg.pull(f"{registry}/py/app:v1", f"oci:{tmp_path / 'back'}", insecure_registries=[registry]).digest \
        == img.digest
    with pytest.raises(rustimg.NotFoundError, match="py/missing:v1"):
        rustimg.Image.pull(f"{registry}/py/missing:v1", AMD64, insecure_registries=[registry])


def test_values_compare_and_hash_by_class_and_digest(tmp_path):
    a = rustimg.LayerBuilder().add_bytes("/a", b"a").build(mtime=0)
    b = rustimg.LayerBuilder().add_bytes("a", b"a").build(mtime=0)
    other = rustimg.LayerBuilder().add_bytes("/a", b"b").build(mtime=0)
    assert a == b and hash(a) == hash(b) and a != other and len({a, b, other}) == 2
    assert (a.digest, a.media_type) == (b.digest, "application/vnd.oci.image.layer.v1.tar+gzip")
    img = rustimg.Image.scratch(AMD64).append(a).with_created(0)
    same = rustimg.Image.scratch(AMD64).append(b).with_created(0)
    assert img == same and img != a and img != img.digest
    index = rustimg.Index([img])
    assert index == rustimg.Index([same]) and index != img
    assert index.media_type == "application/vnd.oci.image.index.v1+json"
    assert repr(index) == f"<rustimg.Index {index.digest}>"
    written = index.write(f"oci:{tmp_path / 'ix'}")
    assert written.digest == index.digest == layout_manifest_digest(tmp_path / "ix")
    a.close()
    assert a == b and hash(a) == hash(b)  # still, after close()


SECRET = "s3cret-Passw0rd-do-not-print"


def exception_texts(exc):
    """str() and repr() of `exc` and of every exception chained to it."""
    texts, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        texts += [str(exc), repr(exc)] + [str(a) for a in exc.args]
        exc = exc.__cause__ or exc.__context__
    return texts


@pytest.mark.parametrize("wrong, bad", [
    ("username", {"username": 123}), ("username", {"username": b"u"}),
    ("credentials_registry", {"username": "u", "credentials_registry": 5}),
    ("request_timeout", {"username": "u", "request_timeout": "10"}),
    ("insecure_registries", {"username": "u", "insecure_registries": "127.0.0.1:5000"}),
    ("use_config_files", {"username": "u", "use_config_files": "no"})])
def test_a_wrong_registry_argument_type_never_shows_the_password(tmp_path, wrong, bad):
    img = rustimg.Image.scratch(AMD64).append(rustimg.LayerBuilder().add_bytes("/a", b"a").build())
    with pytest.raises(TypeError) as info:
        img.write("docker://127.0.0.1:9/py/x:v1", password=SECRET, **bad)
    assert str(info.value).startswith(wrong + "=")
    assert not any(SECRET in text for text in exception_texts(info.value))
    with pytest.raises(TypeError) as info:
        rustimg.pull("127.0.0.1:9/py/x:v1", f"oci:{tmp_path / 'p'}", password=SECRET, **bad)
    assert not any(SECRET in text for text in exception_texts(info.value))
    with pytest.raises(TypeError) as info:
        rustimg.Image.pull("127.0.0.1:9/py/x:v1", AMD64, password=SECRET, **bad)
    assert not any(SECRET in text for text in exception_texts(info.value))
    # A password of the wrong type is named by type, not shown.
    with pytest.raises(TypeError, match="password= takes a str or None, not bytes") as info:
        img.write("docker://127.0.0.1:9/py/x:v1", username="u", password=SECRET.encode())
    assert not any(SECRET in text for text in exception_texts(info.value))


def test_a_type_error_of_the_native_call_is_raised_without_its_arguments(monkeypatch):
    """pybind11's TypeError lists every argument ("Invoked with: ..."): if one
    gets past the checks, it is replaced, with nothing chained."""
    def refuses(*args, **kwargs):
        raise TypeError(f"registry_options(): incompatible function arguments. Invoked with: {args!r}")
    monkeypatch.setattr(rustimg._core, "registry_options", refuses)
    with pytest.raises(TypeError, match="the registry options .* have a wrong type") as info:
        rustimg.push("oci:x", "127.0.0.1:9/py/x:v1", username="u", password=SECRET)
    assert info.value.__cause__ is None and info.value.__context__ is None
    assert not any(SECRET in text for text in exception_texts(info.value))
