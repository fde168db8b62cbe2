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
  libcurl4-openssl-dev zlib1g-dev libzstd-dev libsodium-dev
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
  # cross gcc and static glibc for the arm64 and arm/v7 builds (tests/integration/test_multiarch.py;
  # the libc6-dev-*-cross are only Recommends, so they are named here)
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-arm-linux-gnueabihf libc6-dev-armhf-cross
  # musl-gcc: the C compiler the cc crate finds for x86_64 musl build scripts
  musl-tools
  python3 python3-jsonschema python3-cryptography
  # the Python wheel (scripts/build-wheel.sh): apt-get source libarchive, a
  # venv for its tools and for the test that installs the wheel
  dpkg-dev python3-venv
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

# Debian's source packages, for the libarchive scripts/build-wheel.sh builds
# into the Python wheel (apt-get source libarchive). Decided on what apt
# knows, not on whether the file exists, so that an update that failed is
# tried again on the next run; the line is added on Debian only. Without it
# setup goes on: only build-wheel.sh needs it, and it says so. (grep without
# -q reads all of apt-cache's output: no SIGPIPE failing the pipeline.)
deb_src=/etc/apt/sources.list.d/rustimg-deb-src.sources
has_libarchive_source() { apt-cache showsrc libarchive 2>/dev/null | grep '^Version:' >/dev/null; }
if [ "${RUSTIMG_SKIP_APT:-0}" != 1 ] && ! has_libarchive_source; then
  if [ "$(. /etc/os-release && echo "${ID:-}")" = debian ]; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
    { printf '%s\n' "Types: deb-src" "URIs: http://deb.debian.org/debian" "Suites: $codename $codename-updates" \
        "Components: main" "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" "" \
        "Types: deb-src" "URIs: http://deb.debian.org/debian-security" "Suites: $codename-security" \
        "Components: main" "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" |
        $SUDO tee "$deb_src.tmp" >/dev/null &&
      $SUDO mv "$deb_src.tmp" "$deb_src" && $SUDO apt-get update -qq; } || true
  fi
  has_libarchive_source || echo "setup: warning: apt knows no source package libarchive, which" \
    "scripts/build-wheel.sh builds into the Python wheel: add a deb-src line for your distribution and" \
    "run apt-get update (on Debian setup writes $deb_src: see apt's error above)" >&2
fi

# Run arm64 and arm/v7 binaries and images through qemu-user-static
# (binfmt_misc), as systemd-binfmt does at boot; as root, idempotent.
binfmt=/proc/sys/fs/binfmt_misc
if [ "$(id -u)" = 0 ]; then
  [ -e "$binfmt/register" ] || mount -t binfmt_misc binfmt_misc "$binfmt" ||
    echo "setup: cannot mount binfmt_misc; arm64/arm images will not run here" >&2
  for arch in aarch64 arm; do
    conf=/usr/lib/binfmt.d/qemu-$arch.conf
    if [ -e "$binfmt/register" ] && [ ! -e "$binfmt/qemu-$arch" ] && [ -e "$conf" ]; then
      grep -v -e '^#' -e '^$' "$conf" > "$binfmt/register" || echo "setup: cannot register qemu-$arch" >&2
    fi
  done
fi

# The integration suite runs under the python3 on PATH.
if ! python3 -c 'import pytest' >/dev/null 2>&1; then
  python3 -m pip install --quiet pytest
fi

if ! command -v go >/dev/null 2>&1; then
  echo "setup: go not found on PATH; the Go binding and its tests need Go" >&2
  exit 1
fi

# cosign, the consumer that checks rustimg's signatures (test_cosign_compat.py),
# from the Go module proxy into $(go env GOPATH)/bin, where the tests look.
cosign_version=v2.6.5
if ! "$(go env GOPATH)/bin/cosign" version 2>/dev/null | grep -q "GitVersion: *$cosign_version\$"; then
  echo "setup: installing cosign $cosign_version (go install)" >&2
  GOFLAGS=-mod=mod go install "github.com/sigstore/cosign/v2/cmd/cosign@$cosign_version"
fi

# The SBOM consumers (tests/integration/test_sbom.py): SPDX's own validator
# (pyspdxtools, PyPI spdx-tools), CycloneDX's JSON-schema validator (PyPI
# cyclonedx-python-lib) and oras, which finds OCI 1.1 referrers.
if ! python3 -c 'import spdx_tools, cyclonedx.validation.json, jsonschema' >/dev/null 2>&1; then
  python3 -m pip install --quiet spdx-tools 'cyclonedx-python-lib[json-validation]'
fi
oras_version=1.3.6
if ! "$(go env GOPATH)/bin/oras" version 2>/dev/null | grep -q "^Version: *$oras_version\$"; then
  echo "setup: installing oras v$oras_version (go install)" >&2
  GOFLAGS=-mod=mod go install "oras.land/oras/cmd/oras@v$oras_version"
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found on PATH; install Rust (rustup) first" >&2
  exit 1
fi

# Rust targets of the multi-arch tests (test_multiarch.py). Rust 1.95's std
# for armv7-unknown-linux-musleabihf is not served by every rustup mirror, so
# the musl index is built with 1.93.0, which has all three musl targets.
# Keep aarch64-unknown-linux-gnu out of 1.93.0: test_cross.py pins it to see
# a missing target fail before cargo.
if command -v rustup >/dev/null 2>&1; then
  # Only when missing: each rustup call below goes to the network.
  installed=$(rustup target list --installed 2>/dev/null || true)
  for t in aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf x86_64-unknown-linux-musl \
    aarch64-unknown-linux-musl; do
    if ! grep -qx "$t" <<<"$installed"; then
      rustup target add aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf x86_64-unknown-linux-musl \
        aarch64-unknown-linux-musl >/dev/null
      break
    fi
  done
  rustup +1.93.0 target list --installed 2>/dev/null | grep -qx armv7-unknown-linux-musleabihf ||
    rustup toolchain install 1.93.0 --profile minimal \
      --target x86_64-unknown-linux-musl,aarch64-unknown-linux-musl,armv7-unknown-linux-musleabihf >/dev/null
fi

preset=${RUSTIMG_PRESET:-dev}
cd "$here"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
