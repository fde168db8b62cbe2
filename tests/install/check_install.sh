#!/usr/bin/env bash
# Installs the build into a temporary prefix, then builds programs against
# it through the CMake package (C library, C++ core) and through pkg-config
# (shared and static C library), and runs them.
set -euo pipefail
build=$1 src=$2
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
fail() { echo "install: $*" >&2; exit 1; }
cmake --install "$build" --prefix "$prefix/usr" >/dev/null
lib="$prefix/usr/lib"
# `cargo rustimg ...` runs cargo-rustimg with "rustimg" first: the installed link to the CLI.
if [ -e "$prefix/usr/bin/rustimg" ]; then
  "$prefix/usr/bin/cargo-rustimg" rustimg version | grep -q '^rustimg ' ||
    fail "cargo-rustimg is not installed beside rustimg"
fi
# The project's warning flags are its own business, not its users'.
! grep -rl rustimg_flags "$lib/cmake/rustimg" ||
  fail "the installed CMake package names the internal target rustimg_flags"

# A C-only user needs none of the C++ core's -dev packages: hide them all
# (CMake packages, pkg-config) and it still configures, builds and runs.
hidden=(-DCMAKE_PREFIX_PATH="$prefix/usr" -DCMAKE_DISABLE_FIND_PACKAGE_OpenSSL=ON -DCMAKE_DISABLE_FIND_PACKAGE_ZLIB=ON
  -DCMAKE_DISABLE_FIND_PACKAGE_nlohmann_json=ON -DCMAKE_DISABLE_FIND_PACKAGE_PkgConfig=ON)
PKG_CONFIG_LIBDIR=/nonexistent PKG_CONFIG_PATH= cmake --no-warn-unused-cli -S "$src/c_consumer" -B "$prefix/c_consumer" \
  "${hidden[@]}" >/dev/null ||
  fail "find_package(rustimg) fails for a C-only user without the C++ core's dependencies"
# The same user asking for the core as an optional component: the package is
# still found, and the configure output says which dependencies the core lacks.
optional=$(PKG_CONFIG_LIBDIR=/nonexistent PKG_CONFIG_PATH= cmake --no-warn-unused-cli -S "$src/c_consumer" \
  -B "$prefix/c_consumer_optional" "${hidden[@]}" -DOPTIONAL_CORE=ON 2>&1) ||
  fail "find_package(rustimg OPTIONAL_COMPONENTS core) fails without the core's dependencies:"$'\n'"$optional"
[[ $optional == *"needs nlohmann_json, OpenSSL, ZLIB, PkgConfig, which were not found"* ]] ||
  fail "find_package(rustimg OPTIONAL_COMPONENTS core) does not name the missing packages:"$'\n'"$optional"
cmake --build "$prefix/c_consumer" >/dev/null
expected=$(LD_LIBRARY_PATH="$lib" "$prefix/c_consumer/c_consumer" "$prefix/c_consumer/c_consumer")
[[ $expected == *" dynamic" ]] || fail "C consumer printed '$expected'"

# A C++ user that sets no C++ standard of its own.
cmake -S "$src/cxx_consumer" -B "$prefix/cxx_consumer" -DCMAKE_PREFIX_PATH="$prefix/usr" >/dev/null
cmake --build "$prefix/cxx_consumer" >/dev/null ||
  fail "a C++ consumer of rustimg::rustimg_core that sets no C++ standard does not build"
platform=$("$prefix/cxx_consumer/cxx_consumer")
[[ $platform == "linux/arm64 linux/"?* ]] || fail "C++ consumer printed '$platform'"

export PKG_CONFIG_PATH="$lib/pkgconfig"
cc $(pkg-config --cflags rustimg) "$src/c_consumer/main.c" -o "$prefix/pc_consumer" $(pkg-config --libs rustimg)
[ "$(LD_LIBRARY_PATH="$lib" "$prefix/pc_consumer" "$prefix/pc_consumer")" = "$expected" ] ||
  fail "the pkg-config (rustimg) consumer printed something else than the CMake one"

# The static library: a program that needs no librustimg.so at run time.
[ -f "$lib/librustimg.a" ] || fail "librustimg.a is not installed"
cc $(pkg-config --cflags rustimg-static) "$src/c_consumer/main.c" -o "$prefix/static_consumer" \
  $(pkg-config --libs rustimg-static)
! ldd "$prefix/static_consumer" | grep librustimg ||
  fail "a program linked through pkg-config rustimg-static needs librustimg.so"
[ "$("$prefix/static_consumer" "$prefix/static_consumer")" = "$expected" ] ||
  fail "the pkg-config (rustimg-static) consumer printed something else than the CMake one"
# ... and calls libcurl directly, not through dlopen (a static program cannot).
nm "$lib/librustimg.a" 2>/dev/null | grep ' U curl_easy_perform$' >/dev/null ||
  fail "librustimg.a does not link libcurl (built without RUSTIMG_CURL_LINKED?)"
echo "install: CMake (C, C++) and pkg-config (shared, static) consumers work (${expected% *})"
