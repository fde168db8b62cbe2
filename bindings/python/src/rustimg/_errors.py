"""The exception tree of rustimg.

Every error rustimg raises is a :class:`Error`; subclasses say what failed and
also derive from the builtin exception a Python caller would expect (a spec
error is a ``ValueError``, a missing file a ``FileNotFoundError``), so
existing ``except`` clauses keep working.
"""
from __future__ import annotations

from typing import List, Optional


class Error(Exception):
    """Base class of every rustimg error. ``code`` is the stable class name
    ("spec", "elf", "cargo", ...), ``message`` the full text."""

    code: str = "generic"

    def __init__(self, message: str, *args: object) -> None:
        super().__init__(message, *args)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidArgumentError(Error, ValueError):
    """A malformed argument: an image reference, a platform, an option."""

    code = "invalid_argument"


class NotFoundError(Error, FileNotFoundError):
    """A named file, package, bin or image does not exist."""

    code = "not_found"


class IoError(Error, OSError):
    """Reading or writing a file failed."""

    code = "io"


class SpecError(Error, ValueError):
    """The image spec is invalid. ``diagnostics`` lists every problem, each
    naming its source and JSON path."""

    code = "spec"

    def __init__(self, message: str, diagnostics: Optional[List[str]] = None) -> None:
        super().__init__(message)
        self.diagnostics: List[str] = list(diagnostics or [])


class ElfError(Error, ValueError):
    """The input is not a readable ELF file."""

    code = "elf"


class VerifyError(Error):
    """A binary is not fit for the image it was meant for."""

    code = "verify"


class CargoError(Error):
    """cargo failed. ``exit_code``, ``diagnostics`` (the rendered errors) and
    ``stderr_tail`` tell why."""

    code = "cargo"

    def __init__(self, message: str, exit_code: int = -1, diagnostics: str = "", stderr_tail: str = "") -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.diagnostics = diagnostics
        self.stderr_tail = stderr_tail


class RegistryError(Error):
    """The registry refused or failed a request. ``http_status`` is 0 when no
    HTTP answer came (DNS, refused connection, TLS); ``registry_code`` is the
    registry's own code ("UNAUTHORIZED", "BLOB_UNKNOWN"...), "" when none."""

    code = "registry"

    def __init__(self, message: str, http_status: int = 0, registry_code: str = "") -> None:
        super().__init__(message)
        self.http_status = http_status
        self.registry_code = registry_code


class AuthError(RegistryError, PermissionError):
    """Authentication with a registry failed."""

    code = "auth"


class CancelledError(Error):
    """The operation was cancelled (by a progress callback)."""

    code = "cancelled"


class UnsupportedError(Error, ValueError):
    """Valid input that rustimg does not handle (e.g. an unsupported platform)."""

    code = "unsupported"


_BY_CODE = {cls.code: cls for cls in (
    Error, InvalidArgumentError, NotFoundError, IoError, SpecError, ElfError, VerifyError,
    CargoError, RegistryError, AuthError, CancelledError, UnsupportedError)}


def _class_for(code: str) -> type:
    """Used by the C++ module to pick the class for an error code."""
    return _BY_CODE.get(code, Error)
