// The compose values as build_image uses them (internal to pipeline).
//
// A build writes every blob straight to its BlobTarget while making it (a
// registry receives a layer as it is compressed, with progress and
// cancellation), and pulls its base into that target's store; it then
// assembles each platform's image as compose::Image values (one code path:
// base + layers + config + annotations -> manifest). The values made here
// name blobs held by the target, not by the values themselves: such an image
// is assembled and its documents published with the target, never written
// by Image::write (which finds no source for those layers).
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

#include "rustimg/compose.hpp"
#include "rustimg/image.hpp"
#include "rustimg/layer.hpp"
#include "rustimg/oci.hpp"
#include "rustimg/platform.hpp"

namespace rustimg::compose {

struct BuildAccess {
  /// `written`, already in the build's target: its descriptor and digests.
  static Layer written(const layer::Layer& written);
  /// Image::scratch() created at `created` (SOURCE_DATE_EPOCH not read:
  /// the build's time is given).
  static Image scratch(const Platform& platform, oci::Format format, std::int64_t created);
  /// The pulled `base` as the start of the build's image for `platform` in
  /// `format`: the base's config document and layers (media types mapped
  /// into `format`'s family, same bytes), without the base manifest's
  /// annotations (they describe the base; the build names it with
  /// image::manifest_annotations_on_base()).
  static Image on_base(const image::BaseImage& base, const Platform& platform, oci::Format format);
  /// `img` with `doc` as its config document: the build's own config rules
  /// (image::apply_build_config), which with_config() deliberately does not
  /// apply. Throws Error (Generic: a bug in those rules) when `doc` changes
  /// the rootfs.diff_ids (layers never change).
  static Image with_config_document(const Image& img, nlohmann::json doc);
};

}  // namespace rustimg::compose
