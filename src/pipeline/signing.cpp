// Signing images in a registry and verifying them, cosign-compatible: the
// registry side of attest's documents (fetch the .sig image, add a layer,
// push it back) and the key files (the only file I/O).
#include "rustimg/signing.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "rustimg/error.hpp"
#include "rustimg/json.hpp"
#include "rustimg/sbom.hpp"
#include "attachments.hpp"
#include "rustimg/oci.hpp"
#include "rustimg/reference.hpp"
#include "util/base64.hpp"
#include "util/shown.hpp"

namespace rustimg::pipeline {
namespace {

namespace fs = std::filesystem;

/// A key file's text, bounded (a key is a few hundred bytes).
std::string read_key_file(const fs::path& file, const char* what) {
  std::error_code ec;
  if (!fs::exists(file, ec))
    throw Error(ErrorCode::NotFound, std::string(what) + " " + file.string() + " does not exist");
  if (!fs::is_regular_file(file, ec))
    throw Error(ErrorCode::InvalidArgument, std::string(what) + " " + file.string() + " is not a regular file");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(ErrorCode::Io, "cannot read " + std::string(what) + " " + file.string());
  std::string text(attest::kMaxKeyPemBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > attest::kMaxKeyPemBytes)
    throw Error(ErrorCode::InvalidArgument, std::string(what) + " " + file.string() + " is larger than " +
                                                std::to_string(attest::kMaxKeyPemBytes) +
                                                " bytes: give a PEM key file");
  return text;
}

/// Blobs of a signature image held in memory, for Client::push.
class MemorySource final : public registry::BlobSource {
 public:
  explicit MemorySource(const attest::SignatureImage& image) {
    blobs_[image.config.descriptor.digest] = image.config.bytes;
    for (const oci::Blob& l : image.layers) blobs_[l.descriptor.digest] = l.bytes;
  }
  std::unique_ptr<std::istream> open(const std::string& digest) override {
    return std::make_unique<std::istringstream>(blobs_.at(digest));
  }
  std::uint64_t size(const std::string& digest) override { return blobs_.at(digest).size(); }

 private:
  std::map<std::string, std::string> blobs_;
};

Reference at(Reference repo, std::string tag, std::string digest = {}) {
  repo.tag = std::move(tag);
  repo.digest = std::move(digest);
  return repo;
}

/// The image at a .sig / .att tag: its layers and its manifest's reference
/// ("host/repo:TAG@sha256:..."); no layers when the tag does not exist yet.
struct SignatureTag {
  std::vector<attest::SignedLayer> layers;
  std::string reference;
};

SignatureTag signature_layers(registry::Client& client, const Reference& repo, const std::string& tag) {
  const Reference ref = at(repo, tag);
  registry::RawManifest manifest;
  try {
    manifest = client.get_manifest(ref);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::NotFound) return {};
    throw;
  }
  return {attest::read_signature_image(
              manifest.bytes,
              [&](const oci::Descriptor& d) { return client.get_blob(repo, d, attest::kMaxPayloadBytes); },
              ref.to_string()),
          ref.to_string() + "@" + manifest.digest};
}

/// Whether `layers` hold `payload` with a valid signature by `key`.
bool already_signed(const std::vector<attest::SignedLayer>& layers, const std::string& payload,
                    const attest::SigningKey& key, const std::string& digest) {
  const attest::VerifyingKey verifying = key.verifying_key();
  for (const attest::SignedLayer& l : layers) {
    if (l.media_type != attest::media_type::kSimpleSigning || l.payload != payload) continue;
    try {
      attest::verify_simple_signing(l.payload, l.signature_b64, verifying, digest);
      return true;
    } catch (const Error& e) {
      if (e.code() != ErrorCode::Verify && e.code() != ErrorCode::InvalidArgument) throw;
    }
  }
  return false;
}

/// The digest `ref` names and, for an index, those of the manifests it lists.
std::vector<std::string> manifest_digests(registry::Client& client, const Reference& ref, bool children) {
  // What is signed or verified is the digest of the bytes received, so a
  // reference by digest must name exactly those bytes (the client checks
  // sha256 digests; any other algorithm would be trusted blindly).
  if (!ref.digest.empty() && ref.digest.rfind("sha256:", 0) != 0)
    throw Error(ErrorCode::Unsupported, ref.to_string() + ": cosign signatures name sha256 digests; refer to the "
                                                          "image by tag or by its sha256 digest");
  const registry::RawManifest top = client.get_manifest(ref);
  if (!ref.digest.empty() && top.digest != ref.digest)
    throw Error(ErrorCode::Registry, ref.to_string() + ": the registry served a manifest whose digest is " +
                                         top.digest + ", not the one the reference names");
  std::vector<std::string> digests{top.digest};
  if (children && oci::is_index_media_type(top.media_type)) {
    const oci::Index index = oci::parse_index(top.bytes, oci::ParseMode::Lenient, ref.to_string());
    for (const oci::Descriptor& d : index.manifests)
      if (!oci::is_index_media_type(d.media_type)) digests.push_back(d.digest);
  }
  return digests;
}

/// Whether `layers` hold an attestation of exactly `statement` by `key`.
bool already_attested(const std::vector<attest::SignedLayer>& layers, const nlohmann::json& statement,
                      const attest::SigningKey& key, const std::string& predicate_type, const std::string& digest) {
  const attest::VerifyingKey verifying = key.verifying_key();
  for (const attest::SignedLayer& l : layers) {
    if (l.media_type != attest::media_type::kDsseEnvelope) continue;
    try {
      if (attest::verify_attestation(l, verifying, predicate_type, digest) == statement) return true;
    } catch (const Error& e) {
      if (e.code() != ErrorCode::Verify && e.code() != ErrorCode::InvalidArgument) throw;
    }
  }
  return false;
}

/// Whether `doc` is an in-toto Statement v1 of SLSA Provenance v1 whose one
/// subject is `digest`; else why not.
std::string provenance_problem(const nlohmann::json& doc, const std::string& digest) {
  if (!doc.is_object() || doc.value("_type", "") != attest::kInTotoStatementV1)
    return "it is no in-toto Statement v1";
  if (!doc.contains("predicateType") || doc["predicateType"] != attest::kSlsaProvenanceV1)
    return "its predicate type is not " + std::string(attest::kSlsaProvenanceV1);
  const nlohmann::json subjects = doc.value("subject", nlohmann::json());
  if (!subjects.is_array() || subjects.size() != 1 || !subjects[0].is_object() || !subjects[0].contains("digest") ||
      !subjects[0]["digest"].is_object() || subjects[0]["digest"].value("sha256", "") != oci::digest_hex(digest))
    return "its subject is not exactly " + digest;
  return {};
}

/// The in-toto statement to attest for the artifact `a` about `digest` of
/// `repo` (see attest_image); throws InvalidArgument saying why there is none.
nlohmann::json statement_of(const ArtifactReader& reader, const FoundArtifact& a, const Reference& repo,
                            const std::string& digest) {
  const std::string what = "the artifact " + repo.name() + "@" + a.descriptor.digest;
  const nlohmann::json doc = parse_json(reader.content(a.manifest.layers.front(), kMaxAttestedBytes), what);
  const std::string& type = a.manifest.artifact_type;
  if (attest::is_sbom_media_type(type)) {
    const char* cosign_type = type == attest::kSpdxMediaType ? "spdxjson" : "cyclonedx";
    return attest::intoto_statement({{repo.name(), digest}}, attest::predicate_type_uri(cosign_type), doc);
  }
  if (const std::string problem = provenance_problem(doc, digest); !problem.empty())
    throw Error(ErrorCode::InvalidArgument, what + " is not signed: " + problem);
  return doc;  // the provenance, signed as it is
}

}  // namespace

attest::SigningKey read_signing_key(const fs::path& file, std::string passphrase_env) {
  if (passphrase_env.empty()) passphrase_env = kDefaultKeyPassphraseEnv;
  const char* passphrase = std::getenv(passphrase_env.c_str());
  const std::string what = file.string() + (passphrase ? "" : " ($" + passphrase_env + " is not set)");
  return attest::SigningKey::from_pem(read_key_file(file, "signing key"), passphrase ? passphrase : "", what);
}

attest::VerifyingKey read_verifying_key(const fs::path& file) {
  return attest::VerifyingKey::from_pem(read_key_file(file, "public key"), file.string());
}

nlohmann::json to_json(const std::vector<ImageSignature>& signatures) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& s : signatures) {
    nlohmann::json entry = {{"digest", s.digest}, {"signature", s.signature_ref}, {"identity", s.docker_reference}};
    if (!s.predicate_type.empty()) entry["predicate_type"] = s.predicate_type;
    list.push_back(std::move(entry));
  }
  return list;
}

std::vector<ImageSignature> sign_image(std::string_view reference, const attest::SigningKey& key,
                                       const registry::Options& options) {
  const Reference ref = parse_reference(reference);
  const Reference repo = at(ref, {});
  registry::Client client(options);
  std::vector<ImageSignature> signed_images;
  for (const std::string& digest : manifest_digests(client, ref, true)) {
    const std::string payload = attest::simple_signing_payload(repo.name(), digest);
    const std::string sig_tag = attest::signature_tag(digest);
    SignatureTag existing = signature_layers(client, repo, sig_tag);
    // Signed by this key already: nothing to add (as cosign does; an ECDSA
    // signature differs each time, so comparing layers would not see it).
    if (already_signed(existing.layers, payload, key, digest)) {
      signed_images.push_back({digest, existing.reference, repo.name(), {}});
      continue;
    }
    std::vector<attest::SignedLayer> layers = std::move(existing.layers);
    layers.push_back(attest::signature_layer(payload, util::base64_encode(key.sign(payload))));
    const attest::SignatureImage image = attest::signature_image(layers);
    MemorySource source(image);
    const registry::PushResult pushed =
        client.push(at(repo, sig_tag), image.manifest.descriptor.media_type, image.manifest.bytes, source);
    signed_images.push_back({digest, pushed.reference, repo.name(), {}});
  }
  return signed_images;
}

Attestations attest_image(std::string_view reference, const attest::SigningKey& key, const registry::Options& options,
                          const std::vector<std::string>* only) {
  const Reference ref = parse_reference(reference);
  const Reference repo = at(ref, {});
  registry::Client client(options);
  const ArtifactReader reader = registry_artifact_reader(client, repo);
  const auto wanted = [](const std::string& t) {
    return attest::is_sbom_media_type(t) || t == attest::media_type::kInToto;
  };
  Attestations out;
  std::vector<std::string> found;  // the artifacts of `only` found, attested now or before
  for (const std::string& digest : manifest_digests(client, ref, true)) {
    std::vector<std::pair<nlohmann::json, std::string>> statements;  // with the predicate type
    std::vector<std::string> passed_over;
    for (const FoundArtifact& a : find_artifacts(reader, digest, wanted, &passed_over)) {
      if (only != nullptr && std::find(only->begin(), only->end(), a.descriptor.digest) == only->end()) continue;
      if (only != nullptr) found.push_back(a.descriptor.digest);
      try {
        nlohmann::json statement = statement_of(reader, a, repo, digest);
        std::string type = statement["predicateType"].get<std::string>();
        statements.emplace_back(std::move(statement), std::move(type));
      } catch (const Error& e) {
        if (only != nullptr || (e.code() != ErrorCode::InvalidArgument && e.code() != ErrorCode::NotFound)) throw;
        out.skipped.push_back(a.descriptor.digest + ": " + util::shown(e.what()));  // registry text, escaped
      }
    }
    if (only == nullptr) out.skipped.insert(out.skipped.end(), passed_over.begin(), passed_over.end());
    if (statements.empty()) continue;
    const std::string att_tag = attest::attestation_tag(digest);
    SignatureTag existing = signature_layers(client, repo, att_tag);
    std::vector<attest::SignedLayer> layers = std::move(existing.layers);
    std::vector<std::string> added;
    for (const auto& [statement, type] : statements) {
      if (already_attested(layers, statement, key, type, digest)) {
        out.attested.push_back({digest, existing.reference, repo.name(), type});
        continue;
      }
      layers.push_back(attest::sign_statement(statement, key));
      added.push_back(type);
    }
    if (added.empty()) continue;
    const attest::SignatureImage image = attest::signature_image(layers);
    MemorySource source(image);
    const registry::PushResult pushed =
        client.push(at(repo, att_tag), image.manifest.descriptor.media_type, image.manifest.bytes, source);
    for (const std::string& type : added) out.attested.push_back({digest, pushed.reference, repo.name(), type});
  }
  // Every artifact asked for was found: one the registry does not list is an error, not a silent gap.
  if (only != nullptr)
    for (const std::string& digest : *only)
      if (std::find(found.begin(), found.end(), digest) == found.end())
        throw Error(ErrorCode::Registry, ref.to_string() + ": the registry does not list the artifact " + digest +
                                             " (pushed with the image) about it, so it was not attested; try "
                                             "again with rustimg sign --attest");
  return out;
}

std::vector<ImageSignature> verify_image(std::string_view reference, const attest::VerifyingKey& key,
                                         const registry::Options& options) {
  const Reference ref = parse_reference(reference);
  const Reference repo = at(ref, {});
  registry::Client client(options);
  const std::string digest = manifest_digests(client, ref, false).front();
  const std::string sig_tag = attest::signature_tag(digest);
  const SignatureTag sigs = signature_layers(client, repo, sig_tag);
  const std::vector<attest::SignedLayer>& layers = sigs.layers;
  if (layers.empty())
    throw Error(ErrorCode::Verify, ref.to_string() + " (" + digest + ") has no signatures: " + repo.name() + ":" +
                                       sig_tag + " does not exist. Sign it with `rustimg sign --key KEY " +
                                       ref.to_string() + "` (or cosign sign)");
  std::vector<ImageSignature> valid;
  for (const attest::SignedLayer& l : attest::verified_signatures(layers, key, digest, ref.to_string()))
    valid.push_back({digest, sigs.reference,
                     attest::verify_simple_signing(l.payload, l.signature_b64, key, digest), {}});
  return valid;
}

std::vector<nlohmann::json> verify_attestations(std::string_view reference, const attest::VerifyingKey& key,
                                                std::string_view type, const registry::Options& options) {
  const std::string predicate_type = attest::predicate_type_uri(type);
  const Reference ref = parse_reference(reference);
  const Reference repo = at(ref, {});
  registry::Client client(options);
  const std::string digest = manifest_digests(client, ref, false).front();
  const std::string att_tag = attest::attestation_tag(digest);
  const std::vector<attest::SignedLayer> layers = signature_layers(client, repo, att_tag).layers;
  if (layers.empty())
    throw Error(ErrorCode::Verify, ref.to_string() + " (" + digest + ") has no attestations: " + repo.name() + ":" +
                                       att_tag + " does not exist");
  std::vector<nlohmann::json> statements;
  std::string reasons;
  for (const attest::SignedLayer& l : layers) {
    try {
      statements.push_back(attest::verify_attestation(l, key, predicate_type, digest));
    } catch (const Error& e) {
      if (e.code() != ErrorCode::Verify) throw;
      reasons += std::string(reasons.empty() ? "" : "; ") + e.what();
    }
  }
  if (statements.empty())
    throw Error(ErrorCode::Verify, "none of the " + std::to_string(layers.size()) + " attestations of " +
                                       ref.to_string() + " (" + digest + ") is valid for type " +
                                       std::string(predicate_type) + ": " + reasons);
  return statements;
}

}  // namespace rustimg::pipeline
