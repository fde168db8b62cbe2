#!/usr/bin/env bash
# Peak memory of `rustimg build` with a large asset layer: the layer writer
# streams tar -> gzip -> sha256 -> file, so peak RSS must not grow with the
# layer (budget: 100 MB for a 1 GiB asset).
#
#   bench/layer_rss.sh                    1 GiB of random data (incompressible)
#   SIZE_MB=4096 DATA=zero bench/layer_rss.sh
#   RUSTIMG=build-img/bin/rustimg bench/layer_rss.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
rustimg=${RUSTIMG:-$here/build/bin/rustimg}
size_mb=${SIZE_MB:-1024}
data=${DATA:-random}
budget_kb=$((100 * 1024))
triple=x86_64-unknown-linux-gnu

[ -x "$rustimg" ] || { echo "layer_rss: $rustimg is missing; build first (scripts/setup.sh)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "layer_rss: /usr/bin/time is missing; apt-get install time" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/rustimg-bench-XXXXXX")
trap 'rm -rf "$work"' EXIT

# The application: the example crate, statically linked.
export CARGO_TARGET_DIR="$here/out/target"
cargo build --quiet --release --locked --manifest-path "$here/examples/hello/Cargo.toml" --target "$triple" \
  --config "target.$triple.rustflags=[\"-C\",\"target-feature=+crt-static\"]"
binary="$CARGO_TARGET_DIR/$triple/release/hello"

# A crate directory whose spec adds one big asset.
mkdir -p "$work/crate"
case "$data" in
  random) head -c "$((size_mb * 1024 * 1024))" /dev/urandom >"$work/crate/big.bin" ;;
  zero) truncate -s "${size_mb}M" "$work/crate/big.bin" ;;
  *) echo "layer_rss: DATA must be random or zero" >&2; exit 2 ;;
esac
cat >"$work/crate/rustimg.json" <<JSON
{"bin": "hello", "assets": [{"source": "big.bin", "dest": "/data/"}]}
JSON

echo "layer_rss: building an image with a ${size_mb} MiB ($data) asset layer..." >&2
start=$(date +%s.%N)
/usr/bin/time -v -o "$work/time.txt" "$rustimg" build --binary "$binary" --spec "$work/crate/rustimg.json" \
  --output "oci:$work/out:bench" >"$work/digest.txt" 2>"$work/build.log" || {
  cat "$work/build.log" >&2; exit 1; }
end=$(date +%s.%N)

rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
layer_bytes=$(du -cb "$work"/out/blobs/sha256/* | tail -1 | cut -f1)
printf 'asset: %d MiB (%s)\nimage blobs: %d bytes\nwall: %s s\npeak RSS: %d KiB (%s MiB)\ndigest: %s\n' \
  "$size_mb" "$data" "$layer_bytes" "$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.1f", b - a}')" \
  "$rss_kb" "$(awk -v k="$rss_kb" 'BEGIN {printf "%.1f", k / 1024}')" "$(tail -1 "$work/digest.txt")"
if [ "$rss_kb" -ge "$budget_kb" ]; then
  echo "layer_rss: FAIL: peak RSS ${rss_kb} KiB is over the ${budget_kb} KiB budget" >&2
  exit 1
fi
echo "layer_rss: OK (budget ${budget_kb} KiB)"
