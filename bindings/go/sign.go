package rustimg

/*
#include <stdlib.h>
#include <rustimg.h>
*/
import "C"

import (
	"context"
	"encoding/json"
)

// Signature is a manifest Sign signed, or a valid signature VerifyImage found,
// or (in BuildResult.Signed) an attestation a signed build added.
type Signature struct {
	Digest    string `json:"digest"`    // the manifest or index signed, "sha256:..."
	Signature string `json:"signature"` // where its signatures are: "host/repo:sha256-<hex>.sig@sha256:..." (".att" for an attestation)
	Identity  string `json:"identity"`  // the repository the signed payload names ("host/repo")
	// PredicateType is, for an attestation, the predicate type of the
	// statement signed ("https://spdx.dev/Document",
	// "https://slsa.dev/provenance/v1"); "" for a signature.
	PredicateType string `json:"predicate_type,omitempty"`
}

// Sign signs the image reference ("host/repo:tag" or "host/repo@sha256:...")
// in its registry as `cosign sign --key` does (see `rustimg sign`): its
// digest and, for an index, every platform's manifest; `cosign verify`
// accepts the result. keyFile is an ECDSA P-256 private key, PEM or
// cosign's own cosign.key; an encrypted one is opened with the passphrase in
// the environment variable keyPasswordEnv ("" : COSIGN_PASSWORD). It returns
// one Signature per manifest signed, the top one first. An image in an OCI
// layout ("oci:DIR:TAG") is refused (CodeInvalidArgument): its signature
// must name the repository it will be pushed to, which Sign cannot take
// (SignImage can). Errors: CodeInvalidArgument
// for an unreadable key or a wrong passphrase (never named), CodeUnsupported
// for a key that is not P-256, CodeRegistry, CodeAuth.
func Sign(ctx context.Context, reference, keyFile, keyPasswordEnv string, opts RegistryOptions) ([]Signature, error) {
	var mem cArena
	defer mem.free()
	cref, ckey, cenv := mem.str(reference), mem.str(keyFile), mem.str(keyPasswordEnv)
	var out *C.rustimg_signatures
	err := withRegistryOptions(ctx, opts, func(copts *C.rustimg_registry_options, cerr **C.rustimg_error) C.int {
		return C.rustimg_sign(&out, cref, ckey, cenv, copts, cerr)
	})
	if err != nil {
		return nil, err
	}
	var sigs []Signature
	if err := decodeSignatures(out, &sigs); err != nil {
		return nil, err
	}
	return sigs, nil
}

// SignOptions says how SignImage signs.
type SignOptions struct {
	KeyFile        string // ECDSA P-256 private key, PEM or cosign.key; required
	KeyPasswordEnv string // variable holding an encrypted key's passphrase; "": COSIGN_PASSWORD
	// Identity is the repository ("host/repo", no tag) the signatures name,
	// as cosign's --sign-container-identity; "": the image's own. Required
	// for an image in an OCI layout: the repository it will be pushed to.
	Identity string
	// Attest also attests the SBOMs and provenance attached to the image, as
	// `cosign attest --key` does.
	Attest   bool
	Registry RegistryOptions
}

// SignResult is what SignImage did.
type SignResult struct {
	Signed   []Signature `json:"signed"`   // one per manifest signed, the top one first
	Attested []Signature `json:"attested"` // with Attest: one per statement, PredicateType set
	// Skipped names, with Attest, each artifact passed over and why
	// ("DIGEST: why").
	Skipped []string `json:"skipped"`
}

// SignImage signs the image reference as `rustimg sign [--identity]
// [--attest]` does: a registry reference as Sign signs it, or an image in an
// OCI layout ("oci:DIR:TAG"), whose signatures are tagged
// "sha256-<hex>.sig" / ".att" in the layout, where Push finds them and
// carries them to the registry with the image (Identity required). Errors
// as Sign.
func SignImage(ctx context.Context, reference string, opts SignOptions) (*SignResult, error) {
	var mem cArena
	defer mem.free()
	// In C memory: the options point at the registry options, and cgo lets
	// C see no Go pointer inside Go memory.
	so := (*C.rustimg_sign_options)(mem.alloc(uintptr(C.sizeof_rustimg_sign_options)))
	if rc := C.rustimg_sign_options_init(so, C.RUSTIMG_SIGN_OPTIONS_VERSION); rc < 0 {
		return nil, &Error{Code: Code(rc), Message: "unsupported options version"}
	}
	cref := mem.str(reference)
	so.key_file = mem.str(opts.KeyFile)
	so.key_password_env = mem.str(opts.KeyPasswordEnv)
	so.identity = mem.str(opts.Identity)
	if opts.Attest {
		so.attest = 1
	}
	var out *C.rustimg_signatures
	err := withRegistryOptions(ctx, opts.Registry, func(copts *C.rustimg_registry_options, cerr **C.rustimg_error) C.int {
		registry := (*C.rustimg_registry_options)(mem.alloc(uintptr(C.sizeof_rustimg_registry_options)))
		*registry = *copts
		so.registry = registry
		return C.rustimg_sign_image(&out, cref, so, cerr)
	})
	if err != nil {
		return nil, err
	}
	var res SignResult
	if err := decodeSignatures(out, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// VerifyImage checks the image reference (in a registry, or
// "oci:DIR:TAG") as `cosign verify --key` does,
// without a transparency log: at least one signature by the PEM public key
// in publicKeyFile (cosign.pub works) names its digest. It returns the valid
// signatures; an error with CodeVerify says why there is none (no
// signatures, another key, a payload for another image or changed after
// signing).
func VerifyImage(ctx context.Context, reference, publicKeyFile string, opts RegistryOptions) ([]Signature, error) {
	var sigs []Signature
	if err := verify(ctx, reference, publicKeyFile, "", opts, &sigs); err != nil {
		return nil, err
	}
	return sigs, nil
}

// VerifyAttestations checks the attestations of reference as `cosign
// verify-attestation --key --type TYPE` does: attestationType is cosign's
// name ("slsaprovenance1", "spdxjson", "cyclonedx", ...) or a predicate
// type URI. It returns each valid in-toto statement, decoded from JSON;
// CodeVerify when there is none, CodeInvalidArgument for an unknown type.
func VerifyAttestations(ctx context.Context, reference, publicKeyFile, attestationType string,
	opts RegistryOptions) ([]map[string]any, error) {
	if attestationType == "" {
		return nil, &Error{Code: CodeInvalidArgument, Message: "VerifyAttestations needs an attestation type " +
			"(\"slsaprovenance1\", \"spdxjson\", ...); VerifyImage checks signatures"}
	}
	var statements []map[string]any
	if err := verify(ctx, reference, publicKeyFile, attestationType, opts, &statements); err != nil {
		return nil, err
	}
	return statements, nil
}

// verify runs rustimg_verify_image; attestationType "" checks signatures.
func verify(ctx context.Context, reference, publicKeyFile, attestationType string, opts RegistryOptions, into any) error {
	var mem cArena
	defer mem.free()
	cref, cpub, ctype := mem.str(reference), mem.str(publicKeyFile), mem.str(attestationType)
	var out *C.rustimg_signatures
	err := withRegistryOptions(ctx, opts, func(copts *C.rustimg_registry_options, cerr **C.rustimg_error) C.int {
		return C.rustimg_verify_image(&out, cref, cpub, ctype, copts, cerr)
	})
	if err != nil {
		return err
	}
	return decodeSignatures(out, into)
}

func decodeSignatures(out *C.rustimg_signatures, into any) error {
	defer C.rustimg_signatures_free(out)
	if err := json.Unmarshal([]byte(C.GoString(C.rustimg_signatures_json(out))), into); err != nil {
		return &Error{Code: CodeGeneric, Message: "decoding the result: " + err.Error()}
	}
	return nil
}
