#!/usr/bin/env bash
# glibc static-pie against musl static (issue 17, item 5): what the libc
# choice costs in binary size, image size and speed. One small generated
# crate with an allocation-heavy workload (many small Strings and Vecs,
# sorting, HashMap inserts; no C dependencies), built through `rustimg build`
# itself with the default "release" size-optimize choice, on `scratch`:
#
#   amd64 gnu                      static-pie, glibc's malloc
#   amd64 musl                     static, musl's malloc (mallocng)
#   amd64 musl + dlmalloc          musl with a pure-Rust global allocator (no C compiler)
#   amd64 musl + mimalloc          only when musl-gcc (musl-tools) is installed: mimalloc is C
#   arm64 gnu / arm64 musl         sizes only (cross linkers; the run would time qemu, not libc)
#
# For each: the binary's bytes, the image's layer bytes (compressed, as
# pushed) and the best of 3 runs of the workload with 1 and with 2 threads
# (the static binary run directly on the host). Only measures: no test
# asserts a timing.
#
#   bench/multiarch.sh
#   RUSTIMG=build-bench/bin/rustimg bench/multiarch.sh
#   ROUNDS=8 RUNS=5 bench/multiarch.sh
#
# Builds take the lock the developers share (/tmp/rustimg-build.lock); the
# timed runs happen outside it, with the load average printed beside them.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
rustimg_src=${RUSTIMG:-$here/build/bin/rustimg}
lock=${LOCK:-/tmp/rustimg-build.lock}
rounds=${ROUNDS:-4}
runs=${RUNS:-3}

[ -x "$rustimg_src" ] || { echo "multiarch: $rustimg_src is missing; build first (scripts/setup.sh)" >&2; exit 2; }
command -v cargo >/dev/null || { echo "multiarch: cargo is missing" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/rustimg-multiarch-XXXXXX")
trap 'rm -rf "$work"' EXIT
# A copy, so a developer relinking build/bin/rustimg meanwhile does not matter.
cp "$rustimg_src" "$work/rustimg"
rustimg="$work/rustimg"

crate="$work/allocbench"
mkdir -p "$crate/src"
cat >"$crate/Cargo.toml" <<'TOML'
[package]
name = "allocbench"
version = "0.1.0"
edition = "2021"

[dependencies]
dlmalloc = { version = "0.2", features = ["global"], optional = true }
mimalloc = { version = "0.1", optional = true }
TOML
cat >"$crate/src/main.rs" <<'RUST'
// Allocation-heavy work: per thread and round, 300k small Strings formatted,
// sorted, grouped into a HashMap<String, Vec<u64>>, then all dropped.
use std::collections::HashMap;

#[cfg(feature = "dlmalloc")]
#[global_allocator]
static ALLOC: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn work(seed: u64, rounds: u64) -> u64 {
    let mut check = 0u64;
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    for _ in 0..rounds {
        let mut words: Vec<String> = Vec::new();
        for i in 0..300_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            words.push(format!("k{:x}-{}", x % 50_000, i % 97));
        }
        words.sort_unstable();
        let mut groups: HashMap<String, Vec<u64>> = HashMap::new();
        for (i, w) in words.iter().enumerate() {
            groups.entry(w.clone()).or_default().push(i as u64);
        }
        check = check.wrapping_add(groups.len() as u64 + groups.values().map(|v| v.len() as u64).max().unwrap_or(0));
    }
    check
}

fn main() {
    let mut args = std::env::args().skip(1);
    let threads: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let rounds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(4);
    let handles: Vec<_> = (0..threads).map(|t| std::thread::spawn(move || work(t + 1, rounds))).collect();
    let check: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    println!("{} threads={threads} rounds={rounds} check={check}", std::env::consts::ARCH);
}
RUST
# Linkers for arm64, in case this rustimg does not pick them itself.
cat >"$crate/rustimg.json" <<'JSON'
{"base": "scratch",
 "target": {"aarch64-unknown-linux-gnu": {"linker": "aarch64-linux-gnu-gcc"},
            "aarch64-unknown-linux-musl": {"linker": "rust-lld"}}}
JSON
(cd "$crate" && cargo generate-lockfile --quiet)

# layer_bytes LAYOUT: bench/lib.sh
. "$here/bench/lib.sh"

# Best (lowest) wall-clock seconds of $runs runs of binary $1 with $2 threads,
# and the peak RSS in MB of those runs.
best_of() {
  python3 - "$1" "$2" "$rounds" "$runs" <<'PY'
import resource, subprocess, sys, time
binary, threads, rounds, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
best = None
for _ in range(runs):
    t0 = time.monotonic()
    subprocess.run([binary, threads, rounds], check=True, stdout=subprocess.DEVNULL)
    best = min(best or 1e9, time.monotonic() - t0)
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"{best:.2f} {rss:.0f}")
PY
}

# name platform triple libc features
variants=(
  "amd64-gnu linux/amd64 x86_64-unknown-linux-gnu gnu -"
  "amd64-musl linux/amd64 x86_64-unknown-linux-musl musl -"
  "amd64-musl+dlmalloc linux/amd64 x86_64-unknown-linux-musl musl dlmalloc"
)
if command -v musl-gcc >/dev/null; then
  variants+=("amd64-musl+mimalloc linux/amd64 x86_64-unknown-linux-musl musl mimalloc")
else
  echo "multiarch: musl-gcc is missing (apt-get install musl-tools): no mimalloc row" >&2
fi
variants+=(
  "arm64-gnu linux/arm64 aarch64-unknown-linux-gnu gnu -"
  "arm64-musl linux/arm64 aarch64-unknown-linux-musl musl -"
)

# All builds under one hold of the lock.
declare -A bin_bytes img_bytes
exec 9>"$lock"
flock 9
for v in "${variants[@]}"; do
  read -r name platform triple libc features <<<"$v"
  args=(build -q "$crate" --platform "$platform" --set "libc=$libc" --output "oci:$work/img-$name:bench")
  [ "$features" = - ] || args+=(--features "$features")
  "$rustimg" "${args[@]}" >/dev/null
  cp "$crate/target/$triple/rustimg/allocbench" "$work/bin-$name"
  bin_bytes[$name]=$(stat -c %s "$work/bin-$name")
  img_bytes[$name]=$(layer_bytes "$work/img-$name")
done
flock -u 9
exec 9>&-

# Every allocator must compute the same result (the arch aside).
for v in "${variants[@]}"; do
  read -r name platform _ <<<"$v"
  [ "$platform" = linux/amd64 ] || continue
  out=$("$work/bin-$name" 1 1 | cut -d' ' -f2-)
  expected=${expected:-$out}
  [ "$out" = "$expected" ] || { echo "multiarch: $name printed '$out', not '$expected'" >&2; exit 1; }
done

# Wait (up to $QUIET_WAIT s) for the 1-minute load to drop below 1.5, so
# other people's builds disturb the timings as little as possible.
for _ in $(seq $(( ${QUIET_WAIT:-300} / 10 ))); do
  awk '{exit !($1 < 1.5)}' /proc/loadavg && break
  sleep 10
done
echo "load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '| variant | binary bytes | image layer bytes | 1 thread (s, best of %s) | 2 threads (s, best of %s) | peak RSS, 1 thread (MB) |\n' "$runs" "$runs"
printf '|---|---:|---:|---:|---:|---:|\n'
for v in "${variants[@]}"; do
  read -r name platform _ <<<"$v"
  t1=- t2=- rss=-
  if [ "$platform" = linux/amd64 ]; then
    read -r t1 rss <<<"$(best_of "$work/bin-$name" 1)"
    read -r t2 _ <<<"$(best_of "$work/bin-$name" 2)"
  fi
  printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "${bin_bytes[$name]}" "${img_bytes[$name]}" "$t1" "$t2" "$rss"
done
echo "load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "multiarch: $(nproc) cores, $(rustc --version), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), rounds=$rounds" >&2
