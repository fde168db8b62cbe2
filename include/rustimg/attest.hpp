// rustimg/attest.hpp - signatures and attestations that cosign reads and
// writes: ECDSA P-256 keys, cosign "simple signing" signatures in the
// "sha256-<hex>.sig" image, DSSE in-toto attestations in the
// "sha256-<hex>.att" image, and the SLSA Provenance v1 predicate.
//
// Pure data and logic plus libcrypto (OpenSSL 3 EVP); no file or network
// I/O: callers read key files and fetch/push blobs. Everything read here
// (PEM keys, manifests, blobs, envelopes) is untrusted and bounded.
//
// Determinism: every document is canonical JSON (oci::canonical_json:
// sorted keys; cosign and DSSE readers do not depend on key order) and
// every time comes from the caller. ECDSA signatures themselves are
// randomised (OpenSSL 3.0 has no RFC 6979 nonces), so a signature image's
// layer annotations and manifest differ from one signing to the next;
// payloads, statements and predicates do not.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rustimg/oci.hpp"

namespace rustimg::attest {

// --- names cosign, DSSE, in-toto and SLSA use ------------------------------------

namespace media_type {
/// Layer of a cosign signature image: the simple-signing payload.
inline constexpr const char* kSimpleSigning = "application/vnd.dev.cosign.simplesigning.v1+json";
/// Layer of a cosign attestation image: a DSSE envelope.
inline constexpr const char* kDsseEnvelope = "application/vnd.dsse.envelope.v1+json";
/// DSSE payloadType of an in-toto statement.
inline constexpr const char* kInToto = "application/vnd.in-toto+json";
}  // namespace media_type

/// Layer annotation holding the base64 signature (empty on attestation layers).
inline constexpr const char* kSignatureAnnotation = "dev.cosignproject.cosign/signature";
/// Layer annotation of an attestation layer naming its predicate type.
inline constexpr const char* kPredicateTypeAnnotation = "predicateType";
/// The "type" of a cosign simple-signing payload.
inline constexpr const char* kSimpleSigningType = "cosign container image signature";
inline constexpr const char* kInTotoStatementV1 = "https://in-toto.io/Statement/v1";
inline constexpr const char* kSlsaProvenanceV1 = "https://slsa.dev/provenance/v1";
/// buildType of rustimg's provenance: a cargo build packed into an image.
inline constexpr const char* kRustimgBuildType = "https://github.com/rustimg/rustimg/buildtypes/cargo-image/v1";
/// Default builder.id when the caller names none.
inline constexpr const char* kRustimgBuilderId = "https://github.com/rustimg/rustimg";

// --- limits on what is read from outside ---------------------------------------------

inline constexpr std::size_t kMaxKeyPemBytes = 64u << 10;          ///< a PEM key file
inline constexpr std::size_t kMaxSignatureBytes = 1024;            ///< a DER signature (P-256: <= 72)
inline constexpr std::size_t kMaxSignatureB64Bytes = 16u << 10;     ///< an annotation's base64 signature
inline constexpr std::size_t kMaxSignatureLayers = 256;            ///< layers in a .sig / .att manifest
inline constexpr std::uint64_t kMaxPayloadBytes = 32u << 20;        ///< one payload / envelope layer
inline constexpr std::uint64_t kMaxSignatureImageBytes = 64u << 20; ///< all layers of a .sig / .att image
inline constexpr std::size_t kMaxDsseSignatures = 64;              ///< signatures in one envelope

// --- keys (ECDSA P-256, SHA-256) --------------------------------------------------------

class VerifyingKey;

/// An ECDSA P-256 private key. Move-only; the key material never appears in
/// an error message.
class SigningKey {
 public:
  /// Reads a PEM private key: "EC PRIVATE KEY" (SEC 1, also with the legacy
  /// Proc-Type encryption), "PRIVATE KEY" (PKCS#8), "ENCRYPTED PRIVATE KEY"
  /// (PKCS#8 with `passphrase`; never printed) or cosign's own cosign.key
  /// ("ENCRYPTED SIGSTORE PRIVATE KEY", also the older "ENCRYPTED COSIGN
  /// PRIVATE KEY": scrypt and NaCl secretbox, opened with `passphrase`, which
  /// may be empty as cosign allows). `what` names the source (a file path) in
  /// errors. Throws rustimg::Error: InvalidArgument for text that is no
  /// private key, a missing or wrong passphrase, a cosign.key that is damaged
  /// or asks for more scrypt memory or work than rustimg allows; Unsupported
  /// for keys that are not P-256 (RSA, Ed25519, other curves).
  static SigningKey from_pem(std::string_view pem, std::string_view passphrase, const std::string& what);

  SigningKey(SigningKey&&) noexcept;
  SigningKey& operator=(SigningKey&&) noexcept;
  ~SigningKey();

  /// ASN.1 DER ECDSA signature over SHA-256(data).
  std::string sign(std::string_view data) const;
  /// "-----BEGIN PUBLIC KEY-----" (SubjectPublicKeyInfo), as cosign.pub.
  std::string public_key_pem() const;
  VerifyingKey verifying_key() const;

 private:
  struct Impl;
  explicit SigningKey(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// An ECDSA P-256 public key.
class VerifyingKey {
 public:
  /// Reads a PEM "PUBLIC KEY" (SubjectPublicKeyInfo), e.g. cosign.pub.
  /// Throws rustimg::Error (InvalidArgument, Unsupported for non-P-256)
  /// naming `what`.
  static VerifyingKey from_pem(std::string_view pem, const std::string& what);

  VerifyingKey(VerifyingKey&&) noexcept;
  VerifyingKey& operator=(VerifyingKey&&) noexcept;
  ~VerifyingKey();

  /// True when `der_signature` is a valid ECDSA-SHA256 signature of `data`;
  /// false for a wrong, malformed or oversized signature.
  bool verify(std::string_view data, std::string_view der_signature) const;
  std::string public_key_pem() const;

 private:
  friend class SigningKey;
  struct Impl;
  explicit VerifyingKey(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// --- cosign simple signing ---------------------------------------------------------------

/// The bytes cosign signs for an image:
/// {"critical":{"identity":{"docker-reference":REF},"image":{"docker-manifest-digest":DIGEST},
///  "type":"cosign container image signature"},"optional":null}
/// (the key order of cosign's Go structs, which is also sorted order).
/// `docker_reference` is the repository ("HOST/repo", no tag or digest, as
/// cosign writes it); `manifest_digest` is "sha256:<hex>". Throws
/// rustimg::Error (InvalidArgument) for a malformed reference or digest.
std::string simple_signing_payload(std::string_view docker_reference, std::string_view manifest_digest);

/// "sha256-<hex>.sig" / "sha256-<hex>.att": the tags cosign keeps an image's
/// signatures / attestations under. Throws for a malformed digest.
std::string signature_tag(std::string_view manifest_digest);
std::string attestation_tag(std::string_view manifest_digest);

/// One layer of a signature or attestation image.
struct SignedLayer {
  std::string media_type;                          ///< kSimpleSigning or kDsseEnvelope
  std::string payload;                             ///< the layer blob
  std::string signature_b64;                       ///< kSignatureAnnotation ("" for DSSE)
  std::map<std::string, std::string> annotations;  ///< all layer annotations, the signature included
};

/// A layer holding a simple-signing payload and its base64 signature.
SignedLayer signature_layer(std::string payload, std::string signature_b64);
/// A layer holding a DSSE envelope (its bytes) of an in-toto statement of
/// `predicate_type`.
SignedLayer attestation_layer(std::string envelope, std::string predicate_type);

/// The image cosign writes at a .sig / .att tag: an OCI manifest, an OCI
/// config like go-containerregistry's empty image with one history entry
/// and diff_id per layer (architecture/os "", created 0001-01-01T00:00:00Z;
/// canonical key order), and the layers in the given order (a layer equal to
/// an earlier one in payload and annotations is left out; see
/// pipeline::sign_image for a payload signed again by the same key). Push the layers and config, then the manifest at the tag.
struct SignatureImage {
  oci::Blob config;
  std::vector<oci::Blob> layers;
  oci::Blob manifest;
};
/// Throws rustimg::Error (InvalidArgument) for no layers or more than
/// kMaxSignatureLayers.
SignatureImage signature_image(const std::vector<SignedLayer>& layers);

/// Returns the bytes of the blob `d` addresses (may throw). The reader
/// checks the size against the descriptor before and after, and the digest.
using FetchBlob = std::function<std::string(const oci::Descriptor& d)>;

/// The layers of a .sig or .att manifest read from outside (e.g. one cosign
/// wrote), to verify or to add to: the manifest is parsed leniently (bounded
/// by oci::kMaxManifestBytes), at most kMaxSignatureLayers layers, each at
/// most kMaxPayloadBytes and all together at most kMaxSignatureImageBytes
/// (checked before anything is fetched), signature annotations at most
/// kMaxSignatureB64Bytes; each fetched blob must match its descriptor's size
/// and digest. Layers of other media types are returned too (callers
/// filter). Throws rustimg::Error (InvalidArgument) naming `what`.
std::vector<SignedLayer> read_signature_image(std::string_view manifest_bytes, const FetchBlob& fetch,
                                              const std::string& what);

/// Checks one cosign signature: `signature_b64` is a valid signature of
/// `payload` by `key`, and the payload is a simple-signing document of type
/// kSimpleSigningType naming `expected_digest`. Returns the payload's
/// docker-reference. Throws rustimg::Error (Verify) saying which check failed.
std::string verify_simple_signing(std::string_view payload, std::string_view signature_b64, const VerifyingKey& key,
                                  std::string_view expected_digest);

/// Of `layers` (read_signature_image), the simple-signing ones that
/// verify_simple_signing accepts; throws rustimg::Error (Verify) naming
/// `what` and each layer's reason when none does.
std::vector<SignedLayer> verified_signatures(const std::vector<SignedLayer>& layers, const VerifyingKey& key,
                                             std::string_view expected_digest, const std::string& what);

// --- DSSE and in-toto ----------------------------------------------------------------------

/// DSSE v1 pre-authentication encoding:
/// "DSSEv1" SP len(type) SP type SP len(body) SP body (lengths in decimal).
std::string pae(std::string_view payload_type, std::string_view payload);

struct DsseSignature {
  std::string keyid;  ///< "" as cosign writes it
  std::string sig;    ///< raw (DER) signature bytes
};

struct DsseEnvelope {
  std::string payload_type;
  std::string payload;  ///< raw bytes (base64 in JSON)
  std::vector<DsseSignature> signatures;

  /// {"payload":B64,"payloadType":T,"signatures":[{"keyid":"","sig":B64}]}, canonical.
  std::string to_json() const;
  /// Reads an envelope from outside (bounded by kMaxPayloadBytes and
  /// kMaxDsseSignatures). Throws rustimg::Error (InvalidArgument) naming `what`.
  static DsseEnvelope parse(std::string_view bytes, const std::string& what);
};

/// Signs pae(payload_type, payload) with `key`: an envelope with one signature.
DsseEnvelope dsse_sign(std::string_view payload_type, std::string payload, const SigningKey& key);

/// Checks that at least one signature of the envelope in `envelope_bytes` is
/// `key`'s over its PAE, and returns the payload. When `payload_type` is not
/// empty the envelope must carry that type. Throws rustimg::Error (Verify)
/// naming `what`, or InvalidArgument for a malformed envelope.
std::string verify_dsse(std::string_view envelope_bytes, const VerifyingKey& key, const std::string& what,
                        std::string_view payload_type = media_type::kInToto);

/// One in-toto subject: a name and a "sha256:<hex>" digest.
struct Subject {
  std::string name;
  std::string digest;
};

/// {"_type":"https://in-toto.io/Statement/v1","predicate":P,"predicateType":T,
///  "subject":[{"digest":{"sha256":HEX},"name":N}...]}. Throws rustimg::Error
/// (InvalidArgument) for no subjects, a malformed digest or an empty type.
nlohmann::json intoto_statement(const std::vector<Subject>& subjects, std::string_view predicate_type,
                                const nlohmann::json& predicate);

/// The layer of an attestation image for `statement` signed by `key`:
/// canonical statement -> DSSE envelope (kInToto) -> attestation_layer.
SignedLayer sign_statement(const nlohmann::json& statement, const SigningKey& key);

/// The predicateType URI of a cosign `--type` name ("slsaprovenance1",
/// "spdxjson", "cyclonedx", "custom", ...); a URI ("https://...") is
/// returned as it is. Throws rustimg::Error (InvalidArgument) naming the
/// known names (and the closest) for anything else.
std::string predicate_type_uri(std::string_view type);

/// Checks an attestation layer (read_signature_image) as cosign
/// verify-attestation does: a DSSE envelope of kInToto signed by `key`,
/// whose payload is an in-toto Statement v1 of `predicate_type` (any when
/// empty) with a subject of `expected_digest` (not checked when empty).
/// Returns the statement. Throws rustimg::Error (Verify) saying what failed.
nlohmann::json verify_attestation(const SignedLayer& layer, const VerifyingKey& key, std::string_view predicate_type,
                                  std::string_view expected_digest);

// --- SLSA Provenance v1 (src/attest/provenance.cpp) ------------------------------------------

/// What a build knows about itself. Optional strings are left out of the
/// predicate when empty.
struct ProvenanceInput {
  std::string package_name;
  std::string package_version;
  std::string vcs_url;     ///< the checkout's remote ("" for none); requires vcs_commit
  std::string vcs_commit;  ///< 40 (or 64) hex digits; "" when not in a git checkout
  bool vcs_dirty = false;  ///< uncommitted changes in the checkout
  std::string platform;    ///< "linux/amd64"
  std::string target;      ///< cargo target triple
  nlohmann::json resolved_spec = nlohmann::json::object();
  std::vector<std::string> cargo_argv;                ///< the exact cargo command
  std::map<std::string, std::string> cargo_env;       ///< the environment rustimg added
  std::string rustc_version;                          ///< "rustc 1.83.0 (90b35a623 2024-11-26)"
  std::string cargo_version;
  std::string rustimg_version;
  std::string base_image_ref;     ///< "docker.io/library/alpine:3.20"; "" for scratch / built-in bases
  std::string base_image_digest;  ///< "sha256:<hex>"; required with base_image_ref
  std::string cargo_lock_sha256;  ///< "sha256:<hex>" of Cargo.lock; "" when there is none
  std::int64_t started_on = 0;    ///< seconds since the epoch, from the caller (SOURCE_DATE_EPOCH)
  std::int64_t finished_on = 0;
  std::string builder_id = kRustimgBuilderId;
};

/// The SLSA Provenance v1 predicate (predicateType kSlsaProvenanceV1):
/// buildDefinition {buildType kRustimgBuildType, externalParameters
/// {package, platform, target, spec, source}, internalParameters {cargo
/// {argv, env}, toolchain {rustc, cargo}}, resolvedDependencies [source git
/// commit, base image, Cargo.lock]}, runDetails {builder {id, version
/// {rustimg}}, metadata {startedOn, finishedOn}}. Pure and deterministic.
/// Throws rustimg::Error (InvalidArgument) naming the ProvenanceInput field
/// at fault.
nlohmann::json provenance_predicate(const ProvenanceInput& input);

/// intoto_statement(subjects, kSlsaProvenanceV1, provenance_predicate(input)).
nlohmann::json provenance_statement(const std::vector<Subject>& subjects, const ProvenanceInput& input);

}  // namespace rustimg::attest
