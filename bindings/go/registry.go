package rustimg

/*
#include <stdint.h>
#include <stdlib.h>
#include <rustimg.h>

extern int goProgress(rustimg_progress_event *event, void *payload);

static void set_progress(rustimg_registry_options *opts) { opts->progress = (rustimg_progress_cb)goProgress; }
*/
import "C"

import (
	"context"
	"encoding/json"
	"math"
	"runtime"
	"time"
	"unsafe"
)

// RegistryOptions says how to reach and authenticate with registries.
// Credentials otherwise come from ~/.docker/config.json ($DOCKER_CONFIG),
// its credential helpers and podman's auth.json.
type RegistryOptions struct {
	InsecureRegistries []string // "host[:port]" reached over plain HTTP or unverified TLS
	CAFile             string   // PEM CA bundle to trust for the registry
	// Username and Password are explicit credentials for one registry:
	// CredentialsRegistry ("ghcr.io", "127.0.0.1:5000"), or when that is
	// empty, the registry the call is about (Push's target, Pull's
	// reference, Build's image base). No other registry gets them.
	Username            string
	Password            string
	CredentialsRegistry string
	SkipConfigFiles     bool   // do not read docker/podman config files
	Jobs                uint   // parallel blob transfers (0: 4)
	ChunkSize           uint64 // upload in chunks of this size (0: one request per blob)
	// RequestTimeout bounds each request without blob data (0: 5 minutes);
	// StallTimeout gives up on a transfer slower than 1 KiB/s for that
	// long (0: 1 minute). The context's deadline bounds the whole call.
	RequestTimeout time.Duration
	StallTimeout   time.Duration
	// Progress receives transfer events (Stage "transfer"); it runs on a
	// goroutine of the calling call.
	Progress func(ProgressEvent)
}

// TransferResult is what a push or pull did.
type TransferResult struct {
	Reference     string `json:"reference"` // "host/repo:tag@sha256:..." for a push
	Digest        string `json:"digest"`
	BlobsUploaded int    `json:"blobs_uploaded"`
	BlobsMounted  int    `json:"blobs_mounted"`
	BlobsExisting int    `json:"blobs_existing"`
	BytesUploaded int64  `json:"bytes_uploaded"`
	// Referrers are the artifacts pushed with the image (its SBOMs and
	// provenance); empty for a pull.
	Referrers []Referrer `json:"referrers"`
	// Signatures are the cosign signature and attestation images an OCI
	// layout held about the image (see Sign), pushed with it:
	// "host/repo:sha256-<hex>.sig@sha256:..."; empty for a pull.
	Signatures []string `json:"signatures"`
}

// Referrer is an OCI 1.1 artifact pushed about a manifest.
type Referrer struct {
	Digest       string `json:"digest"`        // the artifact manifest's
	Subject      string `json:"subject"`       // the manifest it is about
	ArtifactType string `json:"artifact_type"` // "application/spdx+json", ...
	Via          string `json:"via"`           // "referrers-api" or "tag-schema"
}

// withRegistryOptions fills C options for one call and runs fn with them;
// ctx cancellation reaches the library through a cancel token, and the
// error of a call ctx ended unwraps to ctx.Err().
func withRegistryOptions(ctx context.Context, opts RegistryOptions,
	fn func(*C.rustimg_registry_options, **C.rustimg_error) C.int) error {
	var copts C.rustimg_registry_options
	if rc := C.rustimg_registry_options_init(&copts, C.RUSTIMG_REGISTRY_OPTIONS_VERSION); rc < 0 {
		return &Error{Code: Code(rc), Message: "unsupported options version"}
	}
	var mem cArena
	defer mem.free()
	if n := len(opts.InsecureRegistries); n > 0 {
		arr := (*[1 << 20]*C.char)(mem.alloc(uintptr(n) * unsafe.Sizeof((*C.char)(nil))))[:n:n]
		for i, h := range opts.InsecureRegistries {
			arr[i] = mem.str(h)
		}
		copts.insecure_registries = &arr[0]
		copts.insecure_registries_count = C.size_t(n)
	}
	copts.ca_file = mem.str(opts.CAFile)
	copts.username = mem.str(opts.Username)
	copts.password = mem.str(opts.Password)
	copts.credentials_registry = mem.str(opts.CredentialsRegistry)
	if opts.SkipConfigFiles {
		copts.use_config_files = 0
	}
	// The C fields are unsigned int: refuse what would wrap (uint64(...):
	// comparing a uint with MaxUint32 does not compile for 32-bit targets).
	for _, f := range []struct {
		name  string
		value uint64
		field *C.uint
	}{
		{"RegistryOptions.Jobs", uint64(opts.Jobs), &copts.jobs},
		{"RegistryOptions.RequestTimeout (seconds)", seconds(opts.RequestTimeout), &copts.request_timeout_seconds},
		{"RegistryOptions.StallTimeout (seconds)", seconds(opts.StallTimeout), &copts.stall_timeout_seconds},
	} {
		if f.value > math.MaxUint32 {
			return invalidArgument("%s %d is out of range: give at most %d", f.name, f.value, uint32(math.MaxUint32))
		}
		*f.field = C.uint(f.value)
	}
	copts.chunk_size = C.ulonglong(opts.ChunkSize)

	hooks, err := newCallHooks(ctx, opts.Progress, &mem)
	if err != nil {
		return err
	}
	defer hooks.close()
	copts.cancel = hooks.token
	if hooks.payload != nil {
		copts.progress_payload = hooks.payload
		C.set_progress(&copts)
	}

	var cerr *C.rustimg_error
	rc := fn(&copts, &cerr)
	runtime.KeepAlive(opts)
	if rc < 0 {
		return endedBy(ctx, takeError(rc, cerr)) // Build's errors come this way too
	}
	return nil
}

// Push pushes the image at source ("oci:DIR[:TAG]", "oci-archive:FILE[:TAG]"
// or "docker-archive:FILE") to target ("host/repo:tag"). Blobs the registry
// has are skipped. Registry failures are *Error with Code CodeRegistry or
// CodeAuth; cancelling ctx stops the transfer (the error matches ErrCancelled
// and ctx.Err()).
func Push(ctx context.Context, source, target string, opts RegistryOptions) (*TransferResult, error) {
	var mem cArena
	defer mem.free()
	csource, ctarget := mem.str(source), mem.str(target)
	var out *C.rustimg_transfer_result
	err := withRegistryOptions(ctx, opts, func(copts *C.rustimg_registry_options, cerr **C.rustimg_error) C.int {
		return C.rustimg_push(&out, csource, ctarget, copts, cerr)
	})
	if err != nil {
		return nil, err
	}
	return transfer(out)
}

// Pull pulls reference into output (any destination form); a non-empty
// platform picks one platform of an index.
func Pull(ctx context.Context, reference, output, platform string, opts RegistryOptions) (*TransferResult, error) {
	var mem cArena
	defer mem.free()
	cref, coutput, cplatform := mem.str(reference), mem.str(output), mem.str(platform)
	var out *C.rustimg_transfer_result
	err := withRegistryOptions(ctx, opts, func(copts *C.rustimg_registry_options, cerr **C.rustimg_error) C.int {
		return C.rustimg_pull(&out, cref, coutput, cplatform, copts, cerr)
	})
	if err != nil {
		return nil, err
	}
	return transfer(out)
}

func transfer(out *C.rustimg_transfer_result) (*TransferResult, error) {
	defer C.rustimg_transfer_result_free(out)
	var r TransferResult
	if err := json.Unmarshal([]byte(C.GoString(C.rustimg_transfer_result_json(out))), &r); err != nil {
		return nil, &Error{Code: CodeGeneric, Message: "decoding the result: " + err.Error()}
	}
	return &r, nil
}

// seconds rounds a positive duration up to whole seconds (at least 1); 0
// and negative durations mean "the library's default".
func seconds(d time.Duration) uint64 {
	if d <= 0 {
		return 0
	}
	s := uint64(d / time.Second) // not (d + time.Second - 1): that overflows near the maximum
	if d%time.Second != 0 {
		s++
	}
	return s
}
