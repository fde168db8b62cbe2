#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what is missing,
# builds, then runs
#   1. unit tests, C ABI tests and the integration suite (real cargo, real
#      readelf/file, real registry/podman/skopeo/umoci tools)   [dev build]
#   2. unit and C ABI tests again under AddressSanitizer + UBSan [asan build]
#   3. the Python binding (pip install + pytest) and the Go binding (go vet,
#      go test -race) over the dev build; one image composed from C, Python
#      and Go (tests/integration/test_compose_languages.py); the Python sdist
#      and manylinux wheel (scripts/build-wheel.sh), installed in a clean venv
#   4. every fuzz target (ELF, headers, references, specs, cargo metadata,
#      OCI documents, registry pulls, archives) for a bounded time under
#      ASan+UBSan, about 4 minutes in all                       [fuzz build]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
echo "== tests (dev build)" >&2
ctest --preset dev

echo "== unit and C ABI tests under ASan+UBSan" >&2
RUSTIMG_SKIP_APT=1 RUSTIMG_PRESET=asan scripts/setup.sh
ASAN_OPTIONS=detect_leaks=1 ctest --preset asan -E "integration|install"

echo "== Python binding" >&2
python3 -m pip install --quiet mypy
# Only the extension and the static core are built (issue 15, item 3): no
# C library, no CLI in the build directory it keeps.
python3 -m pip install --quiet ./bindings/python --config-settings=build-dir="$PWD/build-python"
extra=$(find build-python -name 'librustimg.so*' -o -name 'rustimg' -type f -perm -u+x)
if [ -n "$extra" ]; then
  echo "test: pip install ./bindings/python built more than the extension:" $extra >&2
  exit 1
fi
python3 -m pytest -q bindings/python/tests
# one image composed from C, Python and Go: same digest, runs under podman and Docker
python3 -m pytest -q tests/integration/test_compose_languages.py
python3 -m mypy --strict examples/python/deploy.py
python3 -m mypy.stubtest rustimg._core --allowlist bindings/python/stubtest-allowlist.txt

echo "== Python packaging: the sdist, the wheel built from it, a clean venv" >&2
scripts/build-wheel.sh
python3 -m pytest -q tests/packaging

echo "== Go binding" >&2
(cd bindings/go && export PKG_CONFIG_PATH="$PWD/../../build" && go vet ./... && go test -race -count=1 ./...)
# the librustimg.a side (-tags rustimg_static) is linked and run by tests/integration/test_go_consumer.py
(cd bindings/go && export PKG_CONFIG_PATH="$PWD/../../build" && go vet -tags rustimg_static ./...)
(cd examples/go && export PKG_CONFIG_PATH="$PWD/../../build" && go vet ./... && go build -o /dev/null .)

echo "== fuzzing the readers of untrusted input" >&2
scripts/fuzz.sh
