#!/usr/bin/env bash
# The main job: build the example crate (examples/hello) into a minimal,
# reproducible OCI image in ./out/hello, show the verify summary and the
# digest, and say how to run it.
#
#   scripts/example.sh                 set up (packages + build), then build the image
#   RUSTIMG_SKIP_SETUP=1 scripts/example.sh   reuse an existing ./build
#   RUSTIMG=build-x/bin/rustimg ...            use another rustimg binary
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

triple=x86_64-unknown-linux-gnu
rustimg=${RUSTIMG:-build/bin/rustimg}
layout=out/hello
tag=latest

if [ "${RUSTIMG_SKIP_SETUP:-0}" != 1 ]; then
  echo "==> setting up (scripts/setup.sh)" >&2
  scripts/setup.sh
fi

echo "==> rustimg build examples/hello (cargo for $triple, spec from Cargo.toml [package.metadata.rustimg])" >&2
digest=$("$rustimg" build examples/hello --output "oci:$layout:$tag" | tail -1)

echo "==> rustimg verify (the binary cargo built)" >&2
"$rustimg" verify "examples/hello/target/$triple/rustimg/hello"

cat <<MSG

Image: oci:$layout:$tag
Digest: $digest

Run it:
  skopeo copy oci:$layout:$tag docker-archive:out/hello.tar:rustimg/hello:$tag
  podman --runtime runc --cgroup-manager cgroupfs load -i out/hello.tar
  podman --runtime runc --cgroup-manager cgroupfs run --rm \\
      --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 rustimg/hello:$tag
(or build straight to a docker-archive: $rustimg build examples/hello --output docker-archive:out/hello.tar:rustimg/hello:$tag)
MSG
echo "$digest"
