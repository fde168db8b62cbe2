package rustimg_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	rustimg "github.com/rustimg/rustimg/bindings/go"
)

// copyCrate copies the example crate (without its target dir) into a temp dir.
func copyCrate(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "hello")
	if out, err := exec.Command("cp", "-r", "../../examples/hello", dst).CombinedOutput(); err != nil {
		t.Fatalf("copy: %v: %s", err, out)
	}
	os.RemoveAll(filepath.Join(dst, "target"))
	return dst
}

func TestBuildCrateToLayout(t *testing.T) {
	crate := copyCrate(t)
	layout := filepath.Join(t.TempDir(), "layout")
	var stages []string
	res, err := rustimg.Build(context.Background(), rustimg.BuildOptions{
		CrateDir: crate,
		Output:   "oci:" + layout + ":v1",
		Progress: func(e rustimg.ProgressEvent) { stages = append(stages, e.Stage) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.Digest, "sha256:") || len(res.Digest) != 71 {
		t.Fatalf("bad digest %q", res.Digest)
	}
	if len(res.Reports) != 1 || res.Reports[0].Linkage != "static-pie" || !res.Reports[0].FitForScratch {
		t.Fatalf("unexpected reports: %+v", res.Reports)
	}
	if !strings.Contains(strings.Join(stages, ","), "cargo") || !strings.Contains(strings.Join(stages, ","), "write") {
		t.Fatalf("progress stages: %v", stages)
	}
	raw, err := exec.Command("skopeo", "inspect", "--raw", "oci:"+layout+":v1").Output()
	if err != nil {
		t.Fatalf("skopeo inspect: %v", err)
	}
	if got := fmt.Sprintf("sha256:%x", sha256.Sum256(raw)); got != res.Digest {
		t.Fatalf("layout holds %s, Build returned %s", got, res.Digest)
	}
}

// The SBOM rides beside the image in the layout's index.json: SPDX by
// default, CycloneDX when asked for, none with "none"; so does the
// provenance unless turned off; the image is the same.
func TestBuildAttachesTheSBOMAndProvenanceAskedFor(t *testing.T) {
	crate := copyCrate(t)
	epoch := int64(1700000000)
	digests := map[string]string{}
	off := false
	for _, sbom := range []string{"", "cyclonedx", "none"} {
		layout := filepath.Join(t.TempDir(), "layout")
		res, err := rustimg.Build(context.Background(), rustimg.BuildOptions{
			CrateDir: crate, Output: "oci:" + layout + ":v1", SBOM: sbom, Provenance: &off, SourceDateEpoch: &epoch,
		})
		if err != nil {
			t.Fatal(err)
		}
		digests[sbom] = res.Digest
		raw, err := os.ReadFile(filepath.Join(layout, "index.json"))
		if err != nil {
			t.Fatal(err)
		}
		index := string(raw)
		want := map[string]string{"": "application/spdx+json", "cyclonedx": "application/vnd.cyclonedx+json"}[sbom]
		if got := strings.Count(index, `"artifactType"`); (want == "" && got != 0) || (want != "" && got != 1) {
			t.Fatalf("sbom %q: index.json lists %d artifacts: %s", sbom, got, index)
		}
		if want != "" && !strings.Contains(index, `"artifactType":"`+want+`"`) {
			t.Fatalf("sbom %q: no %s artifact in %s", sbom, want, index)
		}
	}
	layout := filepath.Join(t.TempDir(), "layout")
	res, err := rustimg.Build(context.Background(), rustimg.BuildOptions{
		CrateDir: crate, Output: "oci:" + layout + ":v1", SourceDateEpoch: &epoch,
	})
	if err != nil {
		t.Fatal(err)
	}
	digests["provenance"] = res.Digest
	raw, err := os.ReadFile(filepath.Join(layout, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if index := string(raw); strings.Count(index, `"artifactType"`) != 2 ||
		!strings.Contains(index, `"artifactType":"application/vnd.in-toto+json"`) {
		t.Fatalf("by default index.json lists an SBOM and the provenance: %s", index)
	}
	if digests[""] != digests["cyclonedx"] || digests[""] != digests["none"] || digests[""] != digests["provenance"] {
		t.Fatalf("the SBOM or the provenance changed the image digest: %v", digests)
	}

	// An archive cannot carry them: they are files beside it, listed.
	archive := filepath.Join(t.TempDir(), "img.tar")
	res, err = rustimg.Build(context.Background(), rustimg.BuildOptions{
		CrateDir: crate, Output: "oci-archive:" + archive, SourceDateEpoch: &epoch,
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{archive + ".spdx.json", archive + ".provenance.json"}; !reflect.DeepEqual(res.Beside, want) {
		t.Fatalf("beside the archive: %v, want %v", res.Beside, want)
	}
	for _, f := range res.Beside {
		if _, err := os.Stat(f); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBuildCancelledLeavesNothing(t *testing.T) {
	crate := copyCrate(t)
	layout := filepath.Join(t.TempDir(), "layout")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := rustimg.Build(ctx, rustimg.BuildOptions{
		CrateDir: crate,
		Output:   "oci:" + layout,
		Progress: func(e rustimg.ProgressEvent) {
			if e.Stage == "cargo" {
				cancel() // as a CI tool would on a timeout
			}
		},
	})
	if !errors.Is(err, rustimg.ErrCancelled) || !errors.Is(err, context.Canceled) ||
		errors.Is(err, context.DeadlineExceeded) || !strings.HasSuffix(err.Error(), ": context canceled") {
		t.Fatalf("want ErrCancelled wrapping context.Canceled, got %v", err)
	}
	if _, statErr := os.Stat(layout); !os.IsNotExist(statErr) {
		t.Fatalf("cancelled build left %s behind", layout)
	}
}

func TestBuildErrorsKeepCodeAndMessage(t *testing.T) {
	_, err := rustimg.Build(context.Background(), rustimg.BuildOptions{
		CrateDir:  copyCrate(t),
		Output:    "oci:" + filepath.Join(t.TempDir(), "x"),
		Overrides: map[string]any{"enviroment": map[string]any{"A": "b"}},
	})
	var e *rustimg.Error
	if !errors.As(err, &e) || !errors.Is(err, rustimg.ErrSpec) {
		t.Fatalf("want a spec error, got %v", err)
	}
	if len(e.Details) != 1 || !strings.Contains(e.Details[0], `$.enviroment: unknown key; did you mean "env"?`) {
		t.Fatalf("details: %#v", e.Details)
	}
	_, err = rustimg.Build(context.Background(), rustimg.BuildOptions{Binary: "/bin/ls", Output: "oci:" + t.TempDir() + "/y"})
	if !errors.Is(err, rustimg.ErrVerify) {
		t.Fatalf("want ErrVerify for a dynamic binary, got %v", err)
	}
}
