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
