package rustimg

/*
#include <stdint.h>
#include <stdlib.h>
#include <rustimg.h>

// Implemented in Go (callbacks.go); payload points at a cgo.Handle.
extern int goProgress(rustimg_progress_event *event, void *payload);

static int call_build(rustimg_build_result **out, rustimg_build_options *opts, rustimg_error **err) {
	if (opts->progress_payload != NULL) opts->progress = (rustimg_progress_cb)goProgress;
	return rustimg_build(out, opts, err);
}
*/
import "C"

import (
	"context"
	"encoding/json"
	"runtime"
)

// ProgressEvent is one step of a build: Stage is "build", "cargo",
// "verify", "layer", "image" or "write"; Message is a human-readable line.
type ProgressEvent struct {
	Stage   string
	Message string
}

// BuildOptions describes one image build. Set exactly one of CrateDir and
// Binary.
type BuildOptions struct {
	CrateDir  string         // build this crate with cargo for every platform of its spec
	Binary    string         // or put this prebuilt binary in the image
	Platform  string         // with Binary: its platform; "" reads it from the ELF header
	SpecFile  string         // "" : CrateDir/rustimg.json when it exists
	Overrides map[string]any // spec overrides (same schema as the spec file)
	// SBOM is the SBOM attached to each platform image of an "oci:" or registry output:
	// "spdx" (SPDX 2.3 JSON), "cyclonedx" (CycloneDX 1.5 JSON) or "none";
	// "" keeps the spec's (default "spdx"). It overrides Overrides["sbom"].
	SBOM string
	// Provenance, when set, turns the SLSA provenance attached to each
	// image cargo built for an "oci:" or registry output on or off (default on). It
	// overrides Overrides["provenance"].
	Provenance *bool
	// Output is "oci:DIR[:TAG]", "oci-archive:FILE[:TAG]",
	// "docker-archive:FILE[:NAME:TAG]" or "docker://HOST/REPO:TAG" (pushed
	// to a registry as it is written, reached with Registry).
	Output       string
	AllowDynamic bool
	// SourceDateEpoch sets every timestamp; nil uses $SOURCE_DATE_EPOCH or 0.
	SourceDateEpoch *int64
	// Progress, when set, receives each step; it runs on the building goroutine.
	Progress func(ProgressEvent)
	// Registry says how to reach the registry of an image base (the spec's
	// base when it is a reference): insecure registries, CA file,
	// credentials. The zero value uses the defaults.
	Registry RegistryOptions
	// SignKey, when set, is a PEM ECDSA P-256 private key file (cosign.key
	// works): the image pushed to a "docker://" Output is signed after the
	// push, as Sign does, and the SBOM and provenance pushed with it are
	// attested (see BuildResult.Signed). The key is read before anything is
	// built; an Output that pushes nothing is CodeInvalidArgument.
	SignKey string
	// KeyPasswordEnv names the environment variable holding the passphrase
	// of an encrypted SignKey; "" : COSIGN_PASSWORD.
	KeyPasswordEnv string
	// BaseKey, when set, is a PEM public key file (cosign.pub): the image
	// base (the spec's base, a registry reference) must carry a signature
	// by it, checked as VerifyImage does before the base is pulled, else
	// the build fails with CodeVerify. It wins over the spec's "base-key".
	BaseKey string
}

// BuildResult is what a build produced.
type BuildResult struct {
	Digest    string    `json:"digest"`     // manifest (one platform) or index digest
	MediaType string    `json:"media_type"` // of that manifest or index
	Size      int64     `json:"size"`
	Reports   []*Report `json:"reports"` // verification of every binary
	// Pushed is, for a "docker://" Output, what the push did.
	Pushed []TransferResult `json:"pushed"`
	// References is every "host/repo:tag@sha256:..." pushed, in order.
	References []string `json:"references"`
	// Signed is, with SignKey, what was signed (Signature entries, the top
	// manifest first), then the SBOM and provenance attested (PredicateType
	// set).
	Signed []Signature `json:"signed"`
	// Beside is, for an archive Output, the SBOM and provenance files
	// written beside it (an archive cannot carry them).
	Beside []string `json:"beside"`
}

type progressState struct {
	fn  func(ProgressEvent)
	ctx context.Context
}

// Build builds an image. Cancelling ctx stops the build (cargo included)
// and leaves no output behind; the error then matches ErrCancelled and
// ctx.Err() (context.Canceled or context.DeadlineExceeded).
func Build(ctx context.Context, opts BuildOptions) (*BuildResult, error) {
	var copts C.rustimg_build_options
	if rc := C.rustimg_build_options_init(&copts, C.RUSTIMG_BUILD_OPTIONS_VERSION); rc < 0 {
		return nil, &Error{Code: Code(rc), Message: "unsupported options version"}
	}
	var mem cArena
	defer mem.free()
	copts.crate_dir = mem.str(opts.CrateDir)
	copts.binary = mem.str(opts.Binary)
	copts.platform = mem.str(opts.Platform)
	copts.spec_file = mem.str(opts.SpecFile)
	copts.output = mem.str(opts.Output)
	copts.sign_key = mem.str(opts.SignKey)
	copts.sign_key_password_env = mem.str(opts.KeyPasswordEnv)
	copts.base_key = mem.str(opts.BaseKey)
	if opts.AllowDynamic {
		copts.allow_dynamic = 1
	}
	if opts.SourceDateEpoch != nil {
		copts.source_date_epoch = C.longlong(*opts.SourceDateEpoch)
	}
	specOverrides := opts.Overrides
	if opts.SBOM != "" || opts.Provenance != nil {
		specOverrides = make(map[string]any, len(opts.Overrides)+2)
		for k, v := range opts.Overrides {
			specOverrides[k] = v
		}
		if opts.SBOM != "" {
			specOverrides["sbom"] = opts.SBOM
		}
		if opts.Provenance != nil {
			specOverrides["provenance"] = *opts.Provenance
		}
	}
	overrides, err := mem.jsonStr(specOverrides)
	if err != nil {
		return nil, err
	}
	copts.overrides_json = overrides

	hooks, err := newCallHooks(ctx, opts.Progress, &mem)
	if err != nil {
		return nil, err
	}
	defer hooks.close()
	copts.cancel = hooks.token
	copts.progress_payload = hooks.payload

	var result *C.rustimg_build_result
	err = withRegistryOptions(ctx, opts.Registry, func(ropts *C.rustimg_registry_options, cerr **C.rustimg_error) C.int {
		// copts is Go memory handed to C: what it points to must be C memory.
		registry := (*C.rustimg_registry_options)(mem.alloc(uintptr(C.sizeof_rustimg_registry_options)))
		*registry = *ropts
		copts.registry = registry
		return C.call_build(&result, &copts, cerr)
	})
	runtime.KeepAlive(opts)
	if err != nil {
		return nil, err
	}
	defer C.rustimg_build_result_free(result)
	var out BuildResult
	if err := json.Unmarshal([]byte(C.GoString(C.rustimg_build_result_json(result))), &out); err != nil {
		return nil, &Error{Code: CodeGeneric, Message: "decoding the build result: " + err.Error()}
	}
	return &out, nil
}
