#!/usr/bin/env bash
# Benchmarks rustimg against crane and podman on the same inputs (issue 8).
#
#   bench/run.sh                         every scenario, 5 runs each
#   bench/run.sh --runs 3 --only 1,4     a subset
#   RUSTIMG=build-bench/bin/rustimg bench/run.sh --markdown bench-results.md
#
# Needs: python3, /usr/bin/time, skopeo, podman + runc, docker-registry, go
# (crane is installed through the Go module proxy into out/bench-tools when
# missing), cargo (the example binary), objcopy, the cross binutils of
# tests/fixtures/elf/make_fixtures.sh. Every argument goes to bench/bench.py
# (see `bench/bench.py --help`). Nothing is timed in the test suite: this
# script only measures and reports.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
tools=$here/out/bench-tools

export RUSTIMG=${RUSTIMG:-$here/build/bin/rustimg}
[ -x "$RUSTIMG" ] || { echo "bench: $RUSTIMG is missing; build first (scripts/setup.sh)" >&2; exit 2; }
for t in python3 skopeo podman runc docker-registry objcopy cargo; do
  command -v "$t" >/dev/null || { echo "bench: $t is missing (scripts/setup.sh installs it)" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time is missing; apt-get install time" >&2; exit 2; }

if [ -z "${CRANE:-}" ]; then
  if command -v crane >/dev/null; then
    CRANE=$(command -v crane)
  else
    CRANE=$tools/bin/crane
    if [ ! -x "$CRANE" ]; then
      command -v go >/dev/null || { echo "bench: go is missing (needed to install crane)" >&2; exit 2; }
      echo "bench: installing crane into $tools/bin (Go module proxy)..." >&2
      GOBIN=$tools/bin go install github.com/google/go-containerregistry/cmd/crane@latest
    fi
  fi
fi
export CRANE

# The example binary, statically linked (as bench/layer_rss.sh builds it).
triple=x86_64-unknown-linux-gnu
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$here/out/target}
cargo build --quiet --release --locked --manifest-path "$here/examples/hello/Cargo.toml" --target "$triple" \
  --config "target.$triple.rustflags=[\"-C\",\"target-feature=+crt-static\"]"
export HELLO_BINARY=$CARGO_TARGET_DIR/$triple/release/hello

exec python3 "$here/bench/bench.py" "$@"
