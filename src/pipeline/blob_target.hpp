// Where build_image puts the blobs it makes (internal to pipeline): a
// staging store published to a file or directory, or a registry that
// receives layers as they are written.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base_image.hpp"
#include "rustimg/oci.hpp"
#include "rustimg/pipeline.hpp"
#include "rustimg/store.hpp"
#include "rustimg/transfer.hpp"

namespace rustimg::pipeline {

class BlobTarget {
 public:
  /// A blob being written whose digest is known at the end.
  class Writer : public ByteSink {
   public:
    using ByteSink::write;
    /// Completes the blob as `digest`; a writer destroyed uncommitted leaves nothing.
    virtual void commit(const std::string& digest) = 0;
  };

  virtual ~BlobTarget() = default;
  virtual std::unique_ptr<Writer> begin_blob() = 0;
  /// A small blob made whole in memory (config, manifest, index).
  virtual void put(const oci::Blob& blob) = 0;
  /// Where an image base's blobs are pulled to (made on first use).
  virtual const store::BlobStore& base_store() = 0;
  /// Writes the image `top` (built on `bases`, none for a built-in base) to
  /// the destination, with the artifacts `referrers` about it (put()
  /// before; an OCI layout or a registry); returns the push for a registry.
  virtual std::optional<transfer::PushedImage> publish(const oci::Descriptor& top,
                                                       const std::vector<PulledBase>& bases,
                                                       const std::vector<oci::Descriptor>& referrers) = 0;
};

/// Where to stage blobs for a file or directory destination: inside an
/// existing layout directory, else beside the destination (same file
/// system), so publishing is a rename or a hard link.
std::filesystem::path staging_parent(const store::ImageLocation& dest);

/// The target for `o.output`: for a registry, reached with `o.registry` and
/// pushed under `tags` when its reference names no tag
/// (tagged_references()); else a staging store beside the destination (see
/// store::publish).
std::unique_ptr<BlobTarget> make_blob_target(const BuildOptions& o, const std::vector<std::string>& tags);

}  // namespace rustimg::pipeline
