package rustimg_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	rustimg "github.com/rustimg/rustimg/bindings/go"
)

// openssl makes a P-256 key (encrypted with the passphrase in $KEY_PW when
// passphrase is set) and its public key in dir.
func opensslKeyPair(t *testing.T, dir, name, passphrase string) (key, pub string) {
	t.Helper()
	key, pub = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".pub")
	env := append(os.Environ(), "KEY_PW="+passphrase)
	gen := []string{"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key}
	in := []string{"pkey", "-in", key, "-pubout", "-out", pub}
	if passphrase != "" {
		gen = append(gen, "-aes-256-cbc", "-pass", "env:KEY_PW")
		in = append(in, "-passin", "env:KEY_PW")
	}
	for _, args := range [][]string{gen, in} {
		cmd := exec.Command("openssl", args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("openssl %v: %v: %s", args, err, out)
		}
	}
	return key, pub
}

// buildFixtureLayout builds the static test binary into an OCI layout in
// dir: its "oci:DIR:v1" reference and the build result.
func buildFixtureLayout(t *testing.T, dir string) (string, *rustimg.BuildResult) {
	t.Helper()
	layout := "oci:" + filepath.Join(dir, "layout") + ":v1"
	built, err := rustimg.Build(context.Background(), rustimg.BuildOptions{
		Binary: filepath.Join(fixtures, "x86_64-static-pie"), Output: layout,
	})
	if err != nil {
		t.Fatal(err)
	}
	return layout, built
}

func TestSignAndVerifyImage(t *testing.T) {
	host := startRegistry(t, "")
	dir := t.TempDir()
	const secret = "go-key-pass-do-not-leak"
	key, pub := opensslKeyPair(t, dir, "sign", secret)
	_, otherPub := opensslKeyPair(t, dir, "other", "")
	ctx := context.Background()
	opts := rustimg.RegistryOptions{SkipConfigFiles: true}
	layout, built := buildFixtureLayout(t, dir)
	ref := host + "/go/signed:v1"
	if _, err := rustimg.Push(ctx, layout, ref, opts); err != nil {
		t.Fatal(err)
	}

	if _, err := rustimg.VerifyImage(ctx, ref, pub, opts); !errors.Is(err, rustimg.ErrVerify) ||
		!strings.Contains(err.Error(), "has no signatures") {
		t.Fatalf("unsigned image: %v", err)
	}
	t.Setenv("GO_KEY_PW", secret)
	signed, err := rustimg.Sign(ctx, ref, key, "GO_KEY_PW", opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(signed) != 1 || signed[0].Digest != built.Digest || signed[0].Identity != host+"/go/signed" ||
		!strings.HasPrefix(signed[0].Signature, host+"/go/signed:"+strings.Replace(built.Digest, ":", "-", 1)+".sig@sha256:") {
		t.Fatalf("signed: %+v", signed)
	}
	valid, err := rustimg.VerifyImage(ctx, ref, pub, opts)
	if err != nil || len(valid) != 1 || valid[0] != signed[0] {
		t.Fatalf("verify: %+v, %v", valid, err)
	}
	if _, err := rustimg.VerifyImage(ctx, ref, otherPub, opts); !errors.Is(err, rustimg.ErrVerify) ||
		!strings.Contains(err.Error(), "does not verify") {
		t.Fatalf("another key: %v", err)
	}
	if _, err := rustimg.VerifyAttestations(ctx, ref, pub, "slsaprovenance1", opts); !errors.Is(err, rustimg.ErrVerify) {
		t.Fatalf("no attestations: %v", err)
	}
	if _, err := rustimg.VerifyAttestations(ctx, ref, pub, "", opts); !errors.Is(err, rustimg.ErrInvalidArgument) {
		t.Fatalf("no type: %v", err)
	}
	// the passphrase's variable unset: named in the error, the passphrase never
	_, err = rustimg.Sign(ctx, ref, key, "GO_KEY_PW_UNSET", opts)
	if !errors.Is(err, rustimg.ErrInvalidArgument) || !strings.Contains(err.Error(), "GO_KEY_PW_UNSET") ||
		strings.Contains(err.Error(), secret) {
		t.Fatalf("unset passphrase: %v", err)
	}
}

// SignImage signs and attests an image in an OCI layout, naming the
// repository it will be pushed to; Push carries the signatures with the
// image, and the registry copy verifies.
func TestSignImageInALayoutThenPush(t *testing.T) {
	host := startRegistry(t, "")
	dir := t.TempDir()
	key, pub := opensslKeyPair(t, dir, "sign", "")
	ctx := context.Background()
	opts := rustimg.RegistryOptions{SkipConfigFiles: true}
	layout, built := buildFixtureLayout(t, dir)
	t.Setenv("COSIGN_PASSWORD", "")
	if _, err := rustimg.SignImage(ctx, layout, rustimg.SignOptions{KeyFile: key}); !errors.Is(err, rustimg.ErrInvalidArgument) ||
		!strings.Contains(err.Error(), "identity") {
		t.Fatalf("a layout without an identity: %v", err)
	}
	repo := host + "/go/layout-signed"
	res, err := rustimg.SignImage(ctx, layout, rustimg.SignOptions{KeyFile: key, Identity: repo, Attest: true, Registry: opts})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Signed) != 1 || res.Signed[0].Digest != built.Digest || res.Signed[0].Identity != repo {
		t.Fatalf("signed: %+v", res.Signed)
	}
	if len(res.Attested) != 1 || res.Attested[0].PredicateType != "https://spdx.dev/Document" || len(res.Skipped) != 0 {
		t.Fatalf("attested: %+v, skipped %v", res.Attested, res.Skipped)
	}
	if _, err := rustimg.VerifyImage(ctx, layout, pub, opts); err != nil {
		t.Fatalf("verify in the layout: %v", err)
	}
	pushed, err := rustimg.Push(ctx, layout, repo+":v1", opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(pushed.Signatures) != 2 {
		t.Fatalf("want the .sig and .att images pushed with the image, got %v", pushed.Signatures)
	}
	valid, err := rustimg.VerifyImage(ctx, repo+":v1", pub, opts)
	if err != nil || len(valid) != 1 || valid[0].Identity != repo {
		t.Fatalf("verify in the registry: %+v, %v", valid, err)
	}
	if _, err := rustimg.VerifyAttestations(ctx, repo+":v1", pub, "spdxjson", opts); err != nil {
		t.Fatalf("verify the attestation in the registry: %v", err)
	}
}
