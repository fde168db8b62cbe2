// Keys, cosign simple signing, signature images and DSSE (attest module).
//
// Pure over bytes plus libcrypto: callers read key files and move blobs.
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <set>
#include <utility>

#include "attest/cosign_key.hpp"
#include "util/shown.hpp"
#include "rustimg/attest.hpp"
#include "rustimg/error.hpp"
#include "rustimg/json.hpp"
#include "rustimg/suggest.hpp"
#include "util/base64.hpp"

namespace rustimg::attest {

using nlohmann::json;

namespace {

using util::excerpt;

// --- OpenSSL helpers ------------------------------------------------------------------

struct PkeyFree {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct BioFree {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

/// The first OpenSSL error's reason ("bad decrypt"), clearing the queue. The
/// reasons are library texts, never key material or passphrases.
std::string openssl_reason() {
  const unsigned long e = ERR_peek_last_error();
  std::string reason;
  if (e != 0) {
    const char* r = ERR_reason_error_string(e);
    reason = r ? r : "unknown OpenSSL error";
  }
  ERR_clear_error();
  return reason;
}

BioPtr memory_bio(std::string_view bytes) {
  BioPtr bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
  if (!bio) throw Error(ErrorCode::Generic, "out of memory reading a key");
  return bio;
}

/// The labels of the PEM blocks in `pem` ("EC PRIVATE KEY", ...), in order.
std::vector<std::string> pem_labels(std::string_view pem) {
  std::vector<std::string> labels;
  constexpr std::string_view kBegin = "-----BEGIN ";
  std::size_t pos = 0;
  while ((pos = pem.find(kBegin, pos)) != std::string_view::npos) {
    pos += kBegin.size();
    const std::size_t end = pem.find("-----", pos);
    if (end == std::string_view::npos || end - pos > 64) break;
    labels.emplace_back(pem.substr(pos, end - pos));
    pos = end;
  }
  return labels;
}

void check_pem_size(std::string_view pem, const std::string& what) {
  if (pem.size() > kMaxKeyPemBytes) {
    throw Error(ErrorCode::InvalidArgument, what + ": " + std::to_string(pem.size()) +
                                                " bytes is too large for a PEM key (limit " +
                                                std::to_string(kMaxKeyPemBytes) + "); pass the key file itself");
  }
}

/// Refuses anything but an EC key on P-256, naming `what`.
void require_p256(EVP_PKEY* key, const std::string& what) {
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) {
    const char* type = EVP_PKEY_get0_type_name(key);
    throw Error(ErrorCode::Unsupported, what + ": a " + std::string(type ? type : "non-EC") +
                                            " key; rustimg and cosign key pairs are ECDSA P-256 (make one with "
                                            "`openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256` or "
                                            "`cosign generate-key-pair`)");
  }
  std::array<char, 64> group{};
  std::size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group.data(), group.size(), &len) != 1) {
    openssl_reason();
    throw Error(ErrorCode::Unsupported, what + ": an EC key without a named curve; use an ECDSA P-256 key");
  }
  const std::string name(group.data(), len);
  if (name != "prime256v1" && name != "P-256" && name != "secp256r1") {
    throw Error(ErrorCode::Unsupported, what + ": an EC key on curve " + name +
                                            "; rustimg and cosign key pairs are ECDSA P-256 (prime256v1)");
  }
}

struct PassphraseArg {
  std::string_view passphrase;
  bool asked = false;
};

int passphrase_callback(char* buf, int size, int /*rwflag*/, void* u) {
  auto* arg = static_cast<PassphraseArg*>(u);
  arg->asked = true;
  if (arg->passphrase.empty() || size <= 0 || arg->passphrase.size() > static_cast<std::size_t>(size)) return -1;
  std::memcpy(buf, arg->passphrase.data(), arg->passphrase.size());
  return static_cast<int>(arg->passphrase.size());
}

std::string public_pem_of(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key) != 1) {
    throw Error(ErrorCode::Generic, "cannot encode a public key: " + openssl_reason());
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

// --- JSON field access over documents read from outside ----------------------------------

const json* member(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  const auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

std::string string_member(const json& obj, const char* key, const std::string& what) {
  const json* v = member(obj, key);
  if (!v || !v->is_string()) {
    throw Error(ErrorCode::InvalidArgument, what + ": \"" + key + "\" must be a string");
  }
  return v->get<std::string>();
}

void check_docker_reference(std::string_view ref) {
  const bool ok = !ref.empty() && ref.size() <= 4096 && std::all_of(ref.begin(), ref.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
           c == '_' || c == '/' || c == ':' || c == '@' || c == '[' || c == ']';  // [::1]:5000/app
  });
  if (!ok) {
    throw Error(ErrorCode::InvalidArgument, "docker reference \"" + excerpt(ref, 200) +
                                                "\" is not a repository name (e.g. registry.example/team/app)");
  }
}

}  // namespace

// --- keys ---------------------------------------------------------------------------------

struct SigningKey::Impl {
  PkeyPtr key;
};
struct VerifyingKey::Impl {
  PkeyPtr key;
};

SigningKey::SigningKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SigningKey::SigningKey(SigningKey&&) noexcept = default;
SigningKey& SigningKey::operator=(SigningKey&&) noexcept = default;
SigningKey::~SigningKey() = default;

VerifyingKey::VerifyingKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
VerifyingKey::VerifyingKey(VerifyingKey&&) noexcept = default;
VerifyingKey& VerifyingKey::operator=(VerifyingKey&&) noexcept = default;
VerifyingKey::~VerifyingKey() = default;

namespace {

/// The error of an encrypted key that did not open with `passphrase`.
[[noreturn]] void throw_passphrase_error(const std::string& what, std::string_view passphrase,
                                         const std::string& detail) {
  if (passphrase.empty()) {
    throw Error(ErrorCode::InvalidArgument,
                what + ": the private key is encrypted and no passphrase was given; set the key's passphrase");
  }
  throw Error(ErrorCode::InvalidArgument, what + ": cannot decrypt the private key: wrong passphrase (" + detail + ")");
}

/// The key inside a cosign.key: DER PKCS#8.
PkeyPtr read_cosign_key(std::string_view pem, std::string_view passphrase, const std::string& what) {
  const auto der = detail::open_cosign_key(pem, passphrase, what);
  if (!der) throw_passphrase_error(what, passphrase, "or a damaged file: the nacl/secretbox does not open");
  ERR_clear_error();
  const unsigned char* p = der->data();
  std::unique_ptr<PKCS8_PRIV_KEY_INFO, decltype(&PKCS8_PRIV_KEY_INFO_free)> info(
      d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, static_cast<long>(der->size())), PKCS8_PRIV_KEY_INFO_free);
  PkeyPtr key(info && p == der->data() + der->size() ? EVP_PKCS82PKEY(info.get()) : nullptr);
  if (!key) {
    throw Error(ErrorCode::InvalidArgument, what + ": the cosign key decrypts, but not to a PKCS#8 private key (" +
                                                openssl_reason() + "); make the key pair again with "
                                                "`cosign generate-key-pair`");
  }
  return key;
}

/// A PEM SEC 1 or PKCS#8 key, encrypted or not.
PkeyPtr read_openssl_key(std::string_view pem, std::string_view passphrase, const std::string& what) {
  ERR_clear_error();
  auto bio = memory_bio(pem);
  PassphraseArg arg{passphrase};
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, passphrase_callback, &arg));
  if (!key) {
    const std::string reason = openssl_reason();
    if (arg.asked) throw_passphrase_error(what, passphrase, reason);
    throw Error(ErrorCode::InvalidArgument, what + ": not a readable private key (" + reason + ")");
  }
  return key;
}

}  // namespace

SigningKey SigningKey::from_pem(std::string_view pem, std::string_view passphrase, const std::string& what) {
  check_pem_size(pem, what);
  const auto labels = pem_labels(pem);
  const auto has = [&](std::string_view l) { return std::find(labels.begin(), labels.end(), l) != labels.end(); };
  const bool cosign = std::any_of(std::begin(detail::kCosignKeyLabels), std::end(detail::kCosignKeyLabels), has);
  const bool known = cosign || has("EC PRIVATE KEY") || has("PRIVATE KEY") || has("ENCRYPTED PRIVATE KEY");
  if (!known) {
    std::string found = labels.empty() ? "no PEM block" : "a PEM \"" + labels.front() + "\" block";
    if (has("RSA PRIVATE KEY") || has("OPENSSH PRIVATE KEY")) {
      throw Error(ErrorCode::Unsupported, what + ": " + found +
                                              "; rustimg signs with ECDSA P-256 keys only (PEM \"EC PRIVATE KEY\", "
                                              "\"PRIVATE KEY\", \"ENCRYPTED PRIVATE KEY\" or cosign.key)");
    }
    throw Error(ErrorCode::InvalidArgument, what + ": " + found +
                                                " where a private key was expected (PEM \"EC PRIVATE KEY\", "
                                                "\"PRIVATE KEY\", \"ENCRYPTED PRIVATE KEY\" or cosign.key)");
  }
  PkeyPtr key = cosign ? read_cosign_key(pem, passphrase, what) : read_openssl_key(pem, passphrase, what);
  require_p256(key.get(), what);
  auto impl = std::make_unique<Impl>();
  impl->key = std::move(key);
  return SigningKey(std::move(impl));
}

std::string SigningKey::sign(std::string_view data) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, impl_->key.get()) != 1 ||
      EVP_DigestSignUpdate(ctx.get(), data.data(), data.size()) != 1) {
    throw Error(ErrorCode::Generic, "ECDSA signing failed: " + openssl_reason());
  }
  std::size_t len = 0;
  if (EVP_DigestSignFinal(ctx.get(), nullptr, &len) != 1) {
    throw Error(ErrorCode::Generic, "ECDSA signing failed: " + openssl_reason());
  }
  std::string sig(len, '\0');
  if (EVP_DigestSignFinal(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len) != 1) {
    throw Error(ErrorCode::Generic, "ECDSA signing failed: " + openssl_reason());
  }
  sig.resize(len);
  return sig;
}

std::string SigningKey::public_key_pem() const { return public_pem_of(impl_->key.get()); }

VerifyingKey SigningKey::verifying_key() const {
  // Round trip through the public PEM: the verifying key holds no private part.
  return VerifyingKey::from_pem(public_key_pem(), "the signing key's public key");
}

VerifyingKey VerifyingKey::from_pem(std::string_view pem, const std::string& what) {
  check_pem_size(pem, what);
  const auto labels = pem_labels(pem);
  if (std::find(labels.begin(), labels.end(), "PUBLIC KEY") == labels.end()) {
    const std::string found = labels.empty() ? "no PEM block" : "a PEM \"" + labels.front() + "\" block";
    throw Error(ErrorCode::InvalidArgument, what + ": " + found +
                                                " where a public key was expected (PEM \"PUBLIC KEY\", e.g. "
                                                "cosign.pub or `openssl pkey -pubout`)");
  }
  ERR_clear_error();
  auto bio = memory_bio(pem);
  PkeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key) throw Error(ErrorCode::InvalidArgument, what + ": not a readable public key (" + openssl_reason() + ")");
  require_p256(key.get(), what);
  auto impl = std::make_unique<Impl>();
  impl->key = std::move(key);
  return VerifyingKey(std::move(impl));
}

bool VerifyingKey::verify(std::string_view data, std::string_view der_signature) const {
  if (der_signature.empty() || der_signature.size() > kMaxSignatureBytes) return false;
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, impl_->key.get()) != 1 ||
      EVP_DigestVerifyUpdate(ctx.get(), data.data(), data.size()) != 1) {
    throw Error(ErrorCode::Generic, "ECDSA verification failed to start: " + openssl_reason());
  }
  const int rc = EVP_DigestVerifyFinal(ctx.get(), reinterpret_cast<const unsigned char*>(der_signature.data()),
                                       der_signature.size());
  ERR_clear_error();
  return rc == 1;
}

std::string VerifyingKey::public_key_pem() const { return public_pem_of(impl_->key.get()); }

// --- cosign simple signing ----------------------------------------------------------------

std::string simple_signing_payload(std::string_view docker_reference, std::string_view manifest_digest) {
  check_docker_reference(docker_reference);
  oci::digest_hex(manifest_digest);  // validates
  const json doc = {
      {"critical",
       {{"identity", {{"docker-reference", std::string(docker_reference)}}},
        {"image", {{"docker-manifest-digest", std::string(manifest_digest)}}},
        {"type", kSimpleSigningType}}},
      {"optional", nullptr}};
  return oci::canonical_json(doc);
}

std::string signature_tag(std::string_view manifest_digest) {
  return oci::referrer_tag(manifest_digest, "sig");
}

std::string attestation_tag(std::string_view manifest_digest) {
  return oci::referrer_tag(manifest_digest, "att");
}

SignedLayer signature_layer(std::string payload, std::string signature_b64) {
  SignedLayer l;
  l.media_type = media_type::kSimpleSigning;
  l.payload = std::move(payload);
  l.annotations[kSignatureAnnotation] = signature_b64;
  l.signature_b64 = std::move(signature_b64);
  return l;
}

SignedLayer attestation_layer(std::string envelope, std::string predicate_type) {
  SignedLayer l;
  l.media_type = media_type::kDsseEnvelope;
  l.payload = std::move(envelope);
  l.annotations[kSignatureAnnotation] = "";
  l.annotations[kPredicateTypeAnnotation] = std::move(predicate_type);
  return l;
}

SignatureImage signature_image(const std::vector<SignedLayer>& layers) {
  if (layers.empty()) throw Error(ErrorCode::InvalidArgument, "a signature image needs at least one signature");
  SignatureImage img;
  json diff_ids = json::array();
  json history = json::array();
  std::set<std::pair<std::string, std::map<std::string, std::string>>> seen;
  oci::Manifest manifest;
  manifest.format = oci::Format::Oci;
  for (const auto& l : layers) {
    auto annotations = l.annotations;
    annotations[kSignatureAnnotation] = l.signature_b64;
    const std::string digest = oci::sha256_digest(l.payload);
    if (!seen.emplace(digest + "\n" + l.media_type, annotations).second) continue;
    oci::Blob blob;
    blob.bytes = l.payload;
    blob.descriptor.media_type = l.media_type;
    blob.descriptor.digest = digest;
    blob.descriptor.size = static_cast<std::int64_t>(l.payload.size());
    blob.descriptor.annotations = std::move(annotations);
    // An uncompressed layer: its diff_id is its digest.
    diff_ids.push_back(digest);
    history.push_back({{"created", "0001-01-01T00:00:00Z"}});
    manifest.layers.push_back(blob.descriptor);
    img.layers.push_back(std::move(blob));
  }
  if (img.layers.size() > kMaxSignatureLayers) {
    throw Error(ErrorCode::InvalidArgument, "a signature image holds at most " +
                                                std::to_string(kMaxSignatureLayers) + " signatures, got " +
                                                std::to_string(img.layers.size()));
  }
  const json config = {{"architecture", ""},
                       {"config", json::object()},
                       {"created", "0001-01-01T00:00:00Z"},
                       {"history", std::move(history)},
                       {"os", ""},
                       {"rootfs", {{"type", "layers"}, {"diff_ids", std::move(diff_ids)}}}};
  img.config = oci::make_blob(config, oci::media_type::kOciConfig);
  manifest.config = img.config.descriptor;
  img.manifest = oci::make_blob(manifest.to_json(), oci::media_type::kOciManifest);
  return img;
}

std::vector<SignedLayer> read_signature_image(std::string_view manifest_bytes, const FetchBlob& fetch,
                                              const std::string& what) {
  if (manifest_bytes.size() > oci::kMaxManifestBytes) {
    throw Error(ErrorCode::InvalidArgument, what + ": manifest of " + std::to_string(manifest_bytes.size()) +
                                                " bytes exceeds the limit of " +
                                                std::to_string(oci::kMaxManifestBytes));
  }
  const oci::Manifest m = oci::parse_manifest(manifest_bytes, oci::ParseMode::Lenient, what);
  if (m.layers.size() > kMaxSignatureLayers) {
    throw Error(ErrorCode::InvalidArgument, what + ": " + std::to_string(m.layers.size()) +
                                                " layers; a signature image rustimg reads has at most " +
                                                std::to_string(kMaxSignatureLayers));
  }
  // Every size is checked before anything is fetched: 256 layers of 32 MiB
  // each would otherwise be 8 GiB in memory.
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < m.layers.size(); ++i) {
    const auto& d = m.layers[i];
    oci::check_document_size(d, kMaxPayloadBytes, what + ": layer " + std::to_string(i) + " (" + d.digest + ")");
    total += static_cast<std::uint64_t>(d.size);
  }
  if (total > kMaxSignatureImageBytes) {
    throw Error(ErrorCode::InvalidArgument, what + ": layers of " + std::to_string(total) +
                                                " bytes in all; a signature image rustimg reads holds at most " +
                                                std::to_string(kMaxSignatureImageBytes));
  }
  std::vector<SignedLayer> out;
  for (std::size_t i = 0; i < m.layers.size(); ++i) {
    const auto& d = m.layers[i];
    const std::string where = what + ": layer " + std::to_string(i) + " (" + d.digest + ")";
    SignedLayer l;
    l.media_type = d.media_type;
    l.annotations = d.annotations;
    if (const auto it = d.annotations.find(kSignatureAnnotation); it != d.annotations.end()) {
      if (it->second.size() > kMaxSignatureB64Bytes) {
        throw Error(ErrorCode::InvalidArgument, where + ": signature annotation of " +
                                                    std::to_string(it->second.size()) + " bytes exceeds " +
                                                    std::to_string(kMaxSignatureB64Bytes));
      }
      l.signature_b64 = it->second;
    }
    l.payload = fetch(d);
    if (l.payload.size() != static_cast<std::uint64_t>(d.size)) {
      throw Error(ErrorCode::InvalidArgument, where + ": got " + std::to_string(l.payload.size()) +
                                                  " bytes, the manifest says " + std::to_string(d.size));
    }
    if (oci::sha256_digest(l.payload) != d.digest) {
      throw Error(ErrorCode::InvalidArgument, where + ": content does not match its digest");
    }
    out.push_back(std::move(l));
  }
  return out;
}

std::string verify_simple_signing(std::string_view payload, std::string_view signature_b64, const VerifyingKey& key,
                                  std::string_view expected_digest) {
  if (payload.size() > kMaxPayloadBytes) {
    throw Error(ErrorCode::Verify, "signature payload too large (" + std::to_string(payload.size()) + " bytes)");
  }
  if (signature_b64.empty()) throw Error(ErrorCode::Verify, "the layer carries no signature");
  if (signature_b64.size() > kMaxSignatureB64Bytes) throw Error(ErrorCode::Verify, "the signature is too large");
  std::string sig;
  try {
    sig = util::base64_decode(signature_b64, "signature");
  } catch (const Error& e) {
    throw Error(ErrorCode::Verify, e.what());
  }
  if (!key.verify(payload, sig)) {
    throw Error(ErrorCode::Verify, "the signature does not verify with the given public key (wrong key, or the "
                                   "payload was changed)");
  }
  // Signed by the key: now the claims.
  json doc;
  try {
    doc = parse_json(payload, "signature payload");
  } catch (const Error& e) {
    throw Error(ErrorCode::Verify, e.what());
  }
  const json* critical = member(doc, "critical");
  const json* type = critical ? member(*critical, "type") : nullptr;
  if (!type || !type->is_string() || type->get<std::string>() != kSimpleSigningType) {
    throw Error(ErrorCode::Verify,
                std::string("signed payload is not a cosign simple-signing document (critical.type is not \"") +
                    kSimpleSigningType + "\")");
  }
  const json* image = member(*critical, "image");
  const json* digest = image ? member(*image, "docker-manifest-digest") : nullptr;
  if (!digest || !digest->is_string()) {
    throw Error(ErrorCode::Verify, "signed payload names no critical.image.docker-manifest-digest");
  }
  if (digest->get<std::string>() != expected_digest) {
    throw Error(ErrorCode::Verify, "the signature is valid but for another image: it names " +
                                       excerpt(digest->get<std::string>(), 100) + ", expected " +
                                       std::string(expected_digest));
  }
  const json* identity = member(*critical, "identity");
  const json* ref = identity ? member(*identity, "docker-reference") : nullptr;
  return ref && ref->is_string() ? ref->get<std::string>() : std::string();
}

std::vector<SignedLayer> verified_signatures(const std::vector<SignedLayer>& layers, const VerifyingKey& key,
                                             std::string_view expected_digest, const std::string& what) {
  std::vector<SignedLayer> ok;
  std::string reasons;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const auto& l = layers[i];
    if (l.media_type != media_type::kSimpleSigning) continue;
    try {
      verify_simple_signing(l.payload, l.signature_b64, key, expected_digest);
      ok.push_back(l);
    } catch (const Error& e) {
      if (e.code() != ErrorCode::Verify) throw;
      reasons += "\n  signature " + std::to_string(i) + ": " + e.what();
    }
  }
  if (ok.empty()) {
    throw Error(ErrorCode::Verify, what + ": no valid signature for " + std::string(expected_digest) +
                                       " with the given key" + (reasons.empty() ? " (no signatures)" : ":" + reasons));
  }
  return ok;
}

// --- DSSE -----------------------------------------------------------------------------------

std::string pae(std::string_view payload_type, std::string_view payload) {
  std::string out = "DSSEv1 ";
  out += std::to_string(payload_type.size());
  out += ' ';
  out += payload_type;
  out += ' ';
  out += std::to_string(payload.size());
  out += ' ';
  out += payload;
  return out;
}

std::string DsseEnvelope::to_json() const {
  json sigs = json::array();
  for (const auto& s : signatures) sigs.push_back({{"keyid", s.keyid}, {"sig", util::base64_encode(s.sig)}});
  const json doc = {{"payloadType", payload_type}, {"payload", util::base64_encode(payload)}, {"signatures", sigs}};
  return oci::canonical_json(doc);
}

DsseEnvelope DsseEnvelope::parse(std::string_view bytes, const std::string& what) {
  if (bytes.size() > kMaxPayloadBytes) {
    throw Error(ErrorCode::InvalidArgument, what + ": DSSE envelope of " + std::to_string(bytes.size()) +
                                                " bytes exceeds the limit of " + std::to_string(kMaxPayloadBytes));
  }
  const json doc = parse_json(bytes, what);
  if (!doc.is_object()) throw Error(ErrorCode::InvalidArgument, what + ": a DSSE envelope must be a JSON object");
  DsseEnvelope env;
  env.payload_type = string_member(doc, "payloadType", what);
  env.payload = util::base64_decode(string_member(doc, "payload", what), what + ": payload");
  const json* sigs = member(doc, "signatures");
  if (!sigs || !sigs->is_array()) throw Error(ErrorCode::InvalidArgument, what + ": \"signatures\" must be an array");
  if (sigs->size() > kMaxDsseSignatures) {
    throw Error(ErrorCode::InvalidArgument, what + ": " + std::to_string(sigs->size()) +
                                                " signatures exceed the limit of " +
                                                std::to_string(kMaxDsseSignatures));
  }
  for (std::size_t i = 0; i < sigs->size(); ++i) {
    const json& s = (*sigs)[i];
    const std::string where = what + ": signatures[" + std::to_string(i) + "]";
    if (!s.is_object()) throw Error(ErrorCode::InvalidArgument, where + " must be an object");
    DsseSignature sig;
    if (const json* k = member(s, "keyid"); k && !k->is_null()) {
      if (!k->is_string()) throw Error(ErrorCode::InvalidArgument, where + ": \"keyid\" must be a string");
      sig.keyid = k->get<std::string>();
    }
    const std::string b64 = string_member(s, "sig", where);
    if (b64.size() > kMaxSignatureB64Bytes) throw Error(ErrorCode::InvalidArgument, where + ": signature too large");
    sig.sig = util::base64_decode(b64, where + ".sig");
    env.signatures.push_back(std::move(sig));
  }
  return env;
}

DsseEnvelope dsse_sign(std::string_view payload_type, std::string payload, const SigningKey& key) {
  DsseEnvelope env;
  env.payload_type = std::string(payload_type);
  env.signatures.push_back({"", key.sign(pae(payload_type, payload))});
  env.payload = std::move(payload);
  return env;
}

std::string verify_dsse(std::string_view envelope_bytes, const VerifyingKey& key, const std::string& what,
                        std::string_view payload_type) {
  DsseEnvelope env = DsseEnvelope::parse(envelope_bytes, what);
  if (!payload_type.empty() && env.payload_type != payload_type) {
    throw Error(ErrorCode::Verify, what + ": DSSE payloadType is \"" + excerpt(env.payload_type, 100) +
                                       "\", expected \"" + std::string(payload_type) + "\"");
  }
  if (env.signatures.empty()) throw Error(ErrorCode::Verify, what + ": the DSSE envelope has no signatures");
  const std::string signed_bytes = pae(env.payload_type, env.payload);
  for (const auto& s : env.signatures) {
    if (key.verify(signed_bytes, s.sig)) return std::move(env.payload);
  }
  throw Error(ErrorCode::Verify, what + ": no signature of the DSSE envelope verifies with the given public key "
                                        "(wrong key, or the payload was changed)");
}

// --- in-toto ---------------------------------------------------------------------------------

json intoto_statement(const std::vector<Subject>& subjects, std::string_view predicate_type, const json& predicate) {
  if (subjects.empty()) throw Error(ErrorCode::InvalidArgument, "an in-toto statement needs at least one subject");
  if (predicate_type.empty()) throw Error(ErrorCode::InvalidArgument, "an in-toto statement needs a predicateType");
  json subj = json::array();
  for (const auto& s : subjects) {
    if (s.name.empty()) throw Error(ErrorCode::InvalidArgument, "in-toto subject " + s.digest + " has no name");
    subj.push_back({{"name", s.name}, {"digest", {{"sha256", oci::digest_hex(s.digest)}}}});
  }
  return {{"_type", kInTotoStatementV1},
          {"subject", std::move(subj)},
          {"predicateType", std::string(predicate_type)},
          {"predicate", predicate}};
}

SignedLayer sign_statement(const json& statement, const SigningKey& key) {
  const json* type = member(statement, "predicateType");
  if (!type || !type->is_string()) {
    throw Error(ErrorCode::InvalidArgument, "sign_statement: the statement has no predicateType");
  }
  const DsseEnvelope env = dsse_sign(media_type::kInToto, oci::canonical_json(statement), key);
  return attestation_layer(env.to_json(), type->get<std::string>());
}

std::string predicate_type_uri(std::string_view type) {
  // cosign's names for predicate types (cosign attest --type).
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 10> kTypes{{
      {"custom", "https://cosign.sigstore.dev/attestation/v1"},
      {"cyclonedx", "https://cyclonedx.org/bom"},
      {"link", "https://in-toto.io/Link/v1"},
      {"openvex", "https://openvex.dev/ns"},
      {"slsaprovenance", "https://slsa.dev/provenance/v0.2"},
      {"slsaprovenance02", "https://slsa.dev/provenance/v0.2"},
      {"slsaprovenance1", kSlsaProvenanceV1},
      {"spdx", "https://spdx.dev/Document"},
      {"spdxjson", "https://spdx.dev/Document"},
      {"vuln", "https://cosign.sigstore.dev/attestation/vuln/v1"},
  }};
  for (const auto& [name, uri] : kTypes)
    if (name == type) return std::string(uri);
  if (type.find("://") != std::string_view::npos && type.size() <= 1024) return std::string(type);
  std::vector<std::string_view> names;
  std::string list;
  for (const auto& [name, uri] : kTypes) {
    names.push_back(name);
    list += (list.empty() ? "" : ", ") + std::string(name);
  }
  std::string hint;
  if (const auto i = suggest::closest(type, names)) hint = "did you mean \"" + std::string(names[*i]) + "\"? ";
  throw Error(ErrorCode::InvalidArgument, "unknown attestation type \"" + excerpt(type, 100) + "\": " +
                                              hint + "give one of " + list + ", or a predicate type URI");
}

json verify_attestation(const SignedLayer& layer, const VerifyingKey& key, std::string_view predicate_type,
                        std::string_view expected_digest) {
  if (layer.media_type != media_type::kDsseEnvelope) {
    throw Error(ErrorCode::Verify, "attestation layer of media type \"" + excerpt(layer.media_type, 100) +
                                       "\", expected " + media_type::kDsseEnvelope);
  }
  std::string payload;
  try {
    payload = verify_dsse(layer.payload, key, "attestation", media_type::kInToto);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::Verify) throw;
    throw Error(ErrorCode::Verify, e.what());
  }
  json st;
  try {
    st = parse_json(payload, "attestation statement");
  } catch (const Error& e) {
    throw Error(ErrorCode::Verify, e.what());
  }
  const json* t = member(st, "_type");
  if (!t || !t->is_string() || t->get<std::string>().rfind("https://in-toto.io/Statement/", 0) != 0) {
    throw Error(ErrorCode::Verify, "signed attestation payload is not an in-toto statement");
  }
  const json* pt = member(st, "predicateType");
  if (!pt || !pt->is_string()) throw Error(ErrorCode::Verify, "the in-toto statement has no predicateType");
  if (!predicate_type.empty() && pt->get<std::string>() != predicate_type) {
    throw Error(ErrorCode::Verify, "attestation of type \"" + excerpt(pt->get<std::string>(), 200) +
                                       "\", expected \"" + std::string(predicate_type) + "\"");
  }
  if (!expected_digest.empty()) {
    const std::string hex = oci::digest_hex(expected_digest);
    bool found = false;
    if (const json* subj = member(st, "subject"); subj && subj->is_array()) {
      for (const auto& s : *subj) {
        const json* d = member(s, "digest");
        const json* h = d ? member(*d, "sha256") : nullptr;
        if (h && h->is_string() && h->get<std::string>() == hex) found = true;
      }
    }
    if (!found) {
      throw Error(ErrorCode::Verify, "the attestation is signed but names no subject " + std::string(expected_digest));
    }
  }
  return st;
}

}  // namespace rustimg::attest
