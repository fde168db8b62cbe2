"""rustimg: minimal, reproducible OCI images from Rust crates, in-process.

    import rustimg

    report = rustimg.verify("target/x86_64-unknown-linux-gnu/release/app")
    if not report.fit_for_scratch:
        print(report.problems)

    spec = rustimg.load_spec(crate=".", overrides={"platforms": ["linux/arm64"]})

    result = rustimg.build(crate=".", output="oci:out/app:v1")
    for pushed in rustimg.push("oci:out/app:v1", "ghcr.io/me/app:v1"):
        print(pushed.reference, pushed.blobs_uploaded)

    # Composition: layers and images as immutable values.
    layer = (rustimg.LayerBuilder()
             .add_file("/usr/local/bin/app", "target/release/app")
             .add_bytes("/etc/app.toml", b"port = 8080\\n", mode=0o640, uid=65532, gid=65532)
             .build())
    with rustimg.Image.pull("gcr.io/distroless/static:nonroot", "linux/amd64") as base:
        image = base.append(layer, "app").with_config(entrypoint=["/usr/local/bin/app"], env={"PORT": "8080"})
    image.write("docker://ghcr.io/me/app:v1")

Errors are subclasses of :class:`rustimg.Error` (see rustimg._errors).
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, TypeVar, Union

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
    "Signature", "sign", "verify_image", "verify_attestations",
    "Image", "Index", "Layer", "LayerBuilder",
]

#: A progress callback: called with (stage, message), e.g. ("cargo", "Compiling app v0.1.0")
#: or, for a push or pull, ("uploading", "uploading sha256:... 1048576/2097152"). An
#: exception it raises cancels the call and propagates unchanged; its return value is ignored.
Progress = Callable[[str, str], None]


@dataclass(frozen=True)
class TransferResult:
    """What :func:`push` did for one reference, what :func:`pull` fetched, or
    what :meth:`Image.write` / :meth:`Index.write` wrote: the same fields as
    the Go binding's ``TransferResult``.

    Attributes:
        reference: "host/repo:tag@sha256:..." for a push or a write to a
            registry (what ``rustimg push`` prints); the reference as given
            for a pull, the destination as given for a local write.
        digest: The digest of the manifest or index, "sha256:...".
        blobs_uploaded: Blobs sent to the registry (0 for a pull or a local write).
        blobs_mounted: Blobs mounted from another repository of the registry
            (the image's base) instead of uploaded (0 for a pull or a local write).
        blobs_existing: Blobs the registry already had, so not sent (0 for a
            pull or a local write).
        bytes_uploaded: Bytes of blob data sent (0 for a pull or a local write).
        referrers: The artifacts pushed with the image (its SBOMs and
            provenance), each a dict {"digest", "subject", "artifact_type",
            "via": "referrers-api" or "tag-schema"}; empty for a pull.
        signatures: The cosign signature and attestation images an OCI
            layout held about the image (see :func:`sign`), pushed with it:
            "host/repo:sha256-<hex>.sig@sha256:..."; empty for a pull.
    """

    reference: str
    digest: str
    blobs_uploaded: int = 0
    blobs_mounted: int = 0
    blobs_existing: int = 0
    bytes_uploaded: int = 0
    referrers: Tuple[Dict[str, str], ...] = ()
    signatures: Tuple[str, ...] = ()

    @classmethod
    def _from_core(cls, raw: Mapping[str, Any]) -> "TransferResult":
        return cls(reference=raw["reference"], digest=raw["digest"], blobs_uploaded=raw["blobs_uploaded"],
                   blobs_mounted=raw["blobs_mounted"], blobs_existing=raw["blobs_existing"],
                   bytes_uploaded=raw["bytes_uploaded"],
                   referrers=tuple(dict(r) for r in raw.get("referrers", ())),
                   signatures=tuple(raw.get("signatures", ())))


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
        signed: With ``sign_key=``: the signatures, then the attestations,
            made for each push, in order.
        beside: For an archive output, the SBOM and provenance files
            written beside it (an archive cannot carry them).
    """

    digest: str
    media_type: str
    size: int
    reports: List[Report]
    output: str
    pushed: List[TransferResult]
    signed: List["Signature"] = field(default_factory=list)
    beside: List[str] = field(default_factory=list)


def _type_name(value: object) -> str:
    return type(value).__name__


def _list(name: str, value: Iterable[Any], example: str) -> List[Any]:
    # A str is iterable too: entrypoint="/app" would become ["/", "a", "p", "p"]
    # and ports="8080" ["8", "0", "8", "0"]. The items are checked by the core.
    if isinstance(value, (str, bytes, bytearray)):
        raise TypeError(f"{name}= takes a list, e.g. [{value!r}], not a {_type_name(value)}")
    if isinstance(value, Mapping) or not isinstance(value, Iterable):
        raise TypeError(f"{name}= takes a list, e.g. {example}, not {_type_name(value)}")
    return list(value)


def _registry(insecure_registries: Sequence[str], ca_file: Optional[PathLike], username: Optional[str],
              password: Optional[str], credentials_registry: Optional[str], use_config_files: bool,
              request_timeout: Optional[float], stall_timeout: Optional[float]) -> Any:
    # Every argument is checked here, and a TypeError names the argument and
    # the type given, never the value: pybind11's own TypeError lists every
    # argument it was "Invoked with", the password included.
    hosts = _list("insecure_registries", insecure_registries, '["127.0.0.1:5000"]')
    if not all(isinstance(h, str) for h in hosts):
        raise TypeError("insecure_registries= takes a list of registry hosts (str), e.g. [\"127.0.0.1:5000\"]")
    if ca_file is not None and not isinstance(ca_file, (str, os.PathLike)):
        raise TypeError(f"ca_file= takes a path (str or os.PathLike) or None, not {_type_name(ca_file)}")
    for name, text in (("username", username), ("password", password), ("credentials_registry", credentials_registry)):
        if text is not None and not isinstance(text, str):
            raise TypeError(f"{name}= takes a str or None, not {_type_name(text)}")
    if not isinstance(use_config_files, bool):
        raise TypeError(f"use_config_files= takes True or False, not {_type_name(use_config_files)}")
    for name, seconds in (("request_timeout", request_timeout), ("stall_timeout", stall_timeout)):
        if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, (int, float))):
            raise TypeError(f"{name}= takes seconds (a number) or None, not {_type_name(seconds)}")
    ca = _path(ca_file) or ""
    if not isinstance(ca, str):  # os.fspath of a bytes path
        raise TypeError("ca_file= takes a str path, not bytes")
    try:
        return _core.registry_options(hosts, ca, username, password, credentials_registry,
                                      use_config_files, request_timeout, stall_timeout)
    except TypeError:
        pass  # raised below, outside this handler: not even __context__ keeps pybind11's text
    raise TypeError("the registry options (insecure_registries=, ca_file=, username=, password=, "
                    "credentials_registry=, use_config_files=, request_timeout=, stall_timeout=) have a wrong "
                    "type") from None


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


@dataclass(frozen=True)
class Signature:
    """A manifest :func:`sign` signed, or a valid signature :func:`verify_image` found.

    Attributes:
        digest: The manifest or index signed, "sha256:...".
        signature: Where its signatures are kept:
            "host/repo:sha256-<hex>.sig@sha256:...".
        identity: The repository the signed payload names ("host/repo").
        predicate_type: For an attestation ``build(sign_key=)`` added (the
            SBOM or provenance it pushed, in the "sha256-<hex>.att" image),
            the statement's predicate type; "" for a signature.
    """

    digest: str
    signature: str
    identity: str
    predicate_type: str = ""


def sign(reference: str, key: PathLike, *, key_password_env: Optional[str] = None, identity: Optional[str] = None,
         attest: bool = False, insecure_registries: Sequence[str] = (), ca_file: Optional[PathLike] = None,
         username: Optional[str] = None, password: Optional[str] = None, credentials_registry: Optional[str] = None,
         use_config_files: bool = True, request_timeout: Optional[float] = None,
         stall_timeout: Optional[float] = None) -> List[Signature]:
    """Signs the image ``reference`` ("host/repo:tag" or "host/repo@sha256:...")
    in its registry as ``cosign sign --key`` does (see ``rustimg sign``): its
    digest and, for an index, every platform's manifest; ``cosign verify``
    accepts the result. ``key`` is a PEM ECDSA P-256 private key file or
    cosign's own ``cosign.key``; an encrypted one is opened with the
    passphrase in the environment variable ``key_password_env`` (default
    ``COSIGN_PASSWORD``). ``reference`` may be an image in an OCI layout,
    "oci:DIR:TAG": its signatures are tagged in the layout (``push`` carries
    them to the registry), and ``identity``, the repository it will be pushed
    to ("host/repo"), is required; the payload names ``identity`` (default:
    the image's own repository). With ``attest``, the SBOMs and provenance
    attached to the image are also attested as ``cosign attest --key`` does
    (``rustimg sign --attest``); an artifact that fails a check is passed
    over with a :class:`RuntimeWarning` saying why. Returns one
    :class:`Signature` per manifest signed, the top one first, then one per
    statement attested (``predicate_type`` set). Registry arguments as for
    :func:`push`. Raises InvalidArgumentError for an unreadable key or a
    wrong passphrase (never naming it), UnsupportedError for a key that is
    not P-256, RegistryError or AuthError."""
    options = _registry(insecure_registries, ca_file, username, password, credentials_registry, use_config_files,
                        request_timeout, stall_timeout)
    outcome = _core.sign(reference, os.fspath(key), key_password_env or "", identity or "", attest, options)
    for why in outcome.get("skipped", ()):
        warnings.warn(f"not attested: {why}", RuntimeWarning, stacklevel=2)
    return [Signature(**s) for s in (*outcome["signed"], *outcome.get("attested", ()))]


def verify_image(reference: str, public_key: PathLike, *, insecure_registries: Sequence[str] = (),
                 ca_file: Optional[PathLike] = None, username: Optional[str] = None, password: Optional[str] = None,
                 credentials_registry: Optional[str] = None, use_config_files: bool = True,
                 request_timeout: Optional[float] = None, stall_timeout: Optional[float] = None) -> List[Signature]:
    """Checks the image ``reference`` (in a registry, or "oci:DIR:TAG") as
    ``cosign verify --key`` does, without a transparency log: at least one signature by the PEM public key in
    ``public_key`` (cosign.pub works) names its digest. Returns the valid
    signatures; raises VerifyError saying why when there is none (no
    signatures, another key, a payload for another image or changed after
    signing), InvalidArgumentError for a signature image that is malformed
    or beyond rustimg's bounds. Registry arguments as for :func:`push`."""
    options = _registry(insecure_registries, ca_file, username, password, credentials_registry, use_config_files,
                        request_timeout, stall_timeout)
    return [Signature(**s) for s in _core.verify_image(reference, os.fspath(public_key), None, options)]


def verify_attestations(reference: str, public_key: PathLike, attestation_type: str, *, insecure_registries: Sequence[str] = (),
                        ca_file: Optional[PathLike] = None, username: Optional[str] = None,
                        password: Optional[str] = None, credentials_registry: Optional[str] = None,
                        use_config_files: bool = True, request_timeout: Optional[float] = None,
                        stall_timeout: Optional[float] = None) -> List[Dict[str, Any]]:
    """Checks the attestations of ``reference`` as ``cosign verify-attestation
    --key --type TYPE`` does: ``attestation_type`` is cosign's name ("slsaprovenance1",
    "spdxjson", "cyclonedx", ...) or a predicate type URI. Returns each valid
    in-toto statement (signed by ``public_key``, of that type, with the
    image's digest as subject) as a dict; raises VerifyError when there is
    none, InvalidArgumentError for an unknown type."""
    options = _registry(insecure_registries, ca_file, username, password, credentials_registry, use_config_files,
                        request_timeout, stall_timeout)
    statements: List[Dict[str, Any]] = _core.verify_image(reference, os.fspath(public_key), attestation_type,
                                                                options)
    return statements


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
          sbom: Optional[str] = None, provenance: Optional[bool] = None, sign_key: Optional[PathLike] = None,
          key_password_env: Optional[str] = None, base_key: Optional[PathLike] = None, allow_dynamic: bool = False,
          source_date_epoch: Optional[int] = None, progress: Optional[Progress] = None, push: Sequence[str] = (),
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
    member), ``sbom`` ("spdx", the default, "cyclonedx" or "none": the SBOM
    attached to each platform image of an "oci:" or registry output, or
    written beside an archive output as ARCHIVE.spdx.json / .cdx.json, listed
    in ``beside``), ``provenance`` (True, the default, or False: the SLSA
    provenance of each image cargo built, attached or beside an archive as
    ARCHIVE.provenance.json) and ``overrides`` override the spec. ``progress(stage, message)``
    is called for every step; an exception it raises cancels the build and
    propagates unchanged, and so does Ctrl-C. A cancelled build leaves no
    output. The GIL is released while building, so other threads run.
    ``push=`` references are pushed after the build (see :func:`push`);
    with ``sign_key`` (an ECDSA P-256 key, PEM or cosign.key, its passphrase in
    ``key_password_env``, default ``COSIGN_PASSWORD``; read before anything
    is built) each pushed image is then signed as :func:`sign` does and the
    SBOM and provenance this build pushed with it attested, as ``cosign
    attest`` does (``signed``); a build that pushes nothing is refused before
    it starts.
    ``base_key`` (a PEM public key file, e.g. cosign.pub) requires the image
    ``base`` (a registry reference) to carry a signature by that key, checked
    as :func:`verify_image` does before anything of the base is pulled; an
    unsigned base, or one signed by another key, raises :class:`VerifyError`
    saying why. It wins over the spec's "base-key".
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
    for key, value in (("base", base), ("bin", bin), ("package", package), ("sbom", sbom),
                       ("provenance", provenance)):
        if value is not None:
            merged[key] = value
    targets = list(push) + ([output[len("docker://"):]] if output.startswith("docker://") else [])
    if targets and credentials_registry is None and (username is not None or password is not None):
        credentials_registry = _core.push_registry(targets, "credentials_registry=HOST")
    registry = _registry(insecure_registries, ca_file, username, password, credentials_registry, use_config_files,
                         request_timeout, stall_timeout)
    raw = _core.build(_path(crate), _path(binary), platform, _path(spec_file), merged or None, output,
                      allow_dynamic, source_date_epoch, progress, registry, list(push), _path(sign_key),
                      key_password_env or "", _path(base_key))
    return BuildResult(digest=raw["digest"], media_type=raw["media_type"], size=raw["size"],
                       reports=raw["reports"], output=output,
                       pushed=[TransferResult._from_core(p) for p in raw["pushed"]],
                       signed=[Signature(**s) for s in raw.get("signed", ())],
                       beside=list(raw.get("beside", ())))


# --- composition -------------------------------------------------------------

_V = TypeVar("_V", bound="_Value")


class _Value:
    """A compose value holding native state (blobs in a private temporary
    directory, a loaded or pulled image's source) until :meth:`close`.
    Values are equal, and hash alike, when they are of the same class and
    have the same :attr:`digest` (which says everything about them), also
    after :meth:`close`."""

    _kind = "value"

    def __init__(self, core: Any) -> None:
        self._core_value: Any = core
        self._digest = str(core.digest)  # for == and hash(), which must work after close()

    @property
    def digest(self) -> str:
        """The digest of the value's blob, "sha256:...": a layer's compressed
        tar, an image's manifest, an index's index."""
        return str(self._core.digest)

    @property
    def media_type(self) -> str:
        """The media type of that blob, e.g. "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.oci.image.manifest.v1+json"."""
        return str(self._core.media_type)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Value):
            return NotImplemented
        return type(self) is type(other) and self._digest == other._digest

    def __hash__(self) -> int:
        return hash((type(self), self._digest))

    @property
    def _core(self) -> Any:
        if self._core_value is None:
            raise InvalidArgumentError(
                f"this rustimg.{self._kind} was closed (close() or the end of its with block): "
                "use it before closing, or keep the value open while you need it")
        return self._core_value

    def close(self) -> None:
        """Releases this value's hold on its blobs now instead of when it is
        garbage-collected; values made from it keep theirs. Using the value
        afterwards raises InvalidArgumentError. Closing twice is harmless."""
        self._core_value = None

    def __enter__(self: _V) -> _V:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Layer(_Value):
    """A written layer: a compressed tar blob with its digests, made by
    :meth:`LayerBuilder.build` or :meth:`Layer.from_tar`. Immutable; the same
    entries and settings give the same digest in every language rustimg has."""

    _kind = "Layer"

    @classmethod
    def from_tar(cls, tar: PathLike, *, compression: str = "gzip", level: int = 0) -> "Layer":
        """An existing tar file (plain, gzip or zstd) as a layer, compressed
        with ``compression`` ("gzip", "zstd", "none") at ``level`` (0: the
        default). Each entry is written again with its name, type, mode,
        owner ids, whole-second mtime, link target and data, in the tar's
        order (user and group names, extended attributes and sub-second times
        are dropped), so a tar rustimg wrote keeps its ``diff_id``. The tar is
        checked as hostile input: absolute names, ``..``, links out of the
        tree, devices and duplicates raise InvalidArgumentError naming the
        entry."""
        return cls(_core.Layer.from_tar(os.fspath(tar), compression, level))

    @property
    def diff_id(self) -> str:
        """The digest of the uncompressed tar, "sha256:..."."""
        return str(self._core.diff_id)

    @property
    def size(self) -> int:
        """The size of the compressed blob in bytes."""
        return int(self._core.size)

    @property
    def uncompressed_size(self) -> int:
        """The size of the uncompressed tar in bytes."""
        return int(self._core.uncompressed_size)

    def __repr__(self) -> str:
        return f"<rustimg.Layer {self.digest}>" if self._core_value is not None else "<rustimg.Layer closed>"


class LayerBuilder:
    """Collects the entries of one layer, then :meth:`build` writes it. Paths
    in the image are absolute or relative to its root ("/etc//x" is "etc/x");
    ``..``, NUL and the root itself raise InvalidArgumentError, and so does a
    path added twice (except a directory: the later mode and owner win).
    Parent directories nobody adds are 0755 root:root. Host files are read
    when the layer is built. Every ``add_*`` returns the builder, to chain."""

    def __init__(self) -> None:
        self._core = _core.LayerBuilder()

    def add_file(self, path: str, host: PathLike, *, mode: Optional[int] = None, uid: int = 0,
                 gid: int = 0) -> "LayerBuilder":
        """The host file ``host`` at ``path``, owned by ``uid``/``gid``.
        ``mode`` None: 0o755 when the host file has any execute bit, else
        0o644. NotFoundError when it does not exist, InvalidArgumentError when
        it is not a regular file."""
        self._core.add_file(path, os.fspath(host), mode, uid, gid)
        return self

    def add_directory(self, path: str, *, mode: int = 0o755, uid: int = 0, gid: int = 0) -> "LayerBuilder":
        """A directory at ``path`` with ``mode``, owned by ``uid``/``gid``."""
        self._core.add_directory(path, mode, uid, gid)
        return self

    def add_tree(self, path: str, host: PathLike, *, uid: int = 0, gid: int = 0) -> "LayerBuilder":
        """What the host directory ``host`` holds, recursively, at ``path``
        ("/" for the root), owned by ``uid``/``gid``, with the host's execute
        bits; symlinks are kept, and one resolving outside ``host`` raises
        InvalidArgumentError (nothing of the tree is added)."""
        self._core.add_tree(path, os.fspath(host), uid, gid)
        return self

    def add_symlink(self, path: str, target: str, *, uid: int = 0, gid: int = 0) -> "LayerBuilder":
        """A symlink at ``path`` to ``target``, verbatim, owned by ``uid``/``gid``."""
        self._core.add_symlink(path, target, uid, gid)
        return self

    def add_bytes(self, path: str, data: Union[bytes, bytearray, memoryview], *, mode: int = 0o644, uid: int = 0,
                  gid: int = 0) -> "LayerBuilder":
        """A file at ``path`` holding ``data`` (bytes, bytearray or
        memoryview; TypeError for anything else, a str included: encode it,
        ``text.encode()``), with ``mode``, owned by ``uid``/``gid``."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            hint = ": encode text first, e.g. data.encode()" if isinstance(data, str) else ""
            raise TypeError(f"add_bytes() data= takes bytes, bytearray or memoryview, not {_type_name(data)}{hint}")
        self._core.add_bytes(path, bytes(data), mode, uid, gid)
        return self

    def build(self, *, compression: str = "gzip", level: int = 0, mtime: Optional[int] = None) -> Layer:
        """Writes the layer: entries in path order, every mtime ``mtime``
        (None: SOURCE_DATE_EPOCH, else 0), compressed with ``compression``
        ("gzip", "zstd", "none") at ``level`` (gzip 1..9, zstd 1..19; 0: the
        default). The builder is unchanged, so building again gives the same
        layer. The GIL is released while writing."""
        return Layer(self._core.build(compression, level, mtime))


class _Writable(_Value):
    """An Image or Index: what can be written to a destination."""

    def write(self, destination: str, *, progress: Optional[Progress] = None,
              insecure_registries: Sequence[str] = (), ca_file: Optional[PathLike] = None,
              username: Optional[str] = None, password: Optional[str] = None,
              credentials_registry: Optional[str] = None, use_config_files: bool = True,
              request_timeout: Optional[float] = None, stall_timeout: Optional[float] = None) -> TransferResult:
        """Writes the image (an index: it and every image) to ``destination``:
        "oci:DIR[:TAG]", "oci-archive:FILE[:TAG]", "docker-archive:FILE[:NAME:TAG]"
        (atomically: a failed write leaves nothing) or "docker://HOST/REPO:TAG"
        (a push; progress, credentials and timeouts as for :func:`push`).
        Returns a :class:`TransferResult`: ``digest`` is :attr:`digest`;
        ``reference`` is "HOST/REPO:TAG@sha256:..." for a registry, with its
        blob counts, else ``destination`` as given (counts 0).
        InvalidArgumentError for an image without layers, or an index to a
        docker-archive (it holds one platform). The GIL is released."""
        options = _registry(insecure_registries, ca_file, username, password, credentials_registry,
                            use_config_files, request_timeout, stall_timeout)
        return TransferResult._from_core(self._core.write(destination, options, progress))


class Image(_Writable):
    """One platform's image: config, manifest and layers. Immutable: every
    change (:meth:`append`, :meth:`with_config`, ...) returns a new Image,
    and copies share their blobs. Start from :meth:`scratch`,
    :meth:`builtin`, :meth:`load` or :meth:`pull`; :meth:`write` it anywhere.
    Changes keep what they do not name: a loaded or pulled image written
    unchanged keeps its digest, and config changes never touch a layer."""

    _kind = "Image"

    @classmethod
    def scratch(cls, platform: str, *, format: str = "oci") -> "Image":
        """An image without layers or config values for ``platform``
        ("linux/amd64"), in the "oci" or "docker" media type ``format``;
        created is SOURCE_DATE_EPOCH, else 0."""
        return cls(_core.Image.scratch(platform, format))

    @classmethod
    def builtin(cls, base: str, platform: str, *, ca_certificates: bool = True, tzdata: bool = False,
                compression: str = "gzip", level: int = 0, mtime: Optional[int] = None) -> "Image":
        """A built-in base, "scratch" or "static", exactly as :func:`build`
        makes it (the same base layer digest): with the host's CA bundle
        unless ``ca_certificates`` is False, zoneinfo with ``tzdata``; the
        layer written as :meth:`LayerBuilder.build` says. UnsupportedError
        for any other base (use :meth:`load` or :meth:`pull`)."""
        return cls(_core.Image.builtin(base, platform, ca_certificates, tzdata, compression, level, mtime))

    @classmethod
    def load(cls, location: str, platform: Optional[str] = None) -> "Image":
        """A local image, "oci:DIR[:TAG]", "oci-archive:FILE[:TAG]" or
        "docker-archive:FILE", every blob checked; from an index, the image
        for ``platform`` (None: the index's only one). NotFoundError or
        InvalidArgumentError list the platforms it has."""
        return cls(_core.Image.load(location, platform))

    @classmethod
    def pull(cls, reference: str, platform: str, *, progress: Optional[Progress] = None,
             insecure_registries: Sequence[str] = (), ca_file: Optional[PathLike] = None,
             username: Optional[str] = None, password: Optional[str] = None,
             credentials_registry: Optional[str] = None, use_config_files: bool = True,
             request_timeout: Optional[float] = None, stall_timeout: Optional[float] = None) -> "Image":
        """``reference``'s image for ``platform``, pulled (every digest
        verified) into a private temporary store that lives as long as the
        image and the images made from it. Progress, credentials and
        timeouts as for :func:`pull`. When written back to the same
        registry, its layers are mounted, not uploaded."""
        opts = _registry(insecure_registries, ca_file, username, password, credentials_registry, use_config_files,
                         request_timeout, stall_timeout)
        return cls(_core.Image.pull(reference, platform, opts, progress))

    def append(self, layer: Layer, created_by: str = "") -> "Image":
        """This image with ``layer`` on top (its media type mapped to this
        image's format) and a history entry ``created_by``."""
        return Image(self._core.append(layer._core, created_by))

    def with_config(self, *, entrypoint: Optional[Sequence[str]] = None, cmd: Optional[Sequence[str]] = None,
                    env: Optional[Mapping[str, str]] = None, user: Optional[str] = None,
                    workdir: Optional[str] = None, ports: Optional[Sequence[Union[int, str]]] = None,
                    labels: Optional[Mapping[str, str]] = None, stop_signal: Optional[str] = None,
                    healthcheck: Optional[Mapping[str, Any]] = None) -> "Image":
        """This image with its config changed; None leaves a field as it is.
        Each value means and is checked as the image spec's key of the same
        name in rustimg.json (``stop_signal`` is "stop-signal").
        ``entrypoint``, ``cmd``, ``user``, ``workdir`` and ``stop_signal``
        replace the image's; an empty one ([] or "") removes it. ``env`` and
        ``labels`` set each name given (an existing variable keeps its
        place); ``ports`` (8080, "8080", "53/udp") are added. ``healthcheck``
        replaces the image's and is the spec's object: {"test": ["CMD", ...],
        "interval": "30s", "timeout": "5s", "start-period": "1m", "retries": 3}
        (durations as "1m30s", "500ms"; {"test": ["NONE"]} turns it off). The
        config and manifest digests change, the layers never.
        InvalidArgumentError names each bad value by its key ("with_config():
        $.ports[0]: ..."); TypeError for a str where a list is expected."""
        changes: Dict[str, Any] = {}
        for key, command in (("entrypoint", entrypoint), ("cmd", cmd)):
            if command is not None:
                items = _list(key, command, '["/usr/local/bin/app"]')
                changes[key] = items or None  # null removes it
        for key, text in (("user", user), ("workdir", workdir), ("stop-signal", stop_signal)):
            if text is not None:
                changes[key] = text if text != "" else None  # null removes it
        for key, names in (("env", env), ("labels", labels)):
            if names is not None and not isinstance(names, Mapping):
                raise TypeError(f"{key}= takes a dict of str to str, not {_type_name(names)}")
            if names:
                changes[key] = dict(names)
        if ports is not None:
            port_list = _list("ports", ports, '[8080, "53/udp"]')
            if port_list:
                changes["ports"] = port_list
        if healthcheck is not None:
            if not isinstance(healthcheck, Mapping):
                raise TypeError(f"healthcheck= takes a dict, e.g. {{\"test\": [\"CMD\", \"/app\", \"--health\"]}}, "
                                f"not {_type_name(healthcheck)}")
            changes["healthcheck"] = dict(healthcheck)
        return Image(self._core.with_config(changes))

    def with_annotations(self, annotations: Mapping[str, str]) -> "Image":
        """This image with each of ``annotations`` set in its manifest
        (InvalidArgumentError for the Docker format: use labels)."""
        return Image(self._core.with_annotations(dict(annotations)))

    def with_created(self, seconds: int) -> "Image":
        """This image with the config's "created" set to ``seconds`` since the epoch."""
        return Image(self._core.with_created(seconds))

    @property
    def platform(self) -> str:
        """"os/arch[/variant]", e.g. "linux/amd64"."""
        return str(self._core.platform)

    @property
    def format(self) -> str:
        """The media type family: "oci" or "docker"."""
        return str(self._core.format)

    @property
    def config(self) -> Dict[str, Any]:
        """The config document as its blob holds it (a fresh dict: changing it changes nothing)."""
        config: Dict[str, Any] = self._core.config
        return config

    @property
    def layers(self) -> List[Dict[str, Any]]:
        """The layers' descriptors, bottom first: {"mediaType", "digest", "size"}."""
        layers: List[Dict[str, Any]] = self._core.layers
        return layers

    @property
    def annotations(self) -> Dict[str, str]:
        """The manifest's annotations."""
        return dict(self._core.annotations)

    def __repr__(self) -> str:
        return f"<rustimg.Image {self.platform} {self.digest}>" if self._core_value is not None \
            else "<rustimg.Image closed>"


class Index(_Writable):
    """Several platforms' images as one index (a multi-platform image), in
    the order given, with manifest ``annotations``. InvalidArgumentError when
    ``images`` is empty, two share a platform or their formats differ."""

    _kind = "Index"

    def __init__(self, images: Sequence[Image], annotations: Optional[Mapping[str, str]] = None) -> None:
        super().__init__(_core.Index([i._core for i in images], dict(annotations or {})))

    def __repr__(self) -> str:
        return f"<rustimg.Index {self.digest}>" if self._core_value is not None else "<rustimg.Index closed>"
