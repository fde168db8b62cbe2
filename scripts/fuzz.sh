#!/usr/bin/env bash
# Builds the libFuzzer targets (CMake preset "fuzz": clang, ASan+UBSan) and
# runs each for a bounded time, seeded with small inputs: the real ELF
# fixtures, the committed seeds in tests/fuzz/seeds/<target>/ and the tar
# archives tests/fuzz/make_seeds.py generates.
#
#   scripts/fuzz.sh                          every target: ELF 60 s, the others 20 s each (under 4 min)
#   RUSTIMG_FUZZ_SECONDS=600 scripts/fuzz.sh every target for 600 s each
#   scripts/fuzz.sh fuzz_spec fuzz_archive   only these targets
#
# Targets (tests/fuzz/CMakeLists.txt): fuzz_elf, fuzz_www_authenticate,
# fuzz_reference, fuzz_spec, fuzz_cargo_metadata, fuzz_oci_documents,
# fuzz_registry_pull, fuzz_archive, fuzz_attest.
#
# Runs every target asked for, then exits non-zero when the build failed or
# any fuzzer found a crash, a sanitizer report, an exception other than
# rustimg::Error, a leak, a timeout or an out-of-memory; the reproducer is
# left in build-fuzz/findings/<target>-*. Reproduce one with
#   build-fuzz/bin/<target> build-fuzz/findings/<file>
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

all=(fuzz_elf fuzz_www_authenticate fuzz_reference fuzz_spec fuzz_cargo_metadata
     fuzz_oci_documents fuzz_registry_pull fuzz_archive fuzz_attest)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --target "${targets[@]}"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/generated" "$tmp/scratch" build-fuzz/findings
mkdir -p "$tmp/generated/fuzz_elf"
tests/fixtures/elf/make_fixtures.sh "$tmp/generated/fuzz_elf"
python3 tests/fuzz/make_seeds.py "$tmp/generated"

failed=()
for target in "${targets[@]}"; do
  if [ "$target" = fuzz_elf ]; then default=60; else default=20; fi
  seconds=${RUSTIMG_FUZZ_SECONDS:-$default}
  corpus="$tmp/corpus/$target"
  mkdir -p "$corpus"
  seeds=()
  for dir in "tests/fuzz/seeds/$target" "$tmp/generated/$target"; do
    [ -d "$dir" ] && seeds+=("$dir")
  done
  echo "== $target for ${seconds}s" >&2
  # The targets write their scratch files under TMPDIR, removed on exit.
  if ! TMPDIR="$tmp/scratch" "build-fuzz/bin/$target" \
      -max_total_time="$seconds" \
      -rss_limit_mb=2048 \
      -timeout=10 \
      -print_final_stats=1 \
      -artifact_prefix="$here/build-fuzz/findings/$target-" \
      "$corpus" "${seeds[@]}"; then
    failed+=("$target")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing found problems in: ${failed[*]} (reproducers in build-fuzz/findings/)" >&2
  exit 1
fi
