"""rustimg: minimal, reproducible OCI images from Rust crates, in-process.

    import rustimg

    report = rustimg.verify("target/x86_64-unknown-linux-gnu/release/app")
    if not report.fit_for_scratch:
        print(report.problems)

    spec = rustimg.load_spec(crate=".", overrides={"platforms": ["linux/arm64"]})

    result = rustimg.build(crate=".", output="oci:out/app:v1")
    for pushed in rustimg.push("oci:out/app:v1", "ghcr.io/me/app:v1"):
        print(pushed.reference, pushed.blobs_uploaded)

Errors are subclasses of :class:`rustimg.Error` (see rustimg._errors).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

from . import _core
from ._core import Report
from ._errors import (AuthError, CancelledError, CargoError, ElfError, Error, InvalidArgumentError, IoError,
                      NotFoundError, RegistryError, SpecError, UnsupportedError, VerifyError)

__version__: str = _core.__version__

PathLike = Union[str, "os.PathLike[str]"]

__all__ = [
    "AuthError", "CancelledError", "CargoError", "ElfError", "Error", "InvalidArgumentError", "IoError",
    "NotFoundError", "RegistryError", "Report", "SpecError", "UnsupportedError", "VerifyError",
    "BuildResult", "TransferResult", "build", "load_spec", "pull", "push", "verify", "__version__",
]

#: A progress callback: called with (stage, message), e.g. ("cargo", "Compiling app v0.1.0")
#: or, for a push or pull, ("uploading", "uploading sha256:... 1048576/2097152"). An
#: exception it raises cancels the call and propagates unchanged; its return value is ignored.
Progress = Callable[[str, str], None]


@dataclass(frozen=True)
class TransferResult:
    """What :func:`push` did for one reference, or what :func:`pull` fetched:
    the same fields as the Go binding's ``TransferResult``.

    Attributes:
        reference: "host/repo:tag@sha256:..." for a push (what ``rustimg push``
            prints); the reference as given for a pull.
        digest: The digest of the manifest or index, "sha256:...".
        blobs_uploaded: Blobs sent to the registry (0 for a pull).
        blobs_mounted: Blobs mounted from another repository of the registry
            (the image's base) instead of uploaded (0 for a pull).
        blobs_existing: Blobs the registry already had, so not sent (0 for a pull).
        bytes_uploaded: Bytes of blob data sent (0 for a pull).
    """

    reference: str
    digest: str
    blobs_uploaded: int = 0
    blobs_mounted: int = 0
    blobs_existing: int = 0
    bytes_uploaded: int = 0

    @classmethod
    def _from_core(cls, raw: Mapping[str, Any]) -> "TransferResult":
        return cls(reference=raw["reference"], digest=raw["digest"], blobs_uploaded=raw["blobs_uploaded"],
                   blobs_mounted=raw["blobs_mounted"], blobs_existing=raw["blobs_existing"],
                   bytes_uploaded=raw["bytes_uploaded"])


@dataclass(frozen=True)
class BuildResult:
    """What :func:`build` produced.

    Attributes:
        digest: The manifest digest (one platform) or index digest (several), "sha256:...".
        media_type: The media type of that manifest or index.
        size: Its size in bytes.
        reports: The :class:`Report` of every binary, as :func:`verify` returns it.
        output: Where the image was written.
        pushed: A :class:`TransferResult` for every reference pushed to (a
            ``docker://`` output, then ``push=``), in order.
    """

    digest: str
    media_type: str
    size: int
    reports: List[Report]
    output: str
    pushed: List[TransferResult]


def _registry(insecure_registries: Sequence[str], ca_file: Optional[PathLike], username: Optional[str],
              password: Optional[str], credentials_registry: Optional[str], use_config_files: bool,
              request_timeout: Optional[float], stall_timeout: Optional[float]) -> Any:
    return _core.registry_options(list(insecure_registries), _path(ca_file) or "", username, password,
                                  credentials_registry, use_config_files, request_timeout, stall_timeout)


def push(source: str, *targets: str, progress: Optional[Progress] = None, insecure_registries: Sequence[str] = (),
         ca_file: Optional[PathLike] = None, username: Optional[str] = None, password: Optional[str] = None,
         credentials_registry: Optional[str] = None, use_config_files: bool = True,
         request_timeout: Optional[float] = None, stall_timeout: Optional[float] = None) -> List[TransferResult]:
    """Pushes the image at ``source`` ("oci:DIR[:TAG]", "oci-archive:FILE[:TAG]"
    or "docker-archive:FILE") to every target reference and returns a
    :class:`TransferResult` for each, in order (``reference`` is
    "REF@sha256:..."). Blobs a registry has are skipped (``blobs_existing``).
    ``progress(stage, message)`` is called for every blob checked, uploaded,
    mounted or skipped and every manifest sent; an exception it raises
    cancels the push and propagates unchanged, and so does Ctrl-C. Credentials
    come from ``username``/``password``, else the docker/podman config files;
    ``username``/``password`` are for the registry host
    ``credentials_registry`` ("ghcr.io", "127.0.0.1:5000"), by default the
    targets' (InvalidArgumentError when they are on several), and no other.
    ``request_timeout`` (seconds, default 300) bounds each request without
    blob data; ``stall_timeout`` (default 60) gives up on a transfer slower
    than 1 KiB/s for that long. Raises RegistryError (``http_status``, ``registry_code``) or AuthError."""
    if not targets:
        raise InvalidArgumentError("push() needs at least one target reference")
    options = _registry(insecure_registries, ca_file, username, password, credentials_registry, use_config_files,
                        request_timeout, stall_timeout)
    return [TransferResult._from_core(p) for p in _core.push(source, list(targets), options, progress)]


def pull(reference: str, output: str, *, platform: Optional[str] = None, progress: Optional[Progress] = None,
         insecure_registries: Sequence[str] = (), ca_file: Optional[PathLike] = None, username: Optional[str] = None,
         password: Optional[str] = None, credentials_registry: Optional[str] = None, use_config_files: bool = True,
         request_timeout: Optional[float] = None, stall_timeout: Optional[float] = None) -> TransferResult:
    """Pulls ``reference`` into ``output`` (any destination form); with
    ``platform``, one platform of an index. Every digest is verified.
    Returns a :class:`TransferResult` with the reference and the digest
    written. ``progress`` is called as for :func:`push`. ``username``/``password``
    are for the registry host ``credentials_registry``, by default the
    reference's. Timeouts as for :func:`push`."""
    opts = _registry(insecure_registries, ca_file, username, password, credentials_registry, use_config_files,
                     request_timeout, stall_timeout)
    return TransferResult(reference=reference, digest=str(_core.pull(reference, output, platform, opts, progress)))


def _path(p: Optional[PathLike]) -> Optional[str]:
    return None if p is None else os.fspath(p)


def verify(path: PathLike, platform: Optional[str] = None) -> Report:
    """Inspects the ELF binary at ``path`` and says whether it can run in a
    scratch image. With ``platform`` ("linux/arm64"), a binary for another
    platform is reported unfit. Raises NotFoundError, IoError or ElfError for
    bad input; an unfit binary is not an error (see ``Report.problems``)."""
    return _core.verify(os.fspath(path), platform)


def load_spec(crate: Optional[PathLike] = None, spec_file: Optional[PathLike] = None,
              overrides: Optional[Mapping[str, Any]] = None, *, use_cargo_metadata: bool = True,
              cargo: str = "cargo") -> Dict[str, Any]:
    """Resolves the image spec of ``crate`` (its Cargo.toml metadata and
    rustimg.json), ``spec_file`` and ``overrides`` (highest precedence), and
    returns it as a dict with every key. Raises SpecError listing every
    problem (``.diagnostics``)."""
    spec: Dict[str, Any] = _core.load_spec(_path(crate), _path(spec_file),
                                           dict(overrides) if overrides is not None else None, use_cargo_metadata,
                                           cargo)
    return spec


def build(*, crate: Optional[PathLike] = None, binary: Optional[PathLike] = None, output: str,
          platforms: Optional[Sequence[str]] = None, platform: Optional[str] = None, base: Optional[str] = None,
          bin: Optional[str] = None, package: Optional[str] = None, spec_file: Optional[PathLike] = None, overrides: Optional[Mapping[str, Any]] = None,
          allow_dynamic: bool = False, source_date_epoch: Optional[int] = None,
          progress: Optional[Progress] = None, push: Sequence[str] = (),
          insecure_registries: Sequence[str] = (), ca_file: Optional[PathLike] = None,
          username: Optional[str] = None, password: Optional[str] = None,
          credentials_registry: Optional[str] = None, use_config_files: bool = True,
          request_timeout: Optional[float] = None, stall_timeout: Optional[float] = None) -> BuildResult:
    """Builds an image and writes it to ``output`` ("oci:DIR[:TAG]",
    "oci-archive:FILE[:TAG]", "docker-archive:FILE[:NAME:TAG]", or a registry,
    "docker://HOST/REPO:TAG", which receives each layer while it is written;
    ``pushed`` then names it).

    Give ``crate`` to build a crate with cargo for every platform of its spec
    (``platforms`` overrides them), or ``binary`` for a prebuilt binary
    (``platform`` names its platform; default: read from the ELF header).
    ``base``, ``bin`` (the cargo bin target), ``package`` (the workspace
    member) and ``overrides`` override the spec. ``progress(stage, message)``
    is called for every step; an exception it raises cancels the build and
    propagates unchanged, and so does Ctrl-C. A cancelled build leaves no
    output. The GIL is released while building, so other threads run.
    ``push=`` references are pushed after the build (see :func:`push`).
    ``insecure_registries``, ``ca_file`` and ``use_config_files`` reach the
    registry of an image ``base`` (pulled for the build) and the ``push=``
    targets; ``username``/``password`` reach only the registry host
    ``credentials_registry``, by default the ``push=`` targets' one, and
    without ``push=`` the base's; so do the timeouts of :func:`push`."""
    merged: Dict[str, Any] = dict(overrides or {})
    if platforms is not None:
        if binary is not None:
            raise InvalidArgumentError("platforms= is for crate builds; give a prebuilt binary's platform with platform=")
        merged["platforms"] = list(platforms)
    for key, value in (("base", base), ("bin", bin), ("package", package)):
        if value is not None:
            merged[key] = value
    targets = list(push) + ([output[len("docker://"):]] if output.startswith("docker://") else [])
    if targets and credentials_registry is None and (username is not None or password is not None):
        credentials_registry = _core.push_registry(targets, "credentials_registry=HOST")
    registry = _registry(insecure_registries, ca_file, username, password, credentials_registry, use_config_files,
                         request_timeout, stall_timeout)
    raw = _core.build(_path(crate), _path(binary), platform, _path(spec_file), merged or None, output,
                      allow_dynamic, source_date_epoch, progress, registry, list(push))
    return BuildResult(digest=raw["digest"], media_type=raw["media_type"], size=raw["size"],
                       reports=raw["reports"], output=output,
                       pushed=[TransferResult._from_core(p) for p in raw["pushed"]])
