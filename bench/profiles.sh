#!/usr/bin/env bash
# What each "size-optimize" choice costs (issue 19, item 1), on a real crate
# from the crates registry: a small CPU-bound CLI (regex + sha2) that scans
# and hashes a generated 16 MiB log. For each choice: the binary's size, the
# image's layer bytes, the median run time of the workload (3 runs, the
# static binary run directly on the host) and the time `rustimg build` takes
# to a new image after a one-line change to main.rs (deps already built).
# Only measures: no test asserts a timing.
#
#   bench/profiles.sh                          release small min none
#   CHOICES="release min" bench/profiles.sh
#   RUSTIMG=build-bench/bin/rustimg bench/profiles.sh
#
# Each build takes the lock the developers share (/tmp/rustimg-build.lock)
# and is timed once it holds it, so no other build runs during a timed build.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
rustimg=${RUSTIMG:-$here/build/bin/rustimg}
choices=${CHOICES:-release small min none}
lock=${LOCK:-/tmp/rustimg-build.lock}
triple=x86_64-unknown-linux-gnu

[ -x "$rustimg" ] || { echo "profiles: $rustimg is missing; build first (scripts/setup.sh)" >&2; exit 2; }
command -v cargo >/dev/null || { echo "profiles: cargo is missing" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/rustimg-profiles-XXXXXX")
trap 'rm -rf "$work"' EXIT

# The crate, written once; each choice builds its own copy (own target dir).
src="$work/src"
mkdir -p "$src/src"
cat >"$src/Cargo.toml" <<'TOML'
[package]
name = "loghash"
version = "0.1.0"
edition = "2021"

[dependencies]
regex = "1"
sha2 = "0.10"
TOML
cat >"$src/src/main.rs" <<'RUST'
// Counts error/warning lines with a code in a log and hashes the log 8 times.
use regex::Regex;
use sha2::{Digest, Sha256};

fn main() {
    let path = std::env::args().nth(1).expect("usage: loghash FILE");
    let text = std::fs::read_to_string(&path).expect("read the log");
    let re = Regex::new(r"(?i)\b(error|warn)\w*\s+code=(\d+)").unwrap();
    let (mut matches, mut sum) = (0u64, 0u64);
    for line in text.lines() {
        if let Some(c) = re.captures(line) {
            matches += 1;
            sum += c[2].parse::<u64>().unwrap_or(0);
        }
    }
    let mut hasher = Sha256::new();
    for _ in 0..8 {
        hasher.update(text.as_bytes());
    }
    let label = "loghash";
    println!("{label}: matches={matches} sum={sum} sha256={:x}", hasher.finalize());
}
RUST
(cd "$src" && cargo generate-lockfile --quiet)

# The input: 16 MiB of deterministic log lines.
python3 - "$work/input.log" <<'PY'
import random, sys
rnd = random.Random(19)
words = ["info", "debug", "error", "warning", "WARN", "Error", "request", "served", "GET", "/api/v1/items"]
with open(sys.argv[1], "w") as f:
    size = 0
    while size < 16 * 1024 * 1024:
        line = " ".join(rnd.choice(words) for _ in range(8)) + f" code={rnd.randrange(1000)} t={rnd.random():.6f}\n"
        f.write(line)
        size += len(line)
PY

now() { python3 -c 'import time; print(time.monotonic())'; }
elapsed() { python3 -c "print(f'{$2 - $1:.2f}')"; }

# layer_bytes LAYOUT: bench/lib.sh
. "$here/bench/lib.sh"

# Builds crate dir $1 into layout $2 and prints the seconds the build took,
# counted once the shared build lock is held (waiting for it does not count).
timed_build() {
  exec 9>"$lock"
  flock 9
  local t0 t1
  t0=$(now)
  "$rustimg" build -q "$1" --platform linux/amd64 --output "oci:$2" >/dev/null
  t1=$(now)
  flock -u 9
  exec 9>&-
  elapsed "$t0" "$t1"
}

printf '| size-optimize | binary bytes | image layer bytes | run time (s) | first build (s) | rebuild after a one-line change (s) |\n'
printf '|---|---:|---:|---:|---:|---:|\n'
for choice in $choices; do
  crate="$work/$choice/loghash"
  mkdir -p "$work/$choice"
  cp -r "$src" "$crate"
  printf '{"size-optimize": "%s"}\n' "$choice" >"$crate/rustimg.json"

  first=$(timed_build "$crate" "$work/$choice/img1")
  sed -i 's/let label = "loghash";/let label = "loghash v2";/' "$crate/src/main.rs"
  rebuild=$(timed_build "$crate" "$work/$choice/img2")

  binary="$crate/target/$triple/rustimg/loghash"
  runs=()
  for _ in 1 2 3; do
    t0=$(now); "$binary" "$work/input.log" >/dev/null; t1=$(now)
    runs+=("$(elapsed "$t0" "$t1")")
  done
  median=$(printf '%s\n' "${runs[@]}" | sort -n | sed -n 2p)

  printf '| %s | %s | %s | %s | %s | %s |\n' "$choice" "$(stat -c %s "$binary")" \
    "$(layer_bytes "$work/$choice/img2")" "$median" "$first" "$rebuild"
done
echo "profiles: $(nproc) cores, $(rustc --version), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" >&2
