#!/usr/bin/env bash
# Starts the real docker-registry with htpasswd auth on a free loopback port,
# builds a small image with the CLI, and runs the C registry test against it.
set -euo pipefail
test_exe=$1 rustimg=$2
work=$(mktemp -d)
registry_pid=
cleanup() { [ -n "$registry_pid" ] && kill "$registry_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# testuser / testpass (bcrypt)
echo 'testuser:$2y$05$GeRT2tq5JnOHSjjIRSJiq.gQKdeAOCC1WwUWxI5LGXyZhs1IxxO5u' > "$work/htpasswd"
cat > "$work/config.yml" <<YAML
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $work/data}}
http: {addr: 127.0.0.1:$port}
auth: {htpasswd: {realm: test, path: $work/htpasswd}}
YAML
docker-registry serve "$work/config.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
# Signing keys for rustimg_sign / rustimg_verify_image (encrypted, as users keep them).
export RUSTIMG_TEST_KEY_PW="capi-key-pw-$$"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -aes-256-cbc -pass env:RUSTIMG_TEST_KEY_PW \
  -out "$work/sign.pem" 2>/dev/null
openssl pkey -in "$work/sign.pem" -passin env:RUSTIMG_TEST_KEY_PW -pubout -out "$work/sign.pub"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 2>/dev/null | openssl pkey -pubout -out "$work/other.pub"
"$rustimg" build --binary /bin/ls --base scratch --allow-dynamic --output "oci:$work/layout" >/dev/null 2>&1
RUSTIMG_CACHE_DIR="$work/base-cache" "$test_exe" "127.0.0.1:$port" "$work/layout" "$work"
# The image the C test built with sign_key: the real cosign accepts its
# signature (flags as in tests/integration/test_cosign_compat.py), and
# refuses another key.
cosign=$(command -v cosign || true)
if [ -z "$cosign" ] && command -v go >/dev/null; then
  candidate="$(go env GOPATH)/bin/cosign"
  [ -x "$candidate" ] && cosign=$candidate
fi
if [ -z "$cosign" ]; then
  echo "cosign is not installed (scripts/setup.sh installs it): the cosign check of the signed build is skipped" >&2
  exit 0
fi
mkdir -p "$work/docker"
printf '{"auths":{"127.0.0.1:%s":{"auth":"%s"}}}' "$port" "$(printf testuser:testpass | base64)" > "$work/docker/config.json"
signed_ref=$(cat "$work/signed-ref")
cosign_verify() {
  HOME="$work" DOCKER_CONFIG="$work/docker" "$cosign" verify --key "$1" --insecure-ignore-tlog \
    --allow-insecure-registry "$signed_ref"
}
if ! cosign_verify "$work/sign.pub" >"$work/cosign.out" 2>&1; then
  echo "cosign verify --key sign.pub $signed_ref failed:" >&2
  cat "$work/cosign.out" >&2
  exit 1
fi
if cosign_verify "$work/other.pub" >"$work/cosign-other.out" 2>&1; then
  echo "cosign verify accepted $signed_ref with another key" >&2
  exit 1
fi
echo "cosign verify: $signed_ref is signed by sign.pub"
