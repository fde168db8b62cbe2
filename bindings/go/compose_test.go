package rustimg_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	rustimg "github.com/rustimg/rustimg/bindings/go"
)

// must(call())(t) fails the test on call's error and returns its value.
func must[T any](v T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func closeLater(t *testing.T, c interface{ Close() error }) {
	t.Cleanup(func() { c.Close() })
}

// composeLayer builds the cross-language recipe's layer (the add calls in
// the order given) with mtime.
func composeLayer(t *testing.T, hello string, mtime int64, reversed bool) *rustimg.Layer {
	t.Helper()
	b := must(rustimg.NewLayerBuilder())(t)
	defer b.Close()
	adds := []func() error{
		func() error { return b.AddFile("/usr/local/bin/hello", hello, 0o755, 0, 0) },
		func() error {
			return b.AddBytes("/etc/greeting.txt", []byte("hello from rustimg\n"), 0o640, 65532, 65532)
		},
		func() error { return b.AddDirectory("/data", 0o750, 65532, 65532) },
	}
	for i := range adds {
		add := adds[i]
		if reversed {
			add = adds[len(adds)-1-i]
		}
		if err := add(); err != nil {
			t.Fatal(err)
		}
	}
	l := must(b.Build(rustimg.LayerOptions{Mtime: &mtime}))(t)
	closeLater(t, l)
	return l
}

// composeImage is the recipe's image: scratch, the layer, env, entrypoint,
// user, created.
func composeImage(t *testing.T, layer *rustimg.Layer) *rustimg.Image {
	t.Helper()
	base := must(rustimg.ImageScratch("linux/amd64"))(t)
	defer base.Close()
	appended := must(base.Append(layer, "compose test"))(t)
	defer appended.Close()
	user := "65532:65532"
	configured := must(appended.WithConfig(rustimg.ConfigChanges{
		Env:        map[string]string{"GREETING": "hi"},
		Entrypoint: []string{"/usr/local/bin/hello"},
		User:       &user,
	}))(t)
	defer configured.Close()
	img := must(configured.WithCreated(time.Unix(1700000000, 0)))(t)
	closeLater(t, img)
	return img
}

// staticBinary is the HELLO of the recipe: a static x86_64 executable.
func staticBinary() string { return filepath.Join(fixtures, "x86_64-static-pie") }

func TestComposeDigestsAreStable(t *testing.T) {
	a := composeLayer(t, staticBinary(), 1700000000, false)
	b := composeLayer(t, staticBinary(), 1700000000, true)
	if a.Digest() != b.Digest() || a.DiffID() != b.DiffID() || a.Size() != b.Size() {
		t.Fatalf("the order of the add calls changed the layer: %s vs %s", a.Digest(), b.Digest())
	}
	if !strings.HasPrefix(a.Digest(), "sha256:") || a.DiffID() == a.Digest() || a.Size() <= 0 ||
		a.MediaType() != "application/vnd.oci.image.layer.v1.tar+gzip" {
		t.Fatalf("layer: %s %s %d %s", a.Digest(), a.DiffID(), a.Size(), a.MediaType())
	}
	if c := composeLayer(t, staticBinary(), 1700000001, false); c.Digest() == a.Digest() {
		t.Fatal("the mtime is not part of the layer")
	}
	if composeImage(t, a).Digest() != composeImage(t, b).Digest() {
		t.Fatal("the same recipe gave two image digests")
	}
}

func TestComposeDotDotIsInvalidArgument(t *testing.T) {
	b := must(rustimg.NewLayerBuilder())(t)
	defer b.Close()
	err := b.AddBytes("/etc/../../x", []byte("x"), 0o644, 0, 0)
	var e *rustimg.Error
	if !errors.As(err, &e) || e.Code != rustimg.CodeInvalidArgument || !strings.Contains(e.Message, "..") {
		t.Fatalf("want an invalid-argument error naming the path, got %v", err)
	}
	if !errors.Is(err, rustimg.ErrInvalidArgument) {
		t.Fatalf("%v does not match ErrInvalidArgument", err)
	}
	// the builder is still usable and holds nothing of the refused call
	if err := b.AddBytes("/x", []byte("x"), 0o644, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := b.AddDirectory("/d", -1, 0, 0); !errors.Is(err, rustimg.ErrInvalidArgument) {
		t.Fatalf("negative mode: %v", err)
	}
}

func TestComposeMissingHostFileIsNotFound(t *testing.T) {
	b := must(rustimg.NewLayerBuilder())(t)
	defer b.Close()
	missing := filepath.Join(t.TempDir(), "gone")
	err := b.AddFile("/app", missing, rustimg.ModeFromHost, 0, 0)
	if !errors.Is(err, rustimg.ErrNotFound) || !strings.Contains(err.Error(), missing) {
		t.Fatalf("want a not-found error naming %s, got %v", missing, err)
	}
}

func TestComposeWriteAndLoadBack(t *testing.T) {
	img := composeImage(t, composeLayer(t, staticBinary(), 1700000000, false))
	dir := filepath.Join(t.TempDir(), "layout")
	res := must(img.Write(context.Background(), "oci:"+dir+":compose", rustimg.RegistryOptions{}))(t)
	if res.Digest != img.Digest() {
		t.Fatalf("wrote %s, image is %s", res.Digest, img.Digest())
	}
	loaded := must(rustimg.LoadImage("oci:"+dir+":compose", ""))(t)
	defer loaded.Close()
	if loaded.Digest() != img.Digest() || loaded.ConfigJSON() != img.ConfigJSON() ||
		!reflect.DeepEqual(loaded.LayerDigests(), img.LayerDigests()) || loaded.Platform() != "linux/amd64" {
		t.Fatalf("loaded %s %v, wrote %s %v", loaded.Digest(), loaded.LayerDigests(), img.Digest(), img.LayerDigests())
	}
	// a scratch image has nothing to write: an error, and no output
	empty := must(rustimg.ImageScratch("linux/amd64"))(t)
	defer empty.Close()
	out := filepath.Join(t.TempDir(), "empty")
	if _, err := empty.Write(context.Background(), "oci:"+out, rustimg.RegistryOptions{}); !errors.Is(err, rustimg.ErrInvalidArgument) {
		t.Fatalf("writing an image without layers: %v", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("a failed write left %s behind", out)
	}
}

type configDoc struct {
	Config struct {
		Env         []string
		Entrypoint  []string
		User        string
		Labels      map[string]string
		WorkingDir  string
		StopSignal  string
		Healthcheck struct {
			Test     []string
			Interval int64
			Retries  int
		}
	} `json:"config"`
}

func TestComposeMutateKeepsLayers(t *testing.T) {
	img := composeImage(t, composeLayer(t, staticBinary(), 1700000000, false))
	workdir, term := "/data", "TERM"
	changed := must(img.WithConfig(rustimg.ConfigChanges{
		Labels:     map[string]string{"org.example.team": "infra"},
		Workdir:    &workdir,
		Entrypoint: []string{}, // empty: none
		StopSignal: &term,
		Healthcheck: &rustimg.Healthcheck{Test: []string{"CMD", "/usr/local/bin/hello", "--health"},
			Interval: 30 * time.Second, Retries: 3},
	}))(t)
	defer changed.Close()
	if changed.Digest() == img.Digest() || changed.ConfigJSON() == img.ConfigJSON() {
		t.Fatal("the config change changed nothing")
	}
	if !reflect.DeepEqual(changed.LayerDigests(), img.LayerDigests()) || len(img.LayerDigests()) != 1 {
		t.Fatalf("layers changed: %v -> %v", img.LayerDigests(), changed.LayerDigests())
	}
	var doc configDoc
	if err := json.Unmarshal([]byte(changed.ConfigJSON()), &doc); err != nil {
		t.Fatal(err)
	}
	c := doc.Config
	if c.Labels["org.example.team"] != "infra" || c.WorkingDir != "/data" || c.Entrypoint != nil ||
		c.User != "65532:65532" || !reflect.DeepEqual(c.Env, []string{"GREETING=hi"}) || c.StopSignal != "SIGTERM" ||
		c.Healthcheck.Interval != int64(30*time.Second) || c.Healthcheck.Retries != 3 || len(c.Healthcheck.Test) != 3 {
		t.Fatalf("config after the change: %+v", c)
	}
	// an empty healthcheck turns it off, as Docker writes it
	off := must(changed.WithConfig(rustimg.ConfigChanges{Healthcheck: &rustimg.Healthcheck{}}))(t)
	defer off.Close()
	if !strings.Contains(off.ConfigJSON(), `"Test":["NONE"]`) {
		t.Fatalf("healthcheck off: %s", off.ConfigJSON())
	}
	annotated := must(changed.WithAnnotations(map[string]string{"org.opencontainers.image.title": "hello"}))(t)
	defer annotated.Close()
	if !strings.Contains(annotated.ManifestJSON(), `"org.opencontainers.image.title":"hello"`) ||
		annotated.ConfigJSON() != changed.ConfigJSON() {
		t.Fatalf("annotations: %s", annotated.ManifestJSON())
	}
}

func TestComposeBadConfigValueIsSpecError(t *testing.T) {
	img := composeImage(t, composeLayer(t, staticBinary(), 1700000000, false))
	relative := "data"
	_, err := img.WithConfig(rustimg.ConfigChanges{Workdir: &relative, Ports: []string{"99999"}})
	var e *rustimg.Error
	if !errors.As(err, &e) || e.Code != rustimg.CodeSpec || len(e.Details) != 2 ||
		!strings.Contains(strings.Join(e.Details, "\n"), "$.workdir") {
		t.Fatalf("want a spec error naming both values, got %v (details %q)", err, e.Details)
	}
}

func TestComposeCloseIsTheContract(t *testing.T) {
	layer := composeLayer(t, staticBinary(), 1700000000, false)
	base := must(rustimg.ImageScratch("linux/amd64"))(t)
	img := must(base.Append(layer, "compose test"))(t)
	defer img.Close()
	digest := layer.Digest()
	base.Close()
	layer.Close()
	layer.Close() // idempotent
	if layer.Digest() != digest {
		t.Fatal("accessors must stay valid after Close")
	}
	if _, err := base.Append(layer, ""); !errors.Is(err, rustimg.ErrInvalidArgument) || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("using a closed image: %v", err)
	}
	// the image made from them does not depend on them
	res := must(img.Write(context.Background(), "oci:"+filepath.Join(t.TempDir(), "out"), rustimg.RegistryOptions{}))(t)
	if res.Digest != img.Digest() {
		t.Fatal(res.Digest)
	}
	// Close racing with calls that use the value: never a use after free
	// (go test -race, and the C library's own checks under ASan)
	racer := must(rustimg.ImageScratch("linux/arm64"))(t)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if out, err := racer.WithCreated(time.Unix(1, 0)); err == nil {
				out.Close()
			} else if !errors.Is(err, rustimg.ErrInvalidArgument) {
				t.Error(err)
			}
		}()
	}
	racer.Close()
	wg.Wait()
}

func TestComposeIndexOfTwoPlatforms(t *testing.T) {
	layer := composeLayer(t, staticBinary(), 1700000000, false)
	var images []*rustimg.Image
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		base := must(rustimg.ImageScratch(p))(t)
		img := must(base.Append(layer, "compose test"))(t)
		base.Close()
		closeLater(t, img)
		images = append(images, img)
	}
	idx := must(rustimg.NewIndex(images, map[string]string{"org.opencontainers.image.title": "hello"}))(t)
	defer idx.Close()
	if !strings.Contains(idx.JSON(), images[1].Digest()) || !strings.HasPrefix(idx.Digest(), "sha256:") {
		t.Fatalf("index %s", idx.JSON())
	}
	dir := filepath.Join(t.TempDir(), "multi")
	res := must(idx.Write(context.Background(), "oci:"+dir+":v1", rustimg.RegistryOptions{}))(t)
	if res.Digest != idx.Digest() {
		t.Fatalf("wrote %s, index is %s", res.Digest, idx.Digest())
	}
	arm := must(rustimg.LoadImage("oci:"+dir+":v1", "linux/arm64"))(t)
	defer arm.Close()
	if arm.Digest() != images[1].Digest() {
		t.Fatalf("linux/arm64 from the index: %s, want %s", arm.Digest(), images[1].Digest())
	}
	if _, err := rustimg.NewIndex([]*rustimg.Image{images[0], images[0]}, nil); !errors.Is(err, rustimg.ErrInvalidArgument) {
		t.Fatalf("two images for one platform: %v", err)
	}
}

func TestComposePushAndPullAgainstRealRegistry(t *testing.T) {
	host := startRegistry(t, "")
	opts := rustimg.RegistryOptions{SkipConfigFiles: true, InsecureRegistries: []string{host}}
	ctx := context.Background()
	img := composeImage(t, composeLayer(t, staticBinary(), 1700000000, false))
	ref := host + "/go/compose:v1"
	pushed := must(img.Write(ctx, "docker://"+ref, opts))(t)
	if pushed.Reference != ref+"@"+img.Digest() || pushed.BlobsUploaded == 0 {
		t.Fatalf("push: %+v", pushed)
	}
	pulled := must(rustimg.PullImage(ctx, ref, "linux/amd64", opts))(t)
	defer pulled.Close()
	if pulled.Digest() != img.Digest() || !reflect.DeepEqual(pulled.LayerDigests(), img.LayerDigests()) {
		t.Fatalf("pulled %s, pushed %s", pulled.Digest(), img.Digest())
	}
	// no platform: a single image whatever its platform...
	anyPlatform := must(rustimg.PullImage(ctx, ref, "", opts))(t)
	defer anyPlatform.Close()
	if anyPlatform.Digest() != img.Digest() {
		t.Fatalf("pulled without a platform: %s, pushed %s", anyPlatform.Digest(), img.Digest())
	}
	armBase := must(rustimg.ImageScratch("linux/arm64"))(t)
	defer armBase.Close()
	arm := must(armBase.Append(composeLayer(t, staticBinary(), 1700000000, false), "arm"))(t)
	defer arm.Close()
	must(arm.Write(ctx, "docker://"+host+"/go/arm:v1", opts))(t)
	armPulled := must(rustimg.PullImage(ctx, host+"/go/arm:v1", "", opts))(t)
	defer armPulled.Close()
	if armPulled.Platform() != "linux/arm64" || armPulled.Digest() != arm.Digest() {
		t.Fatalf("an arm64-only image pulled without a platform: %s %s", armPulled.Platform(), armPulled.Digest())
	}
	// ...and from an index its linux/amd64 image
	idx := must(rustimg.NewIndex([]*rustimg.Image{arm, img}, nil))(t)
	defer idx.Close()
	must(idx.Write(ctx, "docker://"+host+"/go/multi:v1", opts))(t)
	fromIndex := must(rustimg.PullImage(ctx, host+"/go/multi:v1", "", opts))(t)
	defer fromIndex.Close()
	if fromIndex.Digest() != img.Digest() || fromIndex.Platform() != "linux/amd64" {
		t.Fatalf("an index pulled without a platform: %s %s", fromIndex.Platform(), fromIndex.Digest())
	}
	// a context that has ended stops the call and says so
	ended, cancel := context.WithCancel(ctx)
	cancel()
	_, err := rustimg.PullImage(ended, ref, "linux/amd64", opts)
	if !errors.Is(err, rustimg.ErrCancelled) || !errors.Is(err, context.Canceled) {
		t.Fatalf("pull with an ended context: %v", err)
	}
}

func TestComposeTreesSymlinksTarsAndBases(t *testing.T) {
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "index.html"), []byte("<h1>hi</h1>"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := must(rustimg.NewLayerBuilder())(t)
	defer b.Close()
	if err := b.AddTree("/srv/www", host, 65532, 65532); err != nil {
		t.Fatal(err)
	}
	if err := b.AddSymlink("/srv/current", "www", 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := b.AddSymlink("/srv/current", "www", 0, 0); !errors.Is(err, rustimg.ErrInvalidArgument) ||
		!strings.Contains(err.Error(), "srv/current") {
		t.Fatalf("a path added twice: %v", err)
	}
	zstd := must(b.Build(rustimg.LayerOptions{Compression: "zstd"}))(t)
	defer zstd.Close()
	if zstd.MediaType() != "application/vnd.oci.image.layer.v1.tar+zstd" {
		t.Fatal(zstd.MediaType())
	}

	// a tar is written again entry by entry: its content is kept (same input,
	// same layer), and a tar rustimg wrote keeps its diff_id
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := []byte("from a tar\n")
	if err := tw.WriteHeader(&tar.Header{Name: "etc/motd", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Write(body)
	tw.Close()
	tarPath := filepath.Join(t.TempDir(), "layer.tar")
	if err := os.WriteFile(tarPath, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	fromTar := must(rustimg.LayerFromTar(tarPath, rustimg.LayerOptions{}))(t)
	defer fromTar.Close()
	again := must(rustimg.LayerFromTar(tarPath, rustimg.LayerOptions{}))(t)
	defer again.Close()
	if again.Digest() != fromTar.Digest() || again.DiffID() != fromTar.DiffID() {
		t.Fatalf("one tar, two layers: %s %s", fromTar.Digest(), again.Digest())
	}
	plain := must(b.Build(rustimg.LayerOptions{Compression: "none"}))(t)
	defer plain.Close()
	scratch := must(rustimg.ImageScratch("linux/amd64"))(t)
	defer scratch.Close()
	holder := must(scratch.Append(plain, "plain"))(t)
	defer holder.Close()
	layout := t.TempDir()
	must(holder.Write(context.Background(), "oci:"+layout, rustimg.RegistryOptions{}))(t)
	blob := filepath.Join(layout, "blobs", "sha256", strings.TrimPrefix(plain.Digest(), "sha256:"))
	reread := must(rustimg.LayerFromTar(blob, rustimg.LayerOptions{Compression: "none"}))(t)
	defer reread.Close()
	if reread.DiffID() != plain.DiffID() || reread.Digest() != plain.Digest() {
		t.Fatalf("a tar rustimg wrote: diff_id %s, was %s", reread.DiffID(), plain.DiffID())
	}

	static := must(rustimg.ImageBuiltin("static", "linux/amd64"))(t)
	defer static.Close()
	if len(static.LayerDigests()) != 1 || !strings.Contains(static.ConfigJSON(), "PATH=") {
		t.Fatalf("the static base: %v %s", static.LayerDigests(), static.ConfigJSON())
	}
	withTar := must(static.Append(fromTar, "motd"))(t)
	defer withTar.Close()
	if got := withTar.LayerDigests(); len(got) != 2 || got[0] != static.LayerDigests()[0] || got[1] != fromTar.Digest() {
		t.Fatalf("layers after append: %v", got)
	}
	if _, err := rustimg.ImageBuiltin("alpine", "linux/amd64"); !errors.Is(err, rustimg.ErrUnsupported) {
		t.Fatalf("an unknown built-in base: %v", err)
	}
}

func TestComposeNilValues(t *testing.T) {
	// Close on nil does nothing
	var (
		b   *rustimg.LayerBuilder
		l   *rustimg.Layer
		img *rustimg.Image
		idx *rustimg.Index
	)
	for _, c := range []interface{ Close() error }{b, l, img, idx} {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// a nil value used or passed is an error, not a panic
	base := must(rustimg.ImageScratch("linux/amd64"))(t)
	defer base.Close()
	if _, err := base.Append(nil, "x"); !errors.Is(err, rustimg.ErrInvalidArgument) || !strings.Contains(err.Error(), "layer") {
		t.Fatalf("Append(nil): %v", err)
	}
	layer := composeLayer(t, staticBinary(), 1700000000, false)
	if _, err := img.Append(layer, "x"); !errors.Is(err, rustimg.ErrInvalidArgument) {
		t.Fatalf("Append on a nil image: %v", err)
	}
	if _, err := img.WithCreated(time.Unix(0, 0)); !errors.Is(err, rustimg.ErrInvalidArgument) {
		t.Fatalf("WithCreated on a nil image: %v", err)
	}
	if _, err := img.Write(context.Background(), "oci:"+t.TempDir(), rustimg.RegistryOptions{}); !errors.Is(err, rustimg.ErrInvalidArgument) {
		t.Fatalf("Write of a nil image: %v", err)
	}
	if _, err := idx.Write(context.Background(), "oci:"+t.TempDir(), rustimg.RegistryOptions{}); !errors.Is(err, rustimg.ErrInvalidArgument) {
		t.Fatalf("Write of a nil index: %v", err)
	}
	if err := b.AddBytes("/x", nil, 0o644, 0, 0); !errors.Is(err, rustimg.ErrInvalidArgument) {
		t.Fatalf("AddBytes on a nil builder: %v", err)
	}
	if _, err := b.Build(rustimg.LayerOptions{}); !errors.Is(err, rustimg.ErrInvalidArgument) {
		t.Fatalf("Build on a nil builder: %v", err)
	}
	if _, err := rustimg.NewIndex([]*rustimg.Image{base, nil}, nil); !errors.Is(err, rustimg.ErrInvalidArgument) ||
		!strings.Contains(err.Error(), "images[1]") {
		t.Fatalf("NewIndex with a nil image: %v", err)
	}
}

// Values Go's int holds and C's int or unsigned does not are refused,
// naming the argument, instead of wrapping around (1<<32 | 0o644 would be
// 0o644 in C, 1<<32 - 1 would be RUSTIMG_MODE_FROM_HOST).
func TestComposeOutOfRangeArguments(t *testing.T) {
	host := staticBinary()
	b := must(rustimg.NewLayerBuilder())(t)
	defer b.Close()
	wantInvalid := func(what string, err error, name string) {
		t.Helper()
		if !errors.Is(err, rustimg.ErrInvalidArgument) || !strings.Contains(err.Error(), name) {
			t.Fatalf("%s: want an invalid-argument error naming %s, got %v", what, name, err)
		}
	}
	// on every arch: not ModeFromHost and negative, or beyond permission bits
	wantInvalid("mode -2", b.AddFile("/a", host, -2, 0, 0), "mode")
	wantInvalid("mode 0o10000", b.AddFile("/a", host, 0o10000, 0, 0), "mode")
	wantInvalid("mode -1 for bytes", b.AddBytes("/a", nil, -1, 0, 0), "mode")
	maxInt := int(^uint(0) >> 1)
	wantInvalid("mode MaxInt", b.AddFile("/a", host, maxInt, 0, 0), "mode")
	wantInvalid("mode MaxInt for a directory", b.AddDirectory("/d", maxInt, 0, 0), "mode")
	wantInvalid("uid -1", b.AddSymlink("/s", "x", -1, 0), "uid")
	if strconv.IntSize == 64 {
		wide := int64(1) << 32 // not a constant: this file compiles for 32-bit targets too
		wantInvalid("mode 1<<32|0o644", b.AddFile("/a", host, int(wide|0o644), 0, 0), "mode")
		wantInvalid("mode 1<<32-1", b.AddFile("/a", host, int(wide-1), 0, 0), "mode")
		wantInvalid("mode 1<<32|0o644 for bytes", b.AddBytes("/a", nil, int(wide|0o644), 0, 0), "mode")
		wantInvalid("gid 1<<32", b.AddTree("/t", t.TempDir(), 0, int(wide)), "gid")
		_, err := b.Build(rustimg.LayerOptions{Level: int(wide + 6)})
		wantInvalid("level 1<<32+6", err, "Level")
		_, err = rustimg.PullImage(context.Background(), "127.0.0.1:1/x:y", "", rustimg.RegistryOptions{Jobs: uint(wide)})
		wantInvalid("jobs 1<<32", err, "Jobs")
	}
	_, err := rustimg.PullImage(context.Background(), "127.0.0.1:1/x:y", "",
		rustimg.RegistryOptions{StallTimeout: time.Duration(1<<63 - 1)})
	wantInvalid("a stall timeout of 292 years", err, "StallTimeout")
	// none of the refused calls added anything
	if err := b.AddFile("/a", host, rustimg.ModeFromHost, 0, 0); err != nil {
		t.Fatal(err)
	}
}

// NewIndex holds its images while C reads them: two calls given the same
// images in opposite orders, racing with Close of both, never deadlock
// (each image is locked in one global order).
func TestComposeNewIndexLockOrder(t *testing.T) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 300; i++ {
			a, err := rustimg.ImageScratch("linux/amd64")
			if err != nil {
				t.Error(err)
				return
			}
			b, err := rustimg.ImageScratch("linux/arm64")
			if err != nil {
				t.Error(err)
				return
			}
			var wg sync.WaitGroup
			for _, order := range [][]*rustimg.Image{{a, b}, {b, a}, {a, b}, {b, a}} {
				wg.Add(1)
				go func(images []*rustimg.Image) {
					defer wg.Done()
					if idx, err := rustimg.NewIndex(images, nil); err == nil {
						idx.Close()
					} else if !errors.Is(err, rustimg.ErrInvalidArgument) {
						t.Error(err)
					}
				}(order)
			}
			wg.Add(2)
			go func() { defer wg.Done(); a.Close() }()
			go func() { defer wg.Done(); b.Close() }()
			wg.Wait()
		}
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("NewIndex deadlocked with Close")
	}
}
