// Pulling an image base into the build's staging store.
#include "base_image.hpp"

#include <array>
#include <istream>

#include "rustimg/error.hpp"
#include "rustimg/json.hpp"

namespace rustimg::pipeline {

namespace {

std::string advice(const Error& e, const std::string& registry, const OptionNames& names) {
  // No base option names the reference when names.base is empty (a caller
  // that pulls a reference it was given, compose::Image::pull).
  const std::string where = names.base.empty() ? "" : " (spec key \"base\", or " + names.base + ")";
  switch (e.code()) {
    case ErrorCode::Auth:
      return "; check the credentials for that registry (rustimg login " + registry +
             "; docker and podman logins are read too)";
    case ErrorCode::NotFound:
      return (names.base.empty() ? "; check the reference" : "; check the base reference") + where;
    case ErrorCode::Registry:
      if (const auto* r = dynamic_cast<const registry::RegistryError*>(&e); r != nullptr && r->http_status() == 404)
        return "; check that the repository and tag exist" + where;
      return "";
    default:
      return "";
  }
}

}  // namespace

void BaseBlobSink::put(const std::string& digest, const std::string& media_type, std::istream& data,
                       std::uint64_t size) {
  transfer::BlobStoreSink(staging_).put(digest, media_type, data, size);
  if (cache_ == nullptr) return;
  try {
    cache_->take(staging_, digest, store::BlobStore::Share::Copy);  // never the file the image is made of
  } catch (const Error&) {
    // Best effort: the build has the blob; the next one downloads it again.
  }
}

bool BaseBlobSink::has(const std::string& digest) {
  if (staging_.contains(digest)) return true;
  if (cache_ == nullptr || !cache_->contains(digest)) return false;
  // A copy of the cached file, never the file itself (the image must not
  // change when the cache does), hashed once it is the build's own.
  try {
    staging_.take(*cache_, digest, store::BlobStore::Share::Copy);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::InvalidArgument) cache_->remove(digest);  // not a regular file: replace it
    return false;
  }
  if (staging_.verify(digest)) return true;
  staging_.remove(digest);
  cache_->remove(digest);  // damaged: download it again
  return false;
}

PulledBase pull_base(registry::Client& client, const Reference& ref, const Platform& platform,
                     BaseBlobSink& sink, const OptionNames& names, bool any_single_platform,
                     const std::string& pinned_digest) {
  const store::BlobStore& blobs = sink.staging();
  const std::string name = ref.to_string();
  const std::string context = "base image " + name + " for " + platform.to_string() + ": ";
  registry::PullResult pulled;
  try {
    Reference fetch = ref;
    if (!pinned_digest.empty()) fetch.digest = pinned_digest;  // the client checks the bytes against it
    pulled = client.pull(fetch, sink, registry::PullOptions{platform, any_single_platform});
  } catch (const registry::RegistryError& e) {
    throw registry::RegistryError(e.code(), context + e.what() + advice(e, ref.registry, names), e.http_status(), e.registry_code(),
                                  e.registry_message(), e.retryable());
  } catch (const Error& e) {
    if (e.code() == ErrorCode::Cancelled) throw;
    throw Error(e.code(), context + e.what() + advice(e, ref.registry, names));
  }
  if (pulled.manifests.size() != 1)
    throw Error(ErrorCode::Unsupported, context + "expected one image manifest for the platform, got " +
                                            std::to_string(pulled.manifests.size()));
  const registry::RawManifest& manifest = pulled.manifests.front();
  std::string config_digest;
  try {
    config_digest =
        oci::parse_manifest(manifest.bytes, oci::ParseMode::Lenient, "manifest " + manifest.digest).config.digest;
  } catch (const Error& e) {
    throw Error(ErrorCode::InvalidArgument,
                context + "manifest " + manifest.digest + " names no config blob (" + e.what() + ")");
  }

  PulledBase out;
  out.image = image::parse_base_image(name, manifest.digest, manifest.bytes, blobs.read(config_digest));
  out.root_digest = pulled.root.digest;
  for (const auto& l : out.image.layers)
    if (!blobs.contains(l.digest))
      throw Error(ErrorCode::Registry, context + "layer " + l.digest + " was not downloaded");
  return out;
}

}  // namespace rustimg::pipeline
