#!/usr/bin/env bash
# Runs the C example against a copy of the example crate and checks that the
# OCI layout it wrote holds the image whose digest it printed.
set -euo pipefail
exe=$1 crate=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$crate" "$work/crate"
rm -rf "$work/crate/target"
digest=$("$exe" "$work/crate" "oci:$work/layout:latest" | tail -1)
case "$digest" in sha256:????????????????????????????????????????????????????????????????) ;;
  *) echo "unexpected digest line: $digest" >&2; exit 1 ;; esac
inspected=$(skopeo inspect --raw "oci:$work/layout:latest" | sha256sum | cut -d' ' -f1)
[ "sha256:$inspected" = "$digest" ] || { echo "layout holds sha256:$inspected, example printed $digest" >&2; exit 1; }
echo "c_example: built $digest"
