// rustimg/transfer.hpp - moving images between the local formats and
// registries: push what a build wrote, pull an image into a local format.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rustimg/oci.hpp"
#include "rustimg/platform.hpp"
#include "rustimg/registry.hpp"
#include "rustimg/store.hpp"

namespace rustimg::transfer {

/// A registry::BlobSource over a store::BlobStore: push reads blobs and
/// child manifests from the store's files, only regular files inside it
/// (store::BlobStore::open).
class BlobStoreSource final : public registry::BlobSource {
 public:
  explicit BlobStoreSource(const store::BlobStore& blobs) : blobs_(blobs) {}
  std::unique_ptr<std::istream> open(const std::string& digest) override;
  std::uint64_t size(const std::string& digest) override;

 private:
  const store::BlobStore& blobs_;
};

/// A registry::BlobSink over a store::BlobStore: pulled blobs (already
/// verified by the client) are written under their digest, atomically;
/// blobs the store holds are not downloaded again. Thread-safe, as the
/// client requires (each put writes its own temporary file).
class BlobStoreSink final : public registry::BlobSink {
 public:
  explicit BlobStoreSink(const store::BlobStore& blobs) : blobs_(blobs) {}
  void put(const std::string& digest, const std::string& media_type, std::istream& data,
           std::uint64_t size) override;
  bool has(const std::string& digest) override { return blobs_.contains(digest); }

 private:
  const store::BlobStore& blobs_;
};


/// What an image is made of, for reports such as `rustimg build --json`:
/// its root (a manifest or an index) and each image manifest under it.
struct ImageSummary {
  /// The root as a reference names it: digest, media type, size.
  oci::Descriptor root;
  struct PlatformManifest {
    /// From the index entry; for a lone manifest, from its config (unset
    /// when neither names an architecture).
    std::optional<Platform> platform;
    oci::Descriptor descriptor;  ///< the manifest itself
    oci::Manifest manifest;      ///< its config and layers
  };
  /// The root itself for a manifest; an index's image manifests in order.
  std::vector<PlatformManifest> manifests;
};

/// Reads the image rooted at `top`. `fetch` returns the bytes of a
/// manifest, an index or a config that a descriptor addresses (already
/// verified: a content-addressed store or the registry client). Does no I/O
/// itself. Configs over oci::kMaxConfigBytes are not read (no platform); a
/// root or image manifest whose descriptor claims more than
/// oci::kMaxManifestBytes is refused before it is fetched
/// (oci::check_document_size). Throws that, what `fetch` and
/// oci::parse_document() throw.
ImageSummary summarize(const oci::Descriptor& top, const std::function<std::string(const oci::Descriptor&)>& fetch);

/// {"digest", "media_type", "size", "manifests": [{"platform" ("os/arch[/variant]"
/// or null), "digest", "media_type", "size", "config": {"digest", "media_type",
/// "size"}, "layers": [{"digest", "media_type", "size"}]}]}: the image part
/// of every --json result.
nlohmann::json to_json(const ImageSummary& image);

struct PushedImage {
  std::string reference;  ///< "host/repo:tag@sha256:..." (what `rustimg push` prints last)
  registry::PushResult result;
  /// The artifacts about its manifests (SBOMs, provenance) pushed with it.
  std::vector<registry::ReferrerPushResult> referrers;
  /// The cosign signature and attestation images ("sha256-<hex>.sig",
  /// ".att") an OCI layout held about its manifests, pushed with it:
  /// "host/repo:sha256-<hex>.sig@sha256:...".
  std::vector<std::string> signatures;
};

/// {"reference", "references", "digest", "blobs_uploaded", "blobs_mounted",
/// "blobs_existing", "bytes_uploaded", "referrers": [{"digest", "subject",
/// "artifact_type", "via": "referrers-api" | "tag-schema"}], "signatures":
/// [signature image references]}: what the
/// bindings hand back for one pushed reference ("references": every
/// REF@digest it was tagged as): C's rustimg_transfer_result_json, Python's
/// push(), Go's TransferResult.
nlohmann::json to_json(const PushedImage& pushed);

/// Sets "pushed" (to_json of each) and "references" (every REF@digest they
/// were pushed as, in order) in `doc`: the push part of every --json result.
void add_pushed(nlohmann::json& doc, const std::vector<PushedImage>& pushed);

/// Pushes the image or index stored at `source` (oci:, oci-archive: or
/// docker-archive:) to every reference in `targets`, in order. When the image
/// records its base (annotation org.opencontainers.image.base.name) and a
/// target is on the base's registry, layers are mounted from the base's
/// repository instead of uploaded. A target written without a tag or
/// digest gets each of `tags` (the spec's "tags"; none: "latest"), the first
/// as the pushed reference and the others as further tags of the same
/// manifest (tagged_references()). Throws registry::RegistryError (Registry,
/// Auth), rustimg::Error (NotFound, InvalidArgument, Cancelled).
/// When `image` is set, it receives the summary of what was pushed. From an
/// oci: layout, the artifacts its index.json lists about the image's
/// manifests (store::layout_referrers: the SBOMs and provenance rustimg
/// build attached) follow the image (registry::Client::push_referrers), and
/// so do the cosign signature and attestation images it holds about them
/// (pipeline::sign_image of "oci:DIR": tags "sha256-<hex>.sig" / ".att").
std::vector<PushedImage> push(const store::ImageLocation& source, const std::vector<std::string>& targets,
                              const registry::Options& options, const std::vector<std::string>& tags = {},
                              ImageSummary* image = nullptr);

/// The push options that put an image under every reference of `refs`
/// (tagged_references() of one target): the first is pushed, the others'
/// tags are extra_tags.
registry::PushOptions tag_options(const std::vector<Reference>& refs);

/// The registry that credentials given without a host are for when pushing
/// to `targets`: the one registry host they all name. Throws rustimg::Error
/// (InvalidArgument) when they name several, listing them and saying how to
/// name the one meant (`how`, e.g. "--credentials-for HOST"), and what
/// parse_reference() throws.
std::string push_registry(const std::vector<std::string>& targets, const std::string& how);

/// Pulls `reference` (one platform of an index when `platform` is set, else
/// what it names) into `output`. Returns the digest of what was written;
/// when `image` is set, it receives the summary of what was written.
std::string pull(const std::string& reference, const store::ImageLocation& output, const registry::Options& options,
                 const std::optional<Platform>& platform = std::nullopt, ImageSummary* image = nullptr);

}  // namespace rustimg::transfer
