#!/usr/bin/env bash
# Builds the libFuzzer targets (CMake preset "fuzz": clang, ASan+UBSan) and
# fuzzes the ELF reader, seeded with the real ELF fixtures.
#
#   scripts/fuzz.sh                     fuzz for 60 seconds
#   RUSTIMG_FUZZ_SECONDS=600 scripts/fuzz.sh
#
# Exits non-zero when the build fails or the fuzzer finds a crash, a leak,
# a timeout or an out-of-memory; the reproducer is left in build-fuzz/findings/.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --target fuzz_elf

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
seeds="$tmp/seeds"
corpus="$tmp/corpus"
mkdir -p "$seeds" "$corpus" build-fuzz/findings
tests/fixtures/elf/make_fixtures.sh "$seeds"

build-fuzz/bin/fuzz_elf \
  -max_total_time="${RUSTIMG_FUZZ_SECONDS:-60}" \
  -rss_limit_mb=2048 \
  -timeout=10 \
  -print_final_stats=1 \
  -artifact_prefix="$here/build-fuzz/findings/" \
  "$corpus" "$seeds"
