package rustimg_test

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	rustimg "github.com/rustimg/rustimg/bindings/go"
)

var fixtures string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rustimg-go-elf")
	if err != nil {
		panic(err)
	}
	out, err := exec.Command("../../tests/fixtures/elf/make_fixtures.sh", dir).CombinedOutput()
	if err != nil {
		panic(string(out))
	}
	fixtures = dir
	// Image bases are cached here, not in the user's cache.
	os.Setenv("RUSTIMG_CACHE_DIR", filepath.Join(dir, "base-cache"))
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestVerifyStaticPie(t *testing.T) {
	r, err := rustimg.Verify(filepath.Join(fixtures, "x86_64-static-pie"), "linux/amd64")
	if err != nil {
		t.Fatal(err)
	}
	if r.Linkage != "static-pie" || !r.FitForScratch || r.Architecture != "amd64" {
		t.Fatalf("unexpected report: %+v", r)
	}
}

func TestVerifyDynamicIsUnfit(t *testing.T) {
	r, err := rustimg.Verify(filepath.Join(fixtures, "x86_64-dynamic"), "")
	if err != nil {
		t.Fatal(err)
	}
	if r.FitForScratch || r.Linkage != "dynamic" || len(r.Problems) == 0 || r.Interpreter == nil {
		t.Fatalf("unexpected report: %+v", r)
	}
	if len(r.ProblemKinds) != len(r.Problems) || r.ProblemKinds[0] != "dynamic" {
		t.Fatalf("problem kinds %q for problems %q", r.ProblemKinds, r.Problems)
	}
}

func TestVerifyErrorsAreTyped(t *testing.T) {
	_, err := rustimg.Verify("/nonexistent/app", "")
	if !errors.Is(err, rustimg.ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
	var e *rustimg.Error
	if !errors.As(err, &e) || e.Class != "not_found" || !strings.Contains(e.Message, "/nonexistent/app") {
		t.Fatalf("error lost its details: %#v", err)
	}
	if _, err := rustimg.Verify("/bin/ls", "linux/pdp11"); !errors.Is(err, rustimg.ErrInvalidArgument) {
		t.Fatalf("want ErrInvalidArgument, got %v", err)
	}
	if errors.Is(err, rustimg.ErrSpec) {
		t.Fatal("a not-found error must not match ErrSpec")
	}
}

func TestSpecErrorCarriesEveryProblem(t *testing.T) {
	_, err := rustimg.LoadSpec(rustimg.SpecOptions{
		SkipCargoMetadata: true,
		Overrides:         map[string]any{"env": map[string]any{"PORT": 8080}, "enviroment": map[string]any{}},
	})
	var e *rustimg.Error
	if !errors.As(err, &e) || e.Code != rustimg.CodeSpec {
		t.Fatalf("want a spec error, got %v", err)
	}
	if len(e.Details) != 2 || !strings.Contains(e.Message, "$.env.PORT: expected a string, got a number") {
		t.Fatalf("details lost: %#v", e)
	}
}

func TestLoadSpecFromCrate(t *testing.T) {
	raw, err := rustimg.LoadSpec(rustimg.SpecOptions{
		CrateDir:  "../../tests/fixtures/crates/ws/app",
		Overrides: map[string]any{"platforms": []string{"linux/arm64"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Package   string   `json:"package"`
		Platforms []string `json:"platforms"`
	}
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	if spec.Package != "app" || len(spec.Platforms) != 1 || spec.Platforms[0] != "linux/arm64" {
		t.Fatalf("unexpected spec: %s", raw)
	}
}

func TestConcurrentVerify(t *testing.T) {
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			name := []string{"x86_64-static-pie", "aarch64-static", "riscv64-static", "x86_64-dynamic"}[i%4]
			if _, err := rustimg.Verify(filepath.Join(fixtures, name), ""); err != nil {
				errs <- err
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestVerifyNamesLinkedCLibraries(t *testing.T) {
	// A gcc -static program over Debian's static zlib carries zlib's copyright line.
	dir := t.TempDir()
	src := filepath.Join(dir, "main.c")
	prog := "#include <zlib.h>\n#include <stdio.h>\nint main(void) { unsigned char o[8]; uLongf n = 8;\n" +
		"  printf(\"%d\\n\", uncompress(o, &n, (const unsigned char *)\"x\", 1)); return 0; }\n"
	if err := os.WriteFile(src, []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "main")
	if out, err := exec.Command("gcc", "-static", "-O2", src, "-o", bin, "-lz").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	r, err := rustimg.Verify(bin, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.LinkedLibraries) != 1 || r.LinkedLibraries[0].Name != "zlib" || r.LinkedLibraries[0].Version == nil {
		t.Fatalf("linked libraries %+v", r.LinkedLibraries)
	}
}

func TestVerifyReportsTheNSSVerdict(t *testing.T) {
	// A static glibc (>= 2.34) program calling getaddrinfo, judged against glibc's defaults.
	r, err := rustimg.Verify(filepath.Join(fixtures, "x86_64-static-nss"), "")
	if err != nil {
		t.Fatal(err)
	}
	if r.GlibcVersion == nil || *r.GlibcVersion == "" {
		t.Fatalf("glibc version %v", r.GlibcVersion)
	}
	if r.NSSRisk || len(r.NSSFailing) != 0 {
		t.Fatalf("NSS risk %v, failing %+v", r.NSSRisk, r.NSSFailing)
	}
	if r.NSSCheckedAgainst == nil || !strings.Contains(*r.NSSCheckedAgainst, "glibc's defaults") {
		t.Fatalf("NSS checked against %v", r.NSSCheckedAgainst)
	}
	d, err := rustimg.Verify(filepath.Join(fixtures, "x86_64-dynamic"), "")
	if err != nil {
		t.Fatal(err)
	}
	if d.NSSCheckedAgainst != nil || d.GlibcVersion != nil {
		t.Fatalf("dynamic binary: checked against %v, glibc %v", d.NSSCheckedAgainst, d.GlibcVersion)
	}
}
