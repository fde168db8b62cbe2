import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture(scope="session", autouse=True)
def base_cache(tmp_path_factory):
    """Image bases are cached in a directory of the session, not the user's."""
    mp = pytest.MonkeyPatch()
    mp.setenv("RUSTIMG_CACHE_DIR", str(tmp_path_factory.mktemp("base-cache")))
    yield
    mp.undo()


@pytest.fixture(scope="session")
def elf_fixtures(tmp_path_factory) -> Path:
    """Real ELF binaries made by the project's fixture script (gcc, cross binutils)."""
    out = tmp_path_factory.mktemp("elf")
    subprocess.run([str(FIXTURES / "elf" / "make_fixtures.sh"), str(out)], check=True, capture_output=True)
    return out
