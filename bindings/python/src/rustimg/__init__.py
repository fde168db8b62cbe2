"""rustimg: minimal, reproducible OCI images from Rust crates, in-process.

    import rustimg

    report = rustimg.verify("target/x86_64-unknown-linux-gnu/release/app")
    if not report.fit_for_scratch:
        print(report.problems)

    spec = rustimg.load_spec(crate=".", overrides={"platforms": ["linux/arm64"]})

Errors are subclasses of :class:`rustimg.Error` (see rustimg._errors).
"""
from __future__ import annotations

import os
from typing import Any, Dict, Mapping, Optional, Union

from . import _core
from ._core import Report
from ._errors import (AuthError, CancelledError, CargoError, ElfError, Error, InvalidArgumentError, IoError,
                      NotFoundError, RegistryError, SpecError, UnsupportedError, VerifyError)

__version__: str = _core.__version__

PathLike = Union[str, "os.PathLike[str]"]

__all__ = [
    "AuthError", "CancelledError", "CargoError", "ElfError", "Error", "InvalidArgumentError", "IoError",
    "NotFoundError", "RegistryError", "Report", "SpecError", "UnsupportedError", "VerifyError",
    "load_spec", "verify", "__version__",
]


def _path(p: Optional[PathLike]) -> Optional[str]:
    return None if p is None else os.fspath(p)


def verify(path: PathLike, platform: Optional[str] = None) -> Report:
    """Inspects the ELF binary at ``path`` and says whether it can run in a
    scratch image. With ``platform`` ("linux/arm64"), a binary for another
    platform is reported unfit. Raises NotFoundError, IoError or ElfError for
    bad input; an unfit binary is not an error (see ``Report.problems``)."""
    return _core.verify(_path(path), platform)


def load_spec(crate: Optional[PathLike] = None, spec_file: Optional[PathLike] = None,
              overrides: Optional[Mapping[str, Any]] = None, *, use_cargo_metadata: bool = True,
              cargo: str = "cargo") -> Dict[str, Any]:
    """Resolves the image spec of ``crate`` (its Cargo.toml metadata and
    rustimg.json), ``spec_file`` and ``overrides`` (highest precedence), and
    returns it as a dict with every key. Raises SpecError listing every
    problem (``.diagnostics``)."""
    return _core.load_spec(_path(crate), _path(spec_file), dict(overrides) if overrides is not None else None,
                           use_cargo_metadata, cargo)
