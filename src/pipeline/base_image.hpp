// Pulling an image base into the build's staging store (internal to build).
#pragma once

#include <string>

#include "rustimg/image.hpp"
#include "rustimg/option_names.hpp"
#include "rustimg/platform.hpp"
#include "rustimg/reference.hpp"
#include "rustimg/registry.hpp"
#include "rustimg/transfer.hpp"
#include "rustimg/store.hpp"

namespace rustimg::pipeline {

/// A base image pulled for one platform.
struct PulledBase {
  image::BaseImage image;
  std::string root_digest;  ///< what the reference resolved to (an index or the manifest)
};

/// Where pulled base blobs go: the build's staging store, and a cache of
/// blobs kept between builds (BuildOptions::base_cache) when there is one.
/// The cache and the build never share a file (copies, or reflinks where
/// the file system offers them), so damage to the cache cannot reach an
/// image already written. A cached blob's copy is hashed before it is used;
/// one that does not match its digest is removed and downloaded again. The cache is best effort: a blob
/// that cannot be cached is simply not. Thread-safe, as the client needs.
class BaseBlobSink final : public registry::BlobSink {
 public:
  BaseBlobSink(const store::BlobStore& staging, const store::BlobStore* cache) : staging_(staging), cache_(cache) {}
  void put(const std::string& digest, const std::string& media_type, std::istream& data,
           std::uint64_t size) override;
  bool has(const std::string& digest) override;
  const store::BlobStore& staging() const noexcept { return staging_; }

 private:
  const store::BlobStore& staging_;
  const store::BlobStore* cache_;
};

/// Pulls `ref` for `platform` through `sink` into its staging store and
/// reads its manifest and config. Errors keep their
/// class (RegistryError keeps its HTTP status) and name the base reference,
/// the platform and what to check (the option naming the base as `names`
/// spells it). `any_single_platform`: see registry::PullOptions. With
/// `pinned_digest` (the digest a signature check found for `ref`), the
/// manifest or index of that digest is pulled, whatever `ref`'s tag names
/// by now; the image still records `ref` as its base.
PulledBase pull_base(registry::Client& client, const Reference& ref, const Platform& platform,
                     BaseBlobSink& sink, const OptionNames& names, bool any_single_platform = false,
                     const std::string& pinned_digest = {});

}  // namespace rustimg::pipeline
