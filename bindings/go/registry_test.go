package rustimg_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rustimg "github.com/rustimg/rustimg/bindings/go"
)

// startRegistry runs the real docker-registry on a free loopback port for
// the test, optionally with htpasswd auth, and stops it afterwards.
func startRegistry(t *testing.T, htpasswd string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	auth := ""
	if htpasswd != "" {
		if err := os.WriteFile(filepath.Join(dir, "htpasswd"), []byte(htpasswd), 0o600); err != nil {
			t.Fatal(err)
		}
		auth = fmt.Sprintf("auth:\n  htpasswd:\n    realm: test\n    path: %s\n", filepath.Join(dir, "htpasswd"))
	}
	config := fmt.Sprintf("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n%s",
		filepath.Join(dir, "data"), addr, auth)
	if err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("docker-registry", "serve", filepath.Join(dir, "config.yml"))
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting docker-registry: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("docker-registry did not start")
	return ""
}

func TestBuildPushPullAgainstRealRegistry(t *testing.T) {
	host := startRegistry(t, "")
	layout := filepath.Join(t.TempDir(), "layout")
	ctx := context.Background()
	built, err := rustimg.Build(ctx, rustimg.BuildOptions{CrateDir: copyCrate(t), Output: "oci:" + layout + ":v1"})
	if err != nil {
		t.Fatal(err)
	}
	ref := host + "/go/hello:v1"
	var events int
	pushed, err := rustimg.Push(ctx, "oci:"+layout+":v1", ref, rustimg.RegistryOptions{
		SkipConfigFiles: true,
		Progress:        func(rustimg.ProgressEvent) { events++ },
	})
	if err != nil {
		t.Fatal(err)
	}
	if pushed.Reference != ref+"@"+built.Digest || pushed.BlobsUploaded == 0 || events == 0 {
		t.Fatalf("push result: %+v (events %d)", pushed, events)
	}
	// The SBOM and the provenance the build attached went up with it (docker-registry: the tag schema).
	if len(pushed.Referrers) != 2 || pushed.Referrers[0].Subject != built.Digest ||
		pushed.Referrers[0].ArtifactType != "application/spdx+json" || pushed.Referrers[1].Via != "tag-schema" {
		t.Fatalf("referrers pushed: %+v", pushed.Referrers)
	}
	// again: nothing to upload
	again, err := rustimg.Push(ctx, "oci:"+layout+":v1", ref, rustimg.RegistryOptions{SkipConfigFiles: true})
	if err != nil || again.BlobsUploaded != 0 {
		t.Fatalf("re-push: %+v, %v", again, err)
	}
	out, err := exec.Command("skopeo", "inspect", "--tls-verify=false", "docker://"+ref).CombinedOutput()
	if err != nil || !strings.Contains(string(out), built.Digest) {
		t.Fatalf("skopeo inspect: %v: %s", err, out)
	}
	pulled, err := rustimg.Pull(ctx, ref, "oci:"+filepath.Join(t.TempDir(), "pulled")+":v1", "linux/amd64",
		rustimg.RegistryOptions{SkipConfigFiles: true})
	if err != nil || pulled.Digest != built.Digest {
		t.Fatalf("pull: %+v, %v", pulled, err)
	}
}

func TestRegistryAuthErrorReachesGo(t *testing.T) {
	// testuser:testpass (bcrypt), so the registry demands Basic auth
	host := startRegistry(t, "testuser:$2y$05$GeRT2tq5JnOHSjjIRSJiq.gQKdeAOCC1WwUWxI5LGXyZhs1IxxO5u\n")
	layout := filepath.Join(t.TempDir(), "layout")
	if _, err := rustimg.Build(context.Background(), rustimg.BuildOptions{
		Binary: filepath.Join(fixtures, "x86_64-static-pie"), Output: "oci:" + layout,
	}); err != nil {
		t.Fatal(err)
	}
	_, err := rustimg.Push(context.Background(), "oci:"+layout, host+"/go/denied:v1", rustimg.RegistryOptions{
		SkipConfigFiles: true, Username: "testuser", Password: "wrong-secret",
	})
	var e *rustimg.Error
	if !errors.As(err, &e) || !errors.Is(err, rustimg.ErrAuth) {
		t.Fatalf("want an auth error, got %v", err)
	}
	if e.HTTPStatus != 401 || !strings.Contains(e.Message, host) || !strings.Contains(e.Message, "testuser") ||
		strings.Contains(e.Message, "wrong-secret") {
		t.Fatalf("auth error lost its details or leaked the password: %#v", e)
	}
}

func TestBuildOnABaseFromAPrivateRegistry(t *testing.T) {
	host := startRegistry(t, "testuser:$2y$05$GeRT2tq5JnOHSjjIRSJiq.gQKdeAOCC1WwUWxI5LGXyZhs1IxxO5u\n")
	ctx := context.Background()
	binary := filepath.Join(fixtures, "x86_64-static-pie")
	creds := rustimg.RegistryOptions{SkipConfigFiles: true, Username: "testuser", Password: "testpass"}
	layout := filepath.Join(t.TempDir(), "base")
	if _, err := rustimg.Build(ctx, rustimg.BuildOptions{Binary: binary, Output: "oci:" + layout}); err != nil {
		t.Fatal(err)
	}
	base := host + "/go/base:v1"
	if _, err := rustimg.Push(ctx, "oci:"+layout, base, creds); err != nil {
		t.Fatal(err)
	}
	opts := rustimg.BuildOptions{
		Binary: binary, Overrides: map[string]any{"base": base},
		Output: "oci:" + filepath.Join(t.TempDir(), "app") + ":v1",
	}
	// Without credentials the base cannot be pulled...
	opts.Registry = rustimg.RegistryOptions{SkipConfigFiles: true}
	_, err := rustimg.Build(ctx, opts)
	var e *rustimg.Error
	if !errors.As(err, &e) || !errors.Is(err, rustimg.ErrAuth) || e.HTTPStatus != 401 {
		t.Fatalf("want a 401 auth error pulling the base, got %v", err)
	}
	// ...with the build's registry options it is, and the image names it.
	opts.Registry = creds
	built, err := rustimg.Build(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("skopeo", "inspect", "--raw", opts.Output).CombinedOutput()
	if err != nil || !strings.Contains(string(out), base) || !strings.Contains(string(out), "org.opencontainers.image.base.name") {
		t.Fatalf("skopeo inspect %s (%s): %v: %s", opts.Output, built.Digest, err, out)
	}
}

func TestCredentialsAreForOneRegistry(t *testing.T) {
	host := startRegistry(t, "testuser:$2y$05$GeRT2tq5JnOHSjjIRSJiq.gQKdeAOCC1WwUWxI5LGXyZhs1IxxO5u\n")
	ctx := context.Background()
	binary := filepath.Join(fixtures, "x86_64-static-pie")
	layout := filepath.Join(t.TempDir(), "base")
	if _, err := rustimg.Build(ctx, rustimg.BuildOptions{Binary: binary, Output: "oci:" + layout}); err != nil {
		t.Fatal(err)
	}
	base := host + "/go/base:v1"
	creds := rustimg.RegistryOptions{SkipConfigFiles: true, Username: "testuser", Password: "testpass"}
	if _, err := rustimg.Push(ctx, "oci:"+layout, base, creds); err != nil {
		t.Fatal(err)
	}
	build := func(registry rustimg.RegistryOptions) error {
		_, err := rustimg.Build(ctx, rustimg.BuildOptions{
			Binary: binary, Overrides: map[string]any{"base": base},
			Output: "oci:" + filepath.Join(t.TempDir(), "app") + ":v1", Registry: registry,
		})
		return err
	}
	// Credentials for another registry are not sent to this one...
	elsewhere := creds
	elsewhere.CredentialsRegistry = "ghcr.io"
	if _, err := rustimg.Push(ctx, "oci:"+layout, base, elsewhere); !errors.Is(err, rustimg.ErrAuth) {
		t.Fatalf("push with credentials for ghcr.io: want an auth error, got %v", err)
	}
	if err := build(elsewhere); !errors.Is(err, rustimg.ErrAuth) {
		t.Fatalf("build on a base with credentials for ghcr.io: want an auth error, got %v", err)
	}
	// ...credentials for this one are, and so are credentials without a
	// registry: they are for the one the call is about (target, base).
	named := creds
	named.CredentialsRegistry = host
	for _, opts := range []rustimg.RegistryOptions{named, creds} {
		if _, err := rustimg.Push(ctx, "oci:"+layout, base, opts); err != nil {
			t.Fatalf("push (CredentialsRegistry %q): %v", opts.CredentialsRegistry, err)
		}
		if err := build(opts); err != nil {
			t.Fatalf("build (CredentialsRegistry %q): %v", opts.CredentialsRegistry, err)
		}
	}
	bad := creds
	bad.CredentialsRegistry = "not a host"
	if _, err := rustimg.Push(ctx, "oci:"+layout, base, bad); !errors.Is(err, rustimg.ErrInvalidArgument) {
		t.Fatalf("CredentialsRegistry %q: want an invalid-argument error, got %v", bad.CredentialsRegistry, err)
	}
}

// A registry that accepts connections and never answers is given up on
// after RequestTimeout, within the retry budget, with an error that says so.
func TestRequestTimeoutGivesUpOnASilentRegistry(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var held []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c) // read nothing, answer nothing
		}
	}()
	_, err = rustimg.Pull(context.Background(), l.Addr().String()+"/app:v1",
		"oci:"+filepath.Join(t.TempDir(), "out")+":v1", "",
		rustimg.RegistryOptions{RequestTimeout: time.Second, StallTimeout: time.Second})
	var rerr *rustimg.Error
	if !errors.As(err, &rerr) || !strings.Contains(rerr.Message, "timed out") {
		t.Fatalf("want a timeout error, got %v", err)
	}
	l.Close()
	<-done
	if len(held) == 0 {
		t.Fatal("the registry was never contacted")
	}
	for _, c := range held {
		c.Close()
	}
}

// A registry that never answers, and a context deadline shorter than the
// request timeout: the deadline ends the call, and the error says so and
// unwraps to context.DeadlineExceeded (a CI tool's timeout, told apart
// from a registry that timed out).
func TestContextDeadlineEndsACallAndSaysSo(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	held := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				close(held)
				return
			}
			held <- c // read nothing, answer nothing
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	_, err = rustimg.Pull(ctx, l.Addr().String()+"/app:v1", "oci:"+filepath.Join(t.TempDir(), "out")+":v1", "",
		rustimg.RegistryOptions{RequestTimeout: time.Minute, SkipConfigFiles: true})
	if took := time.Since(start); took > 20*time.Second {
		t.Fatalf("the deadline did not stop the call (%v)", took)
	}
	var e *rustimg.Error
	if !errors.As(err, &e) || !errors.Is(err, rustimg.ErrCancelled) || !errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, context.Canceled) {
		t.Fatalf("want ErrCancelled wrapping context.DeadlineExceeded, got %v", err)
	}
	if !strings.HasPrefix(e.Message, "cancelled") || !strings.HasSuffix(e.Message, ": context deadline exceeded") {
		t.Fatalf("the message does not say why the call stopped: %q", e.Message)
	}
	l.Close()
	for c := range held {
		c.Close()
	}
}

// cosignBinary is the real cosign, from PATH or GOPATH/bin; "" when absent.
func cosignBinary() string {
	if p, err := exec.LookPath("cosign"); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", "cosign")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

func TestBuildWithSignKeySignsWhatItPushes(t *testing.T) {
	host := startRegistry(t, "")
	dir := t.TempDir()
	const secret = "go-build-key-pass-do-not-leak"
	key, pub := opensslKeyPair(t, dir, "sign", secret)
	_, otherPub := opensslKeyPair(t, dir, "other", "")
	t.Setenv("GO_BUILD_KEY_PW", secret)
	ctx := context.Background()
	opts := rustimg.RegistryOptions{SkipConfigFiles: true}

	// Nothing pushed, nothing to sign: refused before the build.
	layout := filepath.Join(dir, "layout")
	_, err := rustimg.Build(ctx, rustimg.BuildOptions{
		Binary: filepath.Join(fixtures, "x86_64-static-pie"), Output: "oci:" + layout,
		SignKey: key, KeyPasswordEnv: "GO_BUILD_KEY_PW",
	})
	if !errors.Is(err, rustimg.ErrInvalidArgument) || !strings.Contains(err.Error(), "signs what is pushed") {
		t.Fatalf("signing key with an oci: output: %v", err)
	}
	if _, statErr := os.Stat(layout); !os.IsNotExist(statErr) {
		t.Fatalf("the refused build wrote %s", layout)
	}
	// A passphrase variable that is not set: named, before cargo runs.
	crate := copyCrate(t)
	ref := host + "/go/built-signed:v1"
	_, err = rustimg.Build(ctx, rustimg.BuildOptions{
		CrateDir: crate, Output: "docker://" + ref, Registry: opts, SignKey: key, KeyPasswordEnv: "GO_BUILD_KEY_PW_UNSET",
	})
	if !errors.Is(err, rustimg.ErrInvalidArgument) || !strings.Contains(err.Error(), "GO_BUILD_KEY_PW_UNSET") {
		t.Fatalf("unset passphrase variable: %v", err)
	}
	if _, statErr := os.Stat(filepath.Join(crate, "target")); !os.IsNotExist(statErr) {
		t.Fatal("cargo ran although the key could not be read")
	}

	built, err := rustimg.Build(ctx, rustimg.BuildOptions{
		CrateDir: crate, Output: "docker://" + ref, Registry: opts, SignKey: key, KeyPasswordEnv: "GO_BUILD_KEY_PW",
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(built.References) != 1 || built.References[0] != ref+"@"+built.Digest || len(built.Pushed) != 1 {
		t.Fatalf("pushed: %+v %v", built.Pushed, built.References)
	}
	if len(built.Signed) != 3 {
		t.Fatalf("signed: want the signature and two attestations, got %+v", built.Signed)
	}
	predicates := map[string]bool{}
	for _, s := range built.Signed[1:] {
		predicates[s.PredicateType] = s.Digest == built.Digest
	}
	if built.Signed[0].Digest != built.Digest || built.Signed[0].PredicateType != "" ||
		built.Signed[0].Identity != host+"/go/built-signed" ||
		!predicates["https://spdx.dev/Document"] || !predicates["https://slsa.dev/provenance/v1"] {
		t.Fatalf("signed: %+v", built.Signed)
	}
	valid, err := rustimg.VerifyImage(ctx, ref, pub, opts)
	if err != nil || len(valid) != 1 || valid[0] != built.Signed[0] {
		t.Fatalf("verify: %+v, %v", valid, err)
	}
	if _, err := rustimg.VerifyAttestations(ctx, ref, pub, "slsaprovenance1", opts); err != nil {
		t.Fatalf("verify the provenance attestation: %v", err)
	}
	if _, err := rustimg.VerifyImage(ctx, ref, otherPub, opts); !errors.Is(err, rustimg.ErrVerify) {
		t.Fatalf("another key: %v", err)
	}

	cosign := cosignBinary()
	if cosign == "" {
		t.Log("cosign is not installed (scripts/setup.sh installs it): not checked with cosign verify")
		return
	}
	home := t.TempDir()
	for _, c := range []struct {
		pub  string
		want bool
	}{{pub, true}, {otherPub, false}} {
		cmd := exec.Command(cosign, "verify", "--key", c.pub, "--insecure-ignore-tlog", "--allow-insecure-registry", ref)
		cmd.Env = append(os.Environ(), "HOME="+home, "DOCKER_CONFIG="+filepath.Join(home, ".docker"))
		out, err := cmd.CombinedOutput()
		if (err == nil) != c.want {
			t.Fatalf("cosign verify --key %s %s: %v (want success: %v): %s", c.pub, ref, err, c.want, out)
		}
		if c.want && !strings.Contains(string(out), built.Digest) {
			t.Fatalf("cosign verify does not name %s: %s", built.Digest, out)
		}
	}
}

func TestBuildWithBaseKeyRefusesAnUnsignedBase(t *testing.T) {
	host := startRegistry(t, "")
	dir := t.TempDir()
	key, pub := opensslKeyPair(t, dir, "base", "")
	ctx := context.Background()
	opts := rustimg.RegistryOptions{SkipConfigFiles: true}
	binary := filepath.Join(fixtures, "x86_64-static-pie")
	base := host + "/go/base:v1"
	if _, err := rustimg.Build(ctx, rustimg.BuildOptions{Binary: binary, Output: "docker://" + base, Registry: opts}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "app")
	build := func() error {
		_, err := rustimg.Build(ctx, rustimg.BuildOptions{
			Binary: binary, Overrides: map[string]any{"base": base}, Output: "oci:" + out + ":v1",
			Registry: opts, BaseKey: pub,
		})
		return err
	}
	// Unsigned: refused, saying why, and nothing is written.
	err := build()
	var e *rustimg.Error
	if !errors.As(err, &e) || !errors.Is(err, rustimg.ErrVerify) ||
		!strings.Contains(e.Message, "the base image "+base+" is not signed by "+pub) ||
		!strings.Contains(e.Message, "has no signatures") {
		t.Fatalf("want a verify error for the unsigned base, got %v", err)
	}
	if _, statErr := os.Stat(out); !os.IsNotExist(statErr) {
		t.Fatalf("the refused build wrote %s", out)
	}
	// Signed by the key: built on.
	if _, err := rustimg.Sign(ctx, base, key, "", opts); err != nil {
		t.Fatal(err)
	}
	if err := build(); err != nil {
		t.Fatalf("build on the signed base: %v", err)
	}
}
