#!/usr/bin/env bash
# One-shot, idempotent set-up: installs every Debian package rustimg and its
# tests need, then configures and builds the project into ./build.
#
#   scripts/setup.sh            install packages (if missing) and build
#   RUSTIMG_SKIP_APT=1 ...      build only
#   RUSTIMG_PRESET=asan ...     build with another CMake preset (default: dev)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

packages=(
  # toolchain and build dependencies
  build-essential cmake ninja-build pkg-config git
  libarchive-dev libssl-dev nlohmann-json3-dev libboost-test-dev
  libcurl4-openssl-dev zlib1g-dev libzstd-dev
  # static C libraries `rustimg verify` must recognise (tests/integration/test_linked_libraries.py)
  libsqlite3-dev
  libcli11-dev
  libtomlplusplus-dev
  # fuzzing (libFuzzer + sanitizer runtimes)
  clang libclang-rt-14-dev
  # ELF oracles and cross binutils for the non-x86 fixtures
  file binutils binutils-aarch64-linux-gnu binutils-arm-linux-gnueabihf
  binutils-riscv64-linux-gnu
  # image/registry oracles
  docker-registry podman runc skopeo umoci oci-image-tool
  # Docker Engine as a consumer (the tests start their own dockerd) and
  # qemu-user for running the arm64 images
  docker.io qemu-user-static
  python3 python3-jsonschema python3-cryptography
  ca-certificates tzdata time
)

missing=()
if [ "${RUSTIMG_SKIP_APT:-0}" != 1 ]; then
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Debian's docker-registry package starts a system service listening on
    # :5000; tests run their own registries on loopback, so keep it stopped.
    if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now docker-registry >/dev/null 2>&1 || true; fi
    pkill -f '^/usr/bin/docker-registry serve /etc/docker/registry' 2>/dev/null || true
  fi
fi

# The integration suite runs under the python3 on PATH.
if ! python3 -c 'import pytest' >/dev/null 2>&1; then
  python3 -m pip install --quiet pytest
fi

if ! command -v go >/dev/null 2>&1; then
  echo "setup: go not found on PATH; the Go binding and its tests need Go" >&2
  exit 1
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found on PATH; install Rust (rustup) first" >&2
  exit 1
fi

preset=${RUSTIMG_PRESET:-dev}
cd "$here"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
