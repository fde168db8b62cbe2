// The two BlobTargets: a staging store published by store::publish, and a
// registry that receives each layer while it is written (no copy on disk).
#include "blob_target.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>
#include <sstream>
#include <system_error>
#include <utility>

#include "rustimg/error.hpp"
#include "rustimg/reference.hpp"
#include "rustimg/registry.hpp"
#include "util/atomic_file.hpp"

namespace rustimg::pipeline {
namespace {

namespace fs = std::filesystem;

/// Blobs staged beside a file or directory destination, published at the end.
class StagingTarget final : public BlobTarget {
 public:
  explicit StagingTarget(store::ImageLocation output) : output_(std::move(output)) {
    const fs::path parent = staging_parent(output_);
    std::error_code ec;
    fs::create_directories(parent, ec);
    if (ec) throw Error(ErrorCode::Io, "cannot create " + parent.string() + ": " + ec.message());
    staging_.emplace(parent);
    blobs_.emplace(staging_->path());
  }

  std::unique_ptr<Writer> begin_blob() override {
    class StoreWriter final : public Writer {
     public:
      explicit StoreWriter(std::unique_ptr<store::BlobStore::Writer> w) : w_(std::move(w)) {}
      void write(std::span<const std::byte> data) override { w_->write(data); }
      void commit(const std::string& digest) override { w_->commit(digest); }

     private:
      std::unique_ptr<store::BlobStore::Writer> w_;
    };
    return std::make_unique<StoreWriter>(blobs_->begin_blob());
  }
  void put(const oci::Blob& blob) override { blobs_->put(blob); }
  const store::BlobStore& base_store() override { return *blobs_; }
  std::optional<transfer::PushedImage> publish(const oci::Descriptor& top, const std::vector<PulledBase>&,
                                               const std::vector<oci::Descriptor>& referrers) override {
    store::publish(output_, *blobs_, top, referrers);
    return std::nullopt;
  }

 private:
  store::ImageLocation output_;
  std::optional<store::TempDir> staging_;  // removed with its contents when done
  std::optional<store::BlobStore> blobs_;
};

/// What the final push reads: the documents kept in memory, then the pulled
/// base blobs. Layers streamed during the build are in the registry already
/// (push finds them with HEAD), so they are never asked for.
class BuiltSource final : public registry::BlobSource {
 public:
  BuiltSource(const std::map<std::string, std::string>& documents, const store::BlobStore* bases)
      : documents_(documents), bases_(bases) {}
  std::unique_ptr<std::istream> open(const std::string& digest) override {
    if (auto it = documents_.find(digest); it != documents_.end())
      return std::make_unique<std::istringstream>(it->second);
    if (bases_ != nullptr && bases_->contains(digest)) return bases_->open(digest);
    throw missing(digest);
  }
  std::uint64_t size(const std::string& digest) override {
    if (auto it = documents_.find(digest); it != documents_.end()) return it->second.size();
    if (bases_ != nullptr && bases_->contains(digest)) return bases_->size(digest);
    throw missing(digest);
  }

 private:
  static Error missing(const std::string& digest) {
    return Error(ErrorCode::Registry, "blob " + digest + " was uploaded during the build but the registry no longer "
                                                         "has it; build again");
  }
  const std::map<std::string, std::string>& documents_;
  const store::BlobStore* bases_;
};

/// A registry destination: layers go up as they are written, documents are
/// kept in memory, and one push of the root ends the build.
class RegistryTarget final : public BlobTarget {
 public:
  RegistryTarget(const store::ImageLocation& output, const registry::Options& options,
                 const std::vector<std::string>& tags)
      : refs_(tagged_references(output.reference, tags)), ref_(refs_.front()), client_(options) {}

  std::unique_ptr<Writer> begin_blob() override {
    class UploadWriter final : public Writer {
     public:
      UploadWriter(std::unique_ptr<registry::BlobUpload> u, RegistryTarget& target)
          : u_(std::move(u)), target_(target) {}
      void write(std::span<const std::byte> data) override { u_->write(data); }
      void commit(const std::string& digest) override {
        u_->commit(digest);
        ++target_.streamed_;
        target_.streamed_bytes_ += u_->size();
      }

     private:
      std::unique_ptr<registry::BlobUpload> u_;
      RegistryTarget& target_;
    };
    return std::make_unique<UploadWriter>(client_.begin_upload(ref_), *this);
  }
  void put(const oci::Blob& blob) override { documents_.emplace(blob.descriptor.digest, blob.bytes); }
  const store::BlobStore& base_store() override {
    if (!bases_) {
      staging_.emplace(util::temp_directory());
      bases_.emplace(staging_->path());
    }
    return *bases_;
  }
  std::optional<transfer::PushedImage> publish(const oci::Descriptor& top, const std::vector<PulledBase>& bases,
                                               const std::vector<oci::Descriptor>& referrers) override {
    // A base on the target's registry lends its layers by mount (as
    // transfer::push does from the base-name annotation).
    registry::PushOptions po = transfer::tag_options(refs_);
    for (const PulledBase& base : bases) {
      const Reference base_ref = parse_reference(base.image.name);
      if (base_ref.registry != ref_.registry) continue;
      for (const auto& layer : base.image.layers) po.mount_sources.emplace(layer.digest, base_ref.repository);
    }
    BuiltSource source(documents_, bases_ ? &*bases_ : nullptr);
    registry::PushResult r = client_.push(ref_, top.media_type, documents_.at(top.digest), source, po);
    // The push found the layers streamed during the build: they were
    // uploaded by this build all the same.
    const unsigned found = std::min(r.blobs_existing, streamed_);
    r.blobs_existing -= found;
    r.blobs_uploaded += found;
    r.bytes_uploaded += streamed_bytes_;
    // Then the artifacts about the image (SBOMs, provenance), from the documents put().
    std::vector<std::string> artifacts;
    for (const oci::Descriptor& d : referrers) artifacts.push_back(documents_.at(d.digest));
    auto pushed = client_.push_referrers(ref_, artifacts, source);
    return transfer::PushedImage{r.reference, std::move(r), std::move(pushed), {}};
  }

 private:
  std::vector<Reference> refs_;  ///< the output's reference under each tag
  const Reference& ref_;         ///< the one pushed (the others are its extra tags)
  registry::Client client_;
  std::map<std::string, std::string> documents_;  ///< digest -> bytes
  std::optional<store::TempDir> staging_;         ///< only for an image base's blobs
  std::optional<store::BlobStore> bases_;
  unsigned streamed_ = 0;                 ///< layers uploaded while written
  std::uint64_t streamed_bytes_ = 0;
};

}  // namespace

fs::path staging_parent(const store::ImageLocation& dest) {
  fs::path p = fs::absolute(dest.path).lexically_normal();
  if (!p.has_filename()) p = p.parent_path();  // "out/dir/" -> "out/dir"
  std::error_code ec;
  if (dest.kind == store::ImageLocation::Kind::OciLayout && fs::is_directory(p, ec)) return p;
  return p.parent_path();
}

std::unique_ptr<BlobTarget> make_blob_target(const BuildOptions& o, const std::vector<std::string>& tags) {
  if (o.output.kind == store::ImageLocation::Kind::Registry)
    return std::make_unique<RegistryTarget>(o.output, o.registry, tags);
  return std::make_unique<StagingTarget>(o.output);
}

}  // namespace rustimg::pipeline
