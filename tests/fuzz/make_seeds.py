#!/usr/bin/env python3
"""Writes the seeds of fuzz_archive, small docker-archive and OCI archive
files (tar archives holding digests: easier to generate than to keep in sync
by hand), into OUT/fuzz_archive/. The other targets' seeds are committed in
tests/fuzz/seeds/<target>/.

Deterministic: the same files on every run. Usage: make_seeds.py OUT
"""
import gzip
import hashlib
import io
import json
import sys
import tarfile
from pathlib import Path

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"


def digest(b: bytes) -> str:
    return "sha256:" + hashlib.sha256(b).hexdigest()


def dumps(doc) -> bytes:
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


def descriptor(media_type: str, b: bytes, **extra) -> dict:
    return {"mediaType": media_type, "digest": digest(b), "size": len(b), **extra}


def tar_bytes(files: dict) -> bytes:
    """A USTAR archive ending right after its two zero blocks (no padding to
    tarfile's 10 KiB record: seeds stay small)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            info.mode = 0o644
            t.addfile(info, io.BytesIO(data))
        end = t.offset
    return out.getvalue()[:end + 1024]


def image(arch: str):
    """(manifest, config, layer) bytes of a one-layer image."""
    layer = b"layer of " + arch.encode()  # any bytes: nothing here reads a layer's content
    config = dumps({"architecture": arch, "os": "linux",
                    "config": {"Entrypoint": ["/app"], "Env": ["PATH=/"]},
                    "rootfs": {"type": "layers", "diff_ids": [digest(layer)]}})
    manifest = dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                      "config": descriptor(OCI_CONFIG, config),
                      "layers": [descriptor(OCI_LAYER, layer)]})
    return manifest, config, layer


def archive_seeds(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    manifest, config, layer = image("amd64")
    hex_of = lambda b: hashlib.sha256(b).hexdigest()
    docker = tar_bytes({
        "manifest.json": dumps([{"Config": hex_of(config) + ".json", "RepoTags": ["app:v1"],
                                 "Layers": [hex_of(layer) + "/layer.tar"]}]),
        hex_of(config) + ".json": config,
        hex_of(layer) + "/layer.tar": layer,
    })
    (out / "docker_archive.tar").write_bytes(docker)
    (out / "docker_archive.tar.gz").write_bytes(gzip.compress(docker, mtime=0))
    index = dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        descriptor(OCI_MANIFEST, manifest, annotations={"org.opencontainers.image.ref.name": "latest"})]})
    (out / "oci_archive.tar").write_bytes(tar_bytes({
        "oci-layout": b'{"imageLayoutVersion":"1.0.0"}',
        "index.json": index,
        "blobs/sha256/" + hex_of(manifest): manifest,
        "blobs/sha256/" + hex_of(config): config,
        "blobs/sha256/" + hex_of(layer): layer,
    }))


def main() -> None:
    out = Path(sys.argv[1])
    archive_seeds(out / "fuzz_archive")


if __name__ == "__main__":
    main()
