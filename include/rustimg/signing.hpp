// rustimg/signing.hpp - signing images in a registry and verifying their
// signatures, in the form cosign reads and writes: a "simple signing"
// payload per manifest, kept as a layer of the image tagged
// "sha256-<hex>.sig" in the same repository (see rustimg/attest.hpp for
// the documents themselves; this is their registry side and the key files).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "rustimg/attest.hpp"
#include "rustimg/registry.hpp"

namespace rustimg::pipeline {

/// The environment variable holding the passphrase of an encrypted signing
/// key when the caller names none: cosign's own, so one key works with both.
inline constexpr const char* kDefaultKeyPassphraseEnv = "COSIGN_PASSWORD";

/// Reads an ECDSA P-256 private key file, PEM or cosign's cosign.key (see
/// attest::SigningKey); an encrypted one is opened with the passphrase in
/// the environment variable `passphrase_env` (kDefaultKeyPassphraseEnv when
/// empty; a cosign.key made with an empty passphrase opens when it is unset).
/// Throws rustimg::Error: NotFound for a missing file, InvalidArgument naming
/// the file (never the passphrase) for a file that is too large or no key, or
/// an encrypted key whose variable is unset or wrong.
attest::SigningKey read_signing_key(const std::filesystem::path& file, std::string passphrase_env = {});

/// Reads a PEM public key file (cosign.pub; see attest::VerifyingKey).
/// Throws as read_signing_key().
attest::VerifyingKey read_verifying_key(const std::filesystem::path& file);

/// The registry whose options (credentials, TLS) an image reference of
/// sign_image() and verify_image() needs: its host ("ghcr.io"), or "" for
/// an image in an OCI layout ("oci:DIR[:TAG]"). Throws what
/// parse_reference() throws.
std::string image_registry(std::string_view reference);

/// Whether `reference` names an image in an OCI layout ("oci:DIR[:TAG]").
bool is_layout_reference(std::string_view reference);

/// One manifest signed or attested, or one valid signature found.
struct ImageSignature {
  std::string digest;            ///< the manifest or index signed: "sha256:<hex>"
  /// Where its signatures are: "host/repo:sha256-<hex>.sig@sha256:..."
  /// (".att" for an attestation).
  std::string signature_ref;
  std::string docker_reference;  ///< the identity the payload names ("host/repo")
  /// An attestation: the predicate type of the statement signed
  /// ("https://spdx.dev/Document", "https://slsa.dev/provenance/v1"); ""
  /// for a signature.
  std::string predicate_type;
};

/// [{"digest", "signature" (signature_ref), "identity" (docker_reference)
/// and, for an attestation, "predicate_type"}]: what `rustimg sign --json`,
/// `verify-image --json` and the bindings hand back.
nlohmann::json to_json(const std::vector<ImageSignature>& signatures);

/// The largest SBOM or provenance statement sign_image attests: its DSSE
/// envelope (base64, a third larger) stays within attest::kMaxPayloadBytes.
inline constexpr std::uint64_t kMaxAttestedBytes = 16u << 20;

/// Signs the image `reference` names ("host/repo:tag" or "host/repo@sha256:...")
/// as `cosign sign --key` does: the manifest's (or index's) digest and, for
/// an index, every manifest it lists (as `cosign sign --recursive`). Each
/// signature is added to the manifest's "sha256-<hex>.sig" image, keeping
/// the signatures already there. The payload names the repository
/// `identity` ("host/repo", as cosign's --sign-container-identity), by
/// default the image's own.
///
/// `reference` may also be an image in an OCI layout, "oci:DIR[:TAG]": its
/// signature images are tagged "sha256-<hex>.sig" in the same layout (push
/// them with the image; `rustimg push` does), and `identity`, the
/// repository the image will be pushed to, is required.
///
/// Returns one entry per manifest signed, the top first. Throws
/// rustimg::Error (Registry, Auth, NotFound, ...) from the registry or
/// layout, InvalidArgument for a layout without `identity`; nothing is
/// tagged for a manifest whose signature image could not be read.
std::vector<ImageSignature> sign_image(std::string_view reference, const attest::SigningKey& key,
                                       const registry::Options& options, std::string_view identity = {});

/// What attest_image attested, and what it passed over.
struct Attestations {
  std::vector<ImageSignature> attested;  ///< one per statement, with its predicate_type
  /// "ARTIFACT-DIGEST: why" for each artifact not attested (control
  /// characters escaped: the reason may quote the registry).
  std::vector<std::string> skipped;
};

/// Attests, as `cosign attest --key` does, the SBOMs and SLSA provenance
/// attached to the image `reference` names (and, for an index, to each
/// manifest it lists), found through the registry's referrers API or its
/// tag schema: DSSE in-toto statements added to each manifest's
/// "sha256-<hex>.att" image (keeping what is there; a statement this key
/// attested there already is not added again). An SBOM becomes a statement
/// of its format's predicate type (cosign's "spdxjson" or "cyclonedx")
/// with the SBOM as predicate; a provenance artifact is signed as it is,
/// and must be an in-toto statement of predicate type SLSA Provenance v1
/// whose one subject is that manifest. With `only`, just the artifacts of
/// those digests are attested (a build's own, as it pushed them), and any
/// of them that fails a check is an error; without, every such artifact
/// the registry lists about the manifest (the registry's listing is
/// trusted; each artifact's own manifest must name the manifest), and one
/// that fails a check is skipped with the reason. Throws rustimg::Error from
/// the registry, InvalidArgument for an artifact of `only` that is
/// malformed or over kMaxAttestedBytes.
/// An OCI layout's image ("oci:DIR[:TAG]") is attested as sign_image signs
/// one: the artifacts its index.json lists, the statements tagged
/// "sha256-<hex>.att" in the layout, naming `identity` (required there).
Attestations attest_image(std::string_view reference, const attest::SigningKey& key, const registry::Options& options,
                          const std::vector<std::string>* only = nullptr, std::string_view identity = {});

/// What sign() did.
struct SignOutcome {
  std::vector<ImageSignature> signatures;  ///< sign_image()
  bool attested = false;                   ///< whether attest_image() ran
  Attestations attestations;               ///< what it attested and passed over
};

/// sign_image() and, with `attest`, attest_image() (every artifact listed
/// about the image, one that fails a check passed over with the reason):
/// what `rustimg sign [--attest]`, rustimg_sign_image() and the bindings'
/// sign() do. Throws what those throw.
SignOutcome sign(std::string_view reference, const attest::SigningKey& key, const registry::Options& options,
                 std::string_view identity, bool attest);

/// {"signed": to_json(signatures)} and, when attested, "attested":
/// to_json(attestations.attested) and "skipped": [...].
nlohmann::json to_json(const SignOutcome& outcome);

/// Verifies the image `reference` names (a registry reference or
/// "oci:DIR[:TAG]", as sign_image) as `cosign verify --key` does: its
/// "sha256-<hex>.sig" image holds at least one simple-signing payload signed
/// by `key` that names the manifest's digest. Returns the valid signatures.
/// Throws rustimg::Error (Verify) saying why when there is none: no
/// signature image, or each signature's reason (wrong key, a payload for
/// another digest, a tampered payload); InvalidArgument for a signature
/// image that is malformed or beyond attest's bounds; Unsupported for a
/// reference by a digest other than sha256.
std::vector<ImageSignature> verify_image(std::string_view reference, const attest::VerifyingKey& key,
                                         const registry::Options& options);

/// Verifies the attestations of the image `reference` names as `cosign
/// verify-attestation --key --type TYPE` does: its "sha256-<hex>.att" image
/// holds at least one DSSE in-toto statement signed by `key`, of `type`
/// (cosign's name, e.g. "slsaprovenance1", or a predicate type URI; see
/// attest::predicate_type_uri) and with the manifest's digest as a subject.
/// Returns the valid statements. Throws rustimg::Error: InvalidArgument for
/// an unknown type (before the registry is asked), Verify saying why when
/// no statement is valid.
std::vector<nlohmann::json> verify_attestations(std::string_view reference, const attest::VerifyingKey& key,
                                                std::string_view type, const registry::Options& options);

}  // namespace rustimg::pipeline
