"""Fixtures for the packaging tests: the sdist and wheel that
scripts/build-wheel.sh made, and a real registry from the integration suite."""
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORK = Path(os.environ.get("RUSTIMG_WHEEL_WORK", ROOT / "build-wheel"))
DIST = WORK / "dist"  # as scripts/build-wheel.sh writes it
TOOLS = WORK / "tools" / "bin"

# The real docker-registry on loopback, as the integration suite starts it.
sys.path.insert(0, str(ROOT / "tests" / "integration"))
from registries import registry_plain  # noqa: E402,F401  (a fixture)


def _one(pattern: str) -> Path:
    found = sorted(DIST.glob(pattern))
    if len(found) != 1:
        pytest.fail(f"expected one {pattern} in {DIST}, found {[p.name for p in found]}: "
                    "run scripts/build-wheel.sh first")
    return found[0]


@pytest.fixture(scope="session")
def sdist() -> Path:
    return _one("rustimg-*.tar.gz")


@pytest.fixture(scope="session")
def wheel() -> Path:
    return _one("rustimg-*.whl")


@pytest.fixture(scope="session")
def auditwheel() -> Path:
    exe = TOOLS / "auditwheel"
    if not exe.exists():
        pytest.fail(f"{exe} is missing: scripts/build-wheel.sh installs it")
    return exe
