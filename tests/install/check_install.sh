#!/usr/bin/env bash
# Installs the build into a temporary prefix, then builds programs against
# it through the CMake package (C library and C++ core) and through
# pkg-config, and runs them.
set -euo pipefail
build=$1 src=$2
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix/usr" >/dev/null
# `cargo rustimg ...` runs cargo-rustimg with "rustimg" first: the installed link to the CLI.
if [ -e "$prefix/usr/bin/rustimg" ]; then
  "$prefix/usr/bin/cargo-rustimg" rustimg version | grep -q '^rustimg ' ||
    { echo "cargo-rustimg is not installed beside rustimg" >&2; exit 1; }
fi
cmake -S "$src/consumer" -B "$prefix/consumer" -DCMAKE_PREFIX_PATH="$prefix/usr" >/dev/null
cmake --build "$prefix/consumer" >/dev/null
version=$(LD_LIBRARY_PATH="$prefix/usr/lib" "$prefix/consumer/c_consumer")
platform=$("$prefix/consumer/cxx_consumer")
[ "$platform" = linux/arm64 ] || { echo "C++ consumer printed '$platform'" >&2; exit 1; }
export PKG_CONFIG_PATH="$prefix/usr/lib/pkgconfig"
cc $(pkg-config --cflags rustimg) "$src/consumer/main.c" -o "$prefix/pc_consumer" $(pkg-config --libs rustimg)
[ "$(LD_LIBRARY_PATH="$prefix/usr/lib" "$prefix/pc_consumer")" = "$version" ]
echo "install: CMake package and pkg-config consumers work (rustimg $version)"
