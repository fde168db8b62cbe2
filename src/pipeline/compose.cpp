// The compose values: layers and images made from the pipeline's pieces
// (layer writer, image documents, stores, registry client), see compose.hpp.
#include "rustimg/compose.hpp"

#include <cstdio>
#include <system_error>
#include <utility>

#include "base_image.hpp"
#include "blob_target.hpp"
#include "builtin_base.hpp"
#include "compose_build.hpp"
#include "rustimg/error.hpp"
#include "rustimg/reference.hpp"
#include "util/source_date_epoch.hpp"
#include "util/atomic_file.hpp"

namespace rustimg::compose {

namespace fs = std::filesystem;
using nlohmann::json;

// --- where blobs live --------------------------------------------------------------

namespace {

/// A store some of an image's blobs are in, with whatever keeps it alive
/// (a layer's private directory, a loaded image, a pull's store), and how a
/// write may take its files (store::BlobStore::Share: Link only for a
/// private store nobody writes).
struct BlobSource {
  std::shared_ptr<const void> owner;
  const store::BlobStore* blobs = nullptr;
  store::BlobStore::Share share = store::BlobStore::Share::Copy;
};

/// A private store under the system's temporary directory.
struct PrivateStore {
  PrivateStore() : dir(util::temp_directory()), blobs(dir.path()) {}
  store::TempDir dir;  // removed with its contents when the last owner goes
  store::BlobStore blobs;
};

std::int64_t timestamp(const std::optional<std::int64_t>& given) {
  return given ? *given : util::source_date_epoch_from_environment();
}

layer::LayerOptions layer_options(const LayerSettings& s) {
  layer::LayerOptions o;
  o.compression = s.compression;
  o.format = s.format;
  o.level = s.level;
  o.mtime = timestamp(s.mtime);
  return o;
}

}  // namespace

oci::Compression compression_named(std::string_view name, std::string_view argument) {
  for (const auto c : {oci::Compression::Gzip, oci::Compression::Zstd, oci::Compression::None})
    if (name == oci::to_string(c)) return c;
  throw Error(ErrorCode::InvalidArgument, std::string(argument) + " \"" + std::string(name) +
                                              "\" is not a compression: give \"gzip\", \"zstd\" or \"none\"");
}

oci::Format format_named(std::string_view name, std::string_view argument) {
  for (const auto f : {oci::Format::Oci, oci::Format::Docker})
    if (name == format_name(f)) return f;
  throw Error(ErrorCode::InvalidArgument,
              std::string(argument) + " \"" + std::string(name) + "\" is not a format: give \"oci\" or \"docker\"");
}

const char* format_name(oci::Format format) noexcept { return format == oci::Format::Docker ? "docker" : "oci"; }

// --- Layer -----------------------------------------------------------------------------

struct Layer::Impl {
  std::shared_ptr<const PrivateStore> store;
  layer::Layer layer;
};

namespace {

/// A layer written by `write` into a fresh private store; on a throw the
/// uncommitted blob and the store are removed.
template <typename Write>
std::shared_ptr<const Layer::Impl> make_layer(Write&& write) {
  auto store = std::make_shared<const PrivateStore>();
  auto writer = store->blobs.begin_blob();
  const layer::Layer l = write(*writer);
  writer->commit(l.descriptor.digest);
  return std::make_shared<const Layer::Impl>(Layer::Impl{std::move(store), l});
}

}  // namespace

Layer Layer::from_tree(const layer::FileTree& tree, const LayerSettings& settings) {
  const layer::LayerOptions options = layer_options(settings);
  return Layer(make_layer([&](ByteSink& out) { return layer::write_layer(tree, options, out); }));
}

Layer Layer::from_tar(const fs::path& tar_file, const LayerSettings& settings) {
  LayerSettings kept = settings;
  kept.mtime = 0;  // entries keep the tar's own times: SOURCE_DATE_EPOCH is not read
  const layer::LayerOptions options = layer_options(kept);
  return Layer(make_layer([&](ByteSink& out) { return layer::import_tar(tar_file, options, out); }));
}

const oci::Descriptor& Layer::descriptor() const noexcept { return impl_->layer.descriptor; }
const std::string& Layer::digest() const noexcept { return impl_->layer.descriptor.digest; }
const std::string& Layer::diff_id() const noexcept { return impl_->layer.diff_id; }
std::int64_t Layer::size() const noexcept { return impl_->layer.descriptor.size; }
const std::string& Layer::media_type() const noexcept { return impl_->layer.descriptor.media_type; }
std::uint64_t Layer::uncompressed_size() const noexcept { return impl_->layer.uncompressed_size; }

// --- LayerBuilder ----------------------------------------------------------------------

namespace {

/// `mode` when it is permission bits (0 to 07777; an st_mode with the file
/// type bits is not).
std::uint32_t permission_bits(std::uint32_t mode, std::string_view image_path) {
  if (mode > 07777) {
    char octal[16];
    std::snprintf(octal, sizeof octal, "0%o", mode);
    throw Error(ErrorCode::InvalidArgument, std::string("mode ") + octal + " for /" +
                                                layer::FileTree::normalize(image_path) +
                                                " is not permission bits (0 to 07777, e.g. 0644)");
  }
  return mode;
}

}  // namespace

LayerBuilder& LayerBuilder::add_file(std::string_view image_path, const fs::path& host_path,
                                     std::optional<std::uint32_t> mode, std::uint32_t uid, std::uint32_t gid) {
  std::error_code ec;
  const fs::file_status st = fs::status(host_path, ec);
  if (!fs::exists(st))
    throw Error(ErrorCode::NotFound, "host file " + host_path.string() + " (for /" +
                                         layer::FileTree::normalize(image_path) + ") does not exist");
  if (!fs::is_regular_file(st))
    throw Error(ErrorCode::InvalidArgument, host_path.string() + " (for /" + layer::FileTree::normalize(image_path) +
                                                ") is not a regular file; add a directory with add_tree");
  tree_.add_file(image_path, host_path,
                 mode ? permission_bits(*mode, image_path) : layer::host_file_mode(st.permissions()), uid, gid);
  return *this;
}

LayerBuilder& LayerBuilder::add_directory(std::string_view image_path, std::uint32_t mode, std::uint32_t uid,
                                          std::uint32_t gid) {
  tree_.add_directory(image_path, permission_bits(mode, image_path), uid, gid);
  return *this;
}

LayerBuilder& LayerBuilder::add_tree(std::string_view image_path, const fs::path& host_dir, std::uint32_t uid,
                                     std::uint32_t gid) {
  // Into a copy: a tree that fails halfway adds nothing.
  layer::FileTree tree = tree_;
  layer::add_host_tree(tree, image_path, host_dir, uid, gid);
  tree_ = std::move(tree);
  return *this;
}

LayerBuilder& LayerBuilder::add_symlink(std::string_view image_path, std::string target, std::uint32_t uid,
                                        std::uint32_t gid) {
  tree_.add_symlink(image_path, std::move(target), uid, gid);
  return *this;
}

LayerBuilder& LayerBuilder::add_bytes(std::string_view image_path, std::string bytes, std::uint32_t mode,
                                      std::uint32_t uid, std::uint32_t gid) {
  tree_.add_content(image_path, std::move(bytes), permission_bits(mode, image_path), uid, gid);
  return *this;
}

Layer LayerBuilder::build(const LayerSettings& settings) const { return Layer::from_tree(tree_, settings); }

// --- Image -------------------------------------------------------------------------------

struct Image::Impl {
  Platform platform;
  oci::Format format = oci::Format::Oci;
  json config;                       ///< the document config_blob holds
  oci::Blob config_blob;
  std::vector<oci::Descriptor> layers;
  std::map<std::string, std::string> annotations;
  oci::Blob manifest_blob;           ///< its descriptor carries the platform
  std::vector<BlobSource> sources;   ///< where the layers' blobs are
  /// Layers pulled from a registry: digest -> the repository they came
  /// from (a push to the same registry mounts them).
  std::map<std::string, Reference> origins;
  std::string what;                  ///< names the image in errors
};

namespace {

/// Makes the manifest blob of `impl` from its parts, and first the config
/// blob from impl.config when `config_changed` (else the config keeps the
/// bytes it was read or written with).
std::shared_ptr<const Image::Impl> seal(Image::Impl impl, bool config_changed = true) {
  if (config_changed) impl.config_blob = oci::make_blob(impl.config, oci::config_media_type(impl.format));
  oci::Manifest m;
  m.format = impl.format;
  m.config = impl.config_blob.descriptor;
  m.layers = impl.layers;
  m.annotations = impl.annotations;
  impl.manifest_blob = oci::make_blob(m.to_json(), oci::manifest_media_type(impl.format));
  impl.manifest_blob.descriptor.platform = impl.platform;
  return std::make_shared<const Image::Impl>(std::move(impl));
}

/// The image whose manifest `manifest` is in `blobs` (owned by `owner`),
/// its original bytes kept. `name` names it in errors; `want` is the
/// platform asked for, if any.
Image::Impl read_image(const std::string& name, const oci::Descriptor& manifest, BlobSource source,
                       const std::optional<Platform>& want) {
  const store::BlobStore& blobs = *source.blobs;
  const std::string manifest_bytes = blobs.read_document(manifest);
  const oci::Manifest m = oci::parse_manifest(manifest_bytes, oci::ParseMode::Strict, name);
  const std::string config_bytes = blobs.read_document(m.config, oci::kMaxConfigBytes);
  const image::BaseImage base = image::parse_base_image(name, manifest.digest, manifest_bytes, config_bytes);

  Image::Impl impl;
  impl.what = name;
  impl.format = base.format;
  impl.config = base.config;
  impl.config_blob = {config_bytes, m.config};
  impl.layers = base.layers;
  impl.annotations = base.annotations;
  const std::optional<Platform> stated = oci::config_platform(image::read_config(base.config, name + " config"));
  if (stated && want && !stated->satisfies(*want))
    throw Error(ErrorCode::NotFound, name + " is for " + stated->to_string() + ", not " + want->to_string() +
                                         "; name the image for that platform");
  if (!stated && !want)
    throw Error(ErrorCode::InvalidArgument, name + " names no platform in its config; give the platform");
  impl.platform = stated ? *stated : *want;
  impl.manifest_blob = {manifest_bytes, manifest};
  impl.manifest_blob.descriptor.annotations.clear();
  impl.manifest_blob.descriptor.platform = impl.platform;
  impl.sources.push_back(std::move(source));
  return impl;
}

/// The manifest for `want` below `top` (a manifest, or an index of them,
/// possibly nested).
oci::Descriptor pick_manifest(const store::BlobStore& blobs, oci::Descriptor top, const std::optional<Platform>& want,
                              const std::string& name) {
  for (int depth = 0; oci::is_index_media_type(top.media_type); ++depth) {
    if (depth == oci::kMaxIndexDepth)
      throw Error(ErrorCode::InvalidArgument, name + " nests indexes deeper than " +
                                                  std::to_string(oci::kMaxIndexDepth) + "; the image is corrupt");
    const oci::Index index = oci::parse_index(blobs.read_document(top), oci::ParseMode::Strict, name);
    if (want) {
      const std::optional<oci::Descriptor> found = oci::select_platform(index, *want);
      if (!found)
        throw Error(ErrorCode::NotFound, name + " has no image for " + want->to_string() + " (it has " +
                                             oci::offered_platforms(index) + ")");
      top = *found;
    } else if (index.manifests.size() == 1) {
      top = index.manifests.front();
    } else {
      throw Error(ErrorCode::InvalidArgument, name + " holds " + std::to_string(index.manifests.size()) +
                                                  " images (" + oci::offered_platforms(index) +
                                                  "); give the platform to load");
    }
  }
  return top;
}

/// Throws unless `img` has a layer (the image spec asks for one).
void require_layers(const Image::Impl& img) {
  if (img.layers.empty())
    throw Error(ErrorCode::InvalidArgument,
                img.what + " has no layers, and an image needs one (image-spec manifest \"layers\"); append a "
                           "layer first");
}

/// Every blob of `images` (configs, manifests, layers) and `extra`, staged
/// in `staging`: layers taken from their sources, documents from memory.
void stage(store::BlobStore& staging, const std::vector<const Image::Impl*>& images,
           const std::vector<oci::Blob>& extra) {
  for (const Image::Impl* img : images) {
    require_layers(*img);
    for (const oci::Descriptor& d : img->layers) {
      const BlobSource* from = nullptr;
      for (const BlobSource& s : img->sources)
        if (s.blobs->contains(d.digest)) from = &s;
      if (from == nullptr)
        throw Error(ErrorCode::NotFound, img->what + ": layer " + d.digest + " is in none of its sources");
      staging.take(*from->blobs, d.digest, from->share);
      // A copy comes from a layout the user may have changed since it was
      // loaded: never published unless it still matches.
      if (from->share == store::BlobStore::Share::Copy) staging.check(d);
    }
    staging.put(img->config_blob);
    staging.put(img->manifest_blob);
  }
  for (const oci::Blob& b : extra) staging.put(b);
}

/// Writes `top` (one of `images`' manifests, or `index` over them) to `dest`.
WriteResult write_images(const store::ImageLocation& dest, const registry::Options& options,
                         const std::vector<const Image::Impl*>& images, const std::optional<oci::Blob>& index) {
  oci::Descriptor top = index ? index->descriptor : images.front()->manifest_blob.descriptor;
  top.platform.reset();
  const std::vector<oci::Blob> extra = index ? std::vector<oci::Blob>{*index} : std::vector<oci::Blob>{};
  WriteResult result{top, std::nullopt};

  if (dest.kind != store::ImageLocation::Kind::Registry) {
    store::check_output_location(dest);
    for (const Image::Impl* img : images) require_layers(*img);  // before anything is created
    const fs::path parent = pipeline::staging_parent(dest);
    std::vector<fs::path> made;  // the directories this write creates, deepest first
    for (fs::path p = parent; !p.empty() && !fs::exists(p); p = p.parent_path()) made.push_back(p);
    std::error_code ec;
    fs::create_directories(parent, ec);
    if (ec) throw Error(ErrorCode::Io, "cannot create " + parent.string() + ": " + ec.message());
    try {
      const store::TempDir staging(parent);
      store::BlobStore blobs(staging.path());
      stage(blobs, images, extra);
      store::publish(dest, blobs, top);
    } catch (...) {
      for (const fs::path& p : made) fs::remove(p, ec);  // only if still empty
      throw;
    }
    return result;
  }

  // A registry: staged under the system's temporary directory (hard links
  // to the layers' private stores where it can), then one push.
  const store::TempDir staging(util::temp_directory());
  store::BlobStore blobs(staging.path());
  stage(blobs, images, extra);
  const std::vector<Reference> refs = tagged_references(dest.reference, {});
  registry::PushOptions po = transfer::tag_options(refs);
  for (const Image::Impl* img : images)
    for (const auto& [digest, origin] : img->origins)
      if (origin.registry == refs.front().registry) po.mount_sources.emplace(digest, origin.repository);
  registry::Client client(options);
  transfer::BlobStoreSource source(blobs);
  registry::PushResult pushed = client.push(refs.front(), top.media_type, blobs.read_document(top), source, po);
  result.pushed = transfer::PushedImage{pushed.reference, std::move(pushed), {}, {}};
  return result;
}

}  // namespace

Image Image::scratch(const Platform& platform, oci::Format format) {
  return BuildAccess::scratch(platform, format, timestamp(std::nullopt));
}

Image Image::builtin(std::string_view base, const Platform& platform, const layer::BaseOptions& options,
                     const LayerSettings& settings) {
  if (!layer::is_builtin_base(base))
    throw Error(ErrorCode::Unsupported, "\"" + std::string(base) +
                                            "\" is not a built-in base (\"scratch\" or \"static\"); load or pull "
                                            "an image base instead");
  const layer::CaBundle ca = layer::read_ca_bundle(base, options);
  const layer::FileTree files = layer::base_files(base, options, ca);
  LayerSettings fixed = settings;
  fixed.mtime = timestamp(settings.mtime);  // one time for the layer and the config
  if (files.empty()) {
    Image img = scratch(platform, settings.format);
    return img.with_created(*fixed.mtime);
  }
  const Layer l = Layer::from_tree(files, fixed);
  const image::AppliedLayer applied{l.descriptor(), l.diff_id(), pipeline::base_history(base, options.tzdata, ca)};
  Impl impl;
  impl.what = "the built-in base \"" + std::string(base) + "\" for " + platform.to_string();
  impl.platform = platform;
  impl.format = settings.format;
  impl.config = image::base_config(platform, {applied}, {settings.format, *fixed.mtime, !ca.pem.empty()}).to_json();
  impl.layers.push_back(l.descriptor());
  impl.sources.push_back({l.impl_, &l.impl_->store->blobs, store::BlobStore::Share::Link});
  return Image(seal(std::move(impl)));
}

Image Image::load(std::string_view location, const std::optional<Platform>& platform) {
  return load(store::parse_image_location(location, "source"), platform);
}

Image Image::load(const store::ImageLocation& location, const std::optional<Platform>& platform) {
  const std::string name = location.to_string();
  if (location.kind == store::ImageLocation::Kind::Registry)
    throw Error(ErrorCode::InvalidArgument, name + " is a registry image; pull it (Image::pull) instead of loading it");
  auto stored = std::make_shared<const store::StoredImage>(location);
  const oci::Descriptor manifest = pick_manifest(stored->blobs(), stored->top(), platform, name);
  // An archive is unpacked into a private directory (linking its files is
  // safe); a layout is used in place and stays the user's: copied.
  const auto share = location.kind == store::ImageLocation::Kind::OciLayout ? store::BlobStore::Share::Copy
                                                                           : store::BlobStore::Share::Link;
  BlobSource source{stored, &stored->blobs(), share};
  return Image(std::make_shared<const Impl>(read_image(name, manifest, std::move(source), platform)));
}

Image Image::pull(std::string_view reference, const std::optional<Platform>& want, const registry::Options& options) {
  const Reference ref = parse_reference(reference);
  const Platform platform = want ? *want : parse_platform(kDefaultPlatform);
  auto store = std::make_shared<const PrivateStore>();
  registry::Client client(options);
  pipeline::BaseBlobSink sink(store->blobs, nullptr);
  OptionNames names;
  names.base.clear();  // advice names the reference, not a spec key or --base
  const pipeline::PulledBase pulled = pipeline::pull_base(client, ref, platform, sink, names, !want);
  const oci::Descriptor manifest{
      pulled.image.format == oci::Format::Docker ? oci::media_type::kDockerManifest : oci::media_type::kOciManifest,
      pulled.image.digest, static_cast<std::int64_t>(store->blobs.size(pulled.image.digest)), {}, {}, {}};
  // A single image taken whatever its platform states its own.
  const bool single = pulled.root_digest == pulled.image.digest;
  Impl impl = read_image(ref.to_string(), manifest, {store, &store->blobs, store::BlobStore::Share::Link},
                         want || !single ? std::optional(platform) : std::nullopt);
  for (const oci::Descriptor& d : impl.layers) impl.origins.emplace(d.digest, ref);
  return Image(std::make_shared<const Impl>(std::move(impl)));
}

Image Image::append(const Layer& layer, std::string created_by) const {
  Impl impl = *impl_;
  oci::Descriptor d = layer.descriptor();
  d.media_type = image::layer_media_type_for(d.media_type, impl.format);
  impl.layers.push_back(std::move(d));
  impl.config = image::append_layer(impl.config, layer.diff_id(), created_by, impl.what + " config");
  if (layer.impl_->store)  // else written to a build's target (BuildAccess::written)
    impl.sources.push_back({layer.impl_, &layer.impl_->store->blobs, store::BlobStore::Share::Link});
  return Image(seal(std::move(impl)));
}

Image Image::with_config(const image::ConfigChanges& changes) const {
  // Checked and normalised ("8080" -> "8080/tcp") by the spec's readers,
  // whichever API the changes came from.
  const image::ConfigChanges checked = parse_config_changes(to_json(changes), "the config changes for " + impl_->what);
  json config = image::apply_config_changes(impl_->config, checked, impl_->what + " config");
  if (config == impl_->config) return *this;  // nothing changed: the same bytes, the same digest
  Impl impl = *impl_;
  impl.config = std::move(config);
  return Image(seal(std::move(impl)));
}

Image Image::with_annotations(const std::map<std::string, std::string>& annotations) const {
  if (annotations.empty()) return *this;
  if (impl_->format == oci::Format::Docker)
    throw Error(ErrorCode::InvalidArgument, impl_->what +
                                                " has Docker media types, and Docker manifests carry no annotations; "
                                                "set labels (with_config) or use the OCI format");
  Impl impl = *impl_;
  for (const auto& [k, v] : annotations) impl.annotations[k] = v;
  if (impl.annotations == impl_->annotations) return *this;
  return Image(seal(std::move(impl), /*config_changed=*/false));
}

Image Image::with_created(std::int64_t seconds) const {
  const std::string created = oci::rfc3339(seconds);
  if (impl_->config.value("created", json()) == created) return *this;
  Impl impl = *impl_;
  impl.config["created"] = created;
  return Image(seal(std::move(impl)));
}

const Platform& Image::platform() const noexcept { return impl_->platform; }
oci::Format Image::format() const noexcept { return impl_->format; }
const json& Image::config_json() const noexcept { return impl_->config; }
const oci::Blob& Image::config() const noexcept { return impl_->config_blob; }
const oci::Blob& Image::manifest() const noexcept { return impl_->manifest_blob; }
const std::string& Image::digest() const noexcept { return impl_->manifest_blob.descriptor.digest; }
const std::vector<oci::Descriptor>& Image::layers() const noexcept { return impl_->layers; }
const std::map<std::string, std::string>& Image::annotations() const noexcept { return impl_->annotations; }

WriteResult Image::write(const store::ImageLocation& dest, const registry::Options& options) const {
  return write_images(dest, options, {impl_.get()}, std::nullopt);
}

json WriteResult::to_json(std::string_view destination) const {
  if (pushed) return transfer::to_json(*pushed);
  return {{"reference", destination},  {"references", json::array()}, {"digest", descriptor.digest},
          {"blobs_uploaded", 0},       {"blobs_mounted", 0},          {"blobs_existing", 0},
          {"bytes_uploaded", 0}};
}

// --- the build's parts (compose_build.hpp) ---------------------------------------------

Layer BuildAccess::written(const layer::Layer& written) {
  return Layer(std::make_shared<const Layer::Impl>(Layer::Impl{nullptr, written}));
}

Image BuildAccess::scratch(const Platform& platform, oci::Format format, std::int64_t created) {
  Image::Impl impl;
  impl.what = "the scratch image for " + platform.to_string();
  impl.platform = platform;
  impl.format = format;
  oci::ImageConfig c;
  c.platform = platform;
  c.created = oci::rfc3339(created);
  impl.config = c.to_json();
  return Image(seal(std::move(impl)));
}

Image BuildAccess::on_base(const image::BaseImage& base, const Platform& platform, oci::Format format) {
  Image::Impl impl;
  impl.what = "base image " + base.name + " for " + platform.to_string();
  impl.platform = platform;
  impl.format = format;
  impl.config = base.config;
  for (oci::Descriptor d : base.layers) {
    d.media_type = image::layer_media_type_for(d.media_type, format);
    impl.layers.push_back(std::move(d));
  }
  return Image(seal(std::move(impl)));
}

Image BuildAccess::with_config_document(const Image& img, json doc) {
  const std::string what = img.impl_->what + " config";
  if (image::read_config(doc, what).diff_ids != image::read_config(img.impl_->config, what).diff_ids)
    throw Error(ErrorCode::Generic, what + ": the build's config rules changed rootfs.diff_ids (a bug in rustimg)");
  Image::Impl impl = *img.impl_;
  impl.config = std::move(doc);
  return Image(seal(std::move(impl)));
}

// --- Index -------------------------------------------------------------------------------

struct Index::Impl {
  std::vector<Image> images;
  oci::Blob index;
};

Index::Index(std::vector<Image> images, std::map<std::string, std::string> annotations) {
  if (images.empty()) throw Error(ErrorCode::InvalidArgument, "an index needs at least one image");
  const oci::Format format = images.front().format();
  std::vector<oci::Descriptor> manifests;
  for (std::size_t i = 0; i < images.size(); ++i) {
    if (images[i].format() != format)
      throw Error(ErrorCode::InvalidArgument, "the images of an index must share one format (OCI or Docker); " +
                                                  images[i].impl_->what + " has the other");
    for (std::size_t j = 0; j < i; ++j)
      if (images[j].platform() == images[i].platform())
        throw Error(ErrorCode::InvalidArgument, "two images of the index are for " +
                                                    images[i].platform().to_string() +
                                                    "; give one image per platform");
    manifests.push_back(images[i].manifest().descriptor);
  }
  if (format == oci::Format::Docker && !annotations.empty())
    throw Error(ErrorCode::InvalidArgument, "a Docker manifest list carries no annotations; use the OCI format");
  impl_ = std::make_shared<const Impl>(Impl{std::move(images), image::assemble_index(manifests, annotations, format)});
}

const std::vector<Image>& Index::images() const noexcept { return impl_->images; }
const oci::Blob& Index::index() const noexcept { return impl_->index; }
const std::string& Index::digest() const noexcept { return impl_->index.descriptor.digest; }

WriteResult Index::write(const store::ImageLocation& dest, const registry::Options& options) const {
  if (dest.kind == store::ImageLocation::Kind::DockerArchive)  // before anything is staged
    throw Error(ErrorCode::InvalidArgument,
                "a docker-archive holds one platform, but this index has " + std::to_string(impl_->images.size()) +
                    "; write one of its images there, or the index to oci: or oci-archive:");
  std::vector<const Image::Impl*> images;
  for (const Image& img : impl_->images) images.push_back(img.impl_.get());
  return write_images(dest, options, images, impl_->index);
}

}  // namespace rustimg::compose
