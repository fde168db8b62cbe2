// Signing images in a registry and verifying them, cosign-compatible: the
// registry side of attest's documents (fetch the .sig image, add a layer,
// push it back) and the key files (the only file I/O).
#include "rustimg/signing.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "rustimg/error.hpp"
#include "rustimg/json.hpp"
#include "rustimg/sbom.hpp"
#include "attachments.hpp"
#include "rustimg/oci.hpp"
#include "rustimg/reference.hpp"
#include "rustimg/store.hpp"
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

/// Where an image and its signature images live: a registry repository, or
/// an OCI layout (signatures under the same "sha256-<hex>.sig" tags, so a
/// push of those tags carries them to a registry as cosign expects).
class ImageHome {
 public:
  virtual ~ImageHome() = default;
  /// The image as named, for messages ("host/repo:tag", "oci:DIR:TAG").
  virtual std::string describe() const = 0;
  /// A tag of the same home, for messages ("host/repo:sha256-<hex>.sig").
  virtual std::string at_tag(const std::string& tag) const = 0;
  /// The manifest or index the reference names, its digest checked.
  virtual registry::RawManifest top() = 0;
  /// The signature image tagged `tag`; no layers when there is none.
  virtual SignatureTag signatures(const std::string& tag) = 0;
  /// Tags `image` as `tag`, replacing what was there; returns its
  /// reference ("...:TAG@sha256:...").
  virtual std::string put(const std::string& tag, const attest::SignatureImage& image) = 0;
  /// The artifacts listed about the image's manifests.
  virtual ArtifactReader artifacts() = 0;
  /// The repository a signature names by default ("host/repo"); "" when
  /// there is none (a layout).
  virtual std::string identity() const = 0;
};

class RegistryHome final : public ImageHome {
 public:
  RegistryHome(const Reference& ref, const registry::Options& options)
      : ref_(ref), repo_(at(ref, {})), client_(options) {}
  std::string describe() const override { return ref_.to_string(); }
  std::string at_tag(const std::string& tag) const override { return repo_.name() + ":" + tag; }
  registry::RawManifest top() override {
    // What is signed or verified is the digest of the bytes received, so a
    // reference by digest must name exactly those bytes (the client checks
    // sha256 digests; any other algorithm would be trusted blindly).
    if (!ref_.digest.empty() && ref_.digest.rfind("sha256:", 0) != 0)
      throw Error(ErrorCode::Unsupported, ref_.to_string() + ": cosign signatures name sha256 digests; refer to "
                                                             "the image by tag or by its sha256 digest");
    registry::RawManifest m = client_.get_manifest(ref_);
    if (!ref_.digest.empty() && m.digest != ref_.digest)
      throw Error(ErrorCode::Registry, ref_.to_string() + ": the registry served a manifest whose digest is " +
                                           m.digest + ", not the one the reference names");
    return m;
  }
  SignatureTag signatures(const std::string& tag) override {
    const Reference ref = at(repo_, tag);
    registry::RawManifest manifest;
    try {
      manifest = client_.get_manifest(ref);
    } catch (const Error& e) {
      if (e.code() == ErrorCode::NotFound) return {};
      throw;
    }
    return {attest::read_signature_image(
                manifest.bytes,
                [&](const oci::Descriptor& d) { return client_.get_blob(repo_, d, attest::kMaxPayloadBytes); },
                ref.to_string()),
            ref.to_string() + "@" + manifest.digest};
  }
  std::string put(const std::string& tag, const attest::SignatureImage& image) override {
    MemorySource source(image);
    return client_.push(at(repo_, tag), image.manifest.descriptor.media_type, image.manifest.bytes, source).reference;
  }
  ArtifactReader artifacts() override { return registry_artifact_reader(client_, repo_); }
  std::string identity() const override { return repo_.name(); }

 private:
  Reference ref_;
  Reference repo_;
  registry::Client client_;
};

class LayoutHome final : public ImageHome {
 public:
  explicit LayoutHome(store::ImageLocation location) : location_(std::move(location)), image_(location_) {}
  std::string describe() const override { return location_.to_string(); }
  std::string at_tag(const std::string& tag) const override { return "oci:" + location_.path.string() + ":" + tag; }
  registry::RawManifest top() override {
    const oci::Descriptor& d = image_.top();  // checked against its digest by StoredImage
    return {d.media_type, d.digest, image_.blobs().read_document(d)};
  }
  SignatureTag signatures(const std::string& tag) override {
    std::optional<LayoutSignatureImage> sigs = read_layout_signature_image(location_.path, tag);
    if (!sigs) return {};
    return {std::move(sigs->layers), at_tag(tag) + "@" + sigs->manifest.digest};
  }
  std::string put(const std::string& tag, const attest::SignatureImage& image) override {
    store::BlobStore blobs(location_.path);
    blobs.put(image.config);
    for (const oci::Blob& l : image.layers) blobs.put(l);
    blobs.put(image.manifest);
    store::write_oci_layout(location_.path, blobs, image.manifest.descriptor, tag);
    return at_tag(tag) + "@" + image.manifest.descriptor.digest;
  }
  ArtifactReader artifacts() override { return layout_artifact_reader(image_, location_.path); }
  std::string identity() const override { return {}; }

 private:
  store::ImageLocation location_;
  store::StoredImage image_;
};

/// The home of `reference`: "oci:DIR[:TAG]" is an OCI layout, anything else
/// a registry reference.
std::unique_ptr<ImageHome> home_of(std::string_view reference, const registry::Options& options) {
  if (is_layout_reference(reference))
    return std::make_unique<LayoutHome>(store::parse_image_location(reference, "image"));
  return std::make_unique<RegistryHome>(parse_reference(reference), options);
}

/// The repository a signature of `home`'s image names: `identity` when
/// given, else the home's own.
std::string signer_identity(const ImageHome& home, std::string_view identity) {
  if (!identity.empty()) {
    const Reference r = parse_reference(identity);  // InvalidArgument naming it when it is no reference
    // parse_reference() fills in "latest": an explicit tag is seen in the text.
    const std::size_t last_slash = identity.rfind('/');
    const bool tagged = identity.find(':', last_slash == std::string_view::npos ? 0 : last_slash) !=
                        std::string_view::npos;
    if (!r.digest.empty() || tagged)
      throw Error(ErrorCode::InvalidArgument, "identity \"" + std::string(identity) +
                                                  "\": give a repository (HOST/REPO), without a tag or digest");
    return r.name();
  }
  std::string name = home.identity();
  if (name.empty())
    throw Error(ErrorCode::InvalidArgument,
                home.describe() + ": an image in an OCI layout has no repository for its signature to name; give "
                                  "the repository it will be pushed to (HOST/REPO) as the identity");
  return name;
}

/// The digest of the image `home` holds and, with `children`, those of
/// the manifests its index lists.
std::vector<std::string> manifest_digests(ImageHome& home, bool children) {
  const registry::RawManifest top = home.top();
  std::vector<std::string> digests{top.digest};
  if (children && oci::is_index_media_type(top.media_type)) {
    const oci::Index index = oci::parse_index(top.bytes, oci::ParseMode::Lenient, home.describe());
    for (const oci::Descriptor& d : index.manifests)
      if (!oci::is_index_media_type(d.media_type)) digests.push_back(d.digest);
  }
  return digests;
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

/// The in-toto statement to attest for the artifact `a` about `digest`,
/// named `identity` (see attest_image); throws InvalidArgument saying why
/// there is none.
nlohmann::json statement_of(const ArtifactReader& reader, const FoundArtifact& a, const std::string& identity,
                            const std::string& digest) {
  const std::string what = "the artifact " + a.descriptor.digest + " in " + reader.name;
  const nlohmann::json doc = parse_json(reader.content(a.manifest.layers.front(), kMaxAttestedBytes), what);
  const std::string& type = a.manifest.artifact_type;
  if (attest::is_sbom_media_type(type)) {
    const char* cosign_type = type == attest::kSpdxMediaType ? "spdxjson" : "cyclonedx";
    return attest::intoto_statement({{identity, digest}}, attest::predicate_type_uri(cosign_type), doc);
  }
  if (const std::string problem = provenance_problem(doc, digest); !problem.empty())
    throw Error(ErrorCode::InvalidArgument, what + " is not signed: " + problem);
  return doc;  // the provenance, signed as it is
}

}  // namespace

bool is_layout_reference(std::string_view reference) { return reference.rfind("oci:", 0) == 0; }

std::string image_registry(std::string_view reference) {
  return is_layout_reference(reference) ? std::string() : parse_reference(reference).registry;
}

std::optional<LayoutSignatureImage> read_layout_signature_image(const fs::path& dir, const std::string& tag) {
  const std::optional<oci::Descriptor> entry = store::find_layout_tag(dir, tag);
  if (!entry) return std::nullopt;
  const std::string what = "oci:" + dir.string() + ":" + tag;
  const store::BlobStore blobs(dir);
  try {
    LayoutSignatureImage out{*entry, blobs.read_checked(*entry), {}};
    out.layers = attest::read_signature_image(
        out.bytes, [&](const oci::Descriptor& d) { return blobs.read_document(d, attest::kMaxPayloadBytes); }, what);
    // The config goes up with the image on a push: bounded and checked too.
    const oci::Manifest manifest = oci::parse_manifest(out.bytes, oci::ParseMode::Lenient, what);
    if (manifest.config.size < 0 || static_cast<std::uint64_t>(manifest.config.size) > oci::kMaxConfigBytes)
      throw Error(ErrorCode::InvalidArgument, "its config is larger than " + std::to_string(oci::kMaxConfigBytes) +
                                                  " bytes");
    blobs.check(manifest.config);
    return out;
  } catch (const Error& e) {
    // A tag that is there but cannot be read is damage, not "unsigned".
    if (e.code() != ErrorCode::NotFound && e.code() != ErrorCode::InvalidArgument) throw;
    const std::string message = e.what();
    throw Error(ErrorCode::InvalidArgument, "the signature image " + what +
                                                " in the layout is damaged (" + message +
                                                "); write the image to a new layout and sign it again");
  }
}

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
                                       const registry::Options& options, std::string_view identity) {
  const auto home = home_of(reference, options);
  const std::string name = signer_identity(*home, identity);
  std::vector<ImageSignature> signed_images;
  for (const std::string& digest : manifest_digests(*home, true)) {
    const std::string payload = attest::simple_signing_payload(name, digest);
    const std::string sig_tag = attest::signature_tag(digest);
    SignatureTag existing = home->signatures(sig_tag);
    // Signed by this key already: nothing to add (as cosign does; an ECDSA
    // signature differs each time, so comparing layers would not see it).
    if (already_signed(existing.layers, payload, key, digest)) {
      signed_images.push_back({digest, existing.reference, name, {}});
      continue;
    }
    std::vector<attest::SignedLayer> layers = std::move(existing.layers);
    layers.push_back(attest::signature_layer(payload, util::base64_encode(key.sign(payload))));
    signed_images.push_back({digest, home->put(sig_tag, attest::signature_image(layers)), name, {}});
  }
  return signed_images;
}

Attestations attest_image(std::string_view reference, const attest::SigningKey& key, const registry::Options& options,
                          const std::vector<std::string>* only, std::string_view identity) {
  const auto home = home_of(reference, options);
  const std::string name = signer_identity(*home, identity);
  const ArtifactReader reader = home->artifacts();
  const auto wanted = [](const std::string& t) {
    return attest::is_sbom_media_type(t) || t == attest::media_type::kInToto;
  };
  Attestations out;
  std::vector<std::string> found;  // the artifacts of `only` found, attested now or before
  for (const std::string& digest : manifest_digests(*home, true)) {
    std::vector<std::pair<nlohmann::json, std::string>> statements;  // with the predicate type
    std::vector<std::string> passed_over;
    for (const FoundArtifact& a : find_artifacts(reader, digest, wanted, &passed_over, only)) {
      if (only != nullptr) found.push_back(a.descriptor.digest);
      try {
        nlohmann::json statement = statement_of(reader, a, name, digest);
        std::string type = statement["predicateType"].get<std::string>();
        statements.emplace_back(std::move(statement), std::move(type));
      } catch (const Error& e) {
        if (only != nullptr || (e.code() != ErrorCode::InvalidArgument && e.code() != ErrorCode::NotFound)) throw;
        out.skipped.push_back(a.descriptor.digest + ": " + util::shown(e.what()));  // outside text, escaped
      }
    }
    // Without `only`, what was passed over is reported; with it, an artifact
    // asked for that failed a check is an error, with the reason.
    if (only == nullptr) out.skipped.insert(out.skipped.end(), passed_over.begin(), passed_over.end());
    else if (!passed_over.empty())
      throw Error(ErrorCode::InvalidArgument,
                  home->describe() + ": cannot attest the artifact written with the image " + passed_over.front());
    if (statements.empty()) continue;
    const std::string att_tag = attest::attestation_tag(digest);
    SignatureTag existing = home->signatures(att_tag);
    std::vector<attest::SignedLayer> layers = std::move(existing.layers);
    std::vector<std::string> added;
    for (const auto& [statement, type] : statements) {
      if (already_attested(layers, statement, key, type, digest)) {
        out.attested.push_back({digest, existing.reference, name, type});
        continue;
      }
      layers.push_back(attest::sign_statement(statement, key));
      added.push_back(type);
    }
    if (added.empty()) continue;
    const std::string put = home->put(att_tag, attest::signature_image(layers));
    for (const std::string& type : added) out.attested.push_back({digest, put, name, type});
  }
  // Every artifact asked for was found: one the registry does not list is an error, not a silent gap.
  if (only != nullptr)
    for (const std::string& digest : *only)
      if (std::find(found.begin(), found.end(), digest) == found.end())
        throw Error(ErrorCode::Registry, home->describe() + ": the " +
                                             (home->identity().empty() ? "layout" : "registry") +
                                             " does not list the artifact " + digest +
                                             " (written with the image) about it, so it was not attested; attest "
                                             "the image again (rustimg sign --attest, attest_image)");
  return out;
}

SignOutcome sign(std::string_view reference, const attest::SigningKey& key, const registry::Options& options,
                 std::string_view identity, bool attest) {
  SignOutcome out;
  out.signatures = sign_image(reference, key, options, identity);
  if (attest) {
    out.attestations = attest_image(reference, key, options, nullptr, identity);
    out.attested = true;
  }
  return out;
}

nlohmann::json to_json(const SignOutcome& outcome) {
  nlohmann::json doc = {{"signed", to_json(outcome.signatures)}};
  if (outcome.attested) {
    doc["attested"] = to_json(outcome.attestations.attested);
    doc["skipped"] = outcome.attestations.skipped;
  }
  return doc;
}

std::vector<ImageSignature> verify_image(std::string_view reference, const attest::VerifyingKey& key,
                                         const registry::Options& options) {
  const auto home = home_of(reference, options);
  const std::string digest = manifest_digests(*home, false).front();
  const std::string sig_tag = attest::signature_tag(digest);
  const SignatureTag sigs = home->signatures(sig_tag);
  if (sigs.layers.empty())
    throw Error(ErrorCode::Verify, home->describe() + " (" + digest + ") has no signatures: " +
                                       home->at_tag(sig_tag) + " does not exist. Sign it with `rustimg sign --key KEY " +
                                       home->describe() + "` (or cosign sign)");
  std::vector<ImageSignature> valid;
  for (const attest::SignedLayer& l : attest::verified_signatures(sigs.layers, key, digest, home->describe()))
    valid.push_back({digest, sigs.reference,
                     attest::verify_simple_signing(l.payload, l.signature_b64, key, digest), {}});
  return valid;
}

std::vector<nlohmann::json> verify_attestations(std::string_view reference, const attest::VerifyingKey& key,
                                                std::string_view type, const registry::Options& options) {
  const std::string predicate_type = attest::predicate_type_uri(type);
  const auto home = home_of(reference, options);
  const std::string digest = manifest_digests(*home, false).front();
  const std::string att_tag = attest::attestation_tag(digest);
  const std::vector<attest::SignedLayer> layers = home->signatures(att_tag).layers;
  if (layers.empty())
    throw Error(ErrorCode::Verify, home->describe() + " (" + digest + ") has no attestations: " +
                                       home->at_tag(att_tag) + " does not exist");
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
                                       home->describe() + " (" + digest + ") is valid for type " +
                                       std::string(predicate_type) + ": " + reasons);
  return statements;
}

}  // namespace rustimg::pipeline
