// rustimg/oci.hpp - OCI image-spec data: media types, digests, descriptors,
// and the config / manifest / index documents.
//
// Pure data and logic, no I/O. Every document is serialised exactly once, to
// canonical JSON (keys sorted, no insignificant whitespace, no trailing
// newline), and its digest is taken over exactly those bytes: never
// re-serialise a document after its digest has been recorded.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rustimg/platform.hpp"

namespace rustimg::oci {

// --- media types -------------------------------------------------------------
namespace media_type {
inline constexpr const char* kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr const char* kOciLayerTar = "application/vnd.oci.image.layer.v1.tar";
inline constexpr const char* kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr const char* kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr const char* kOciLayoutHeader = "application/vnd.oci.layout.header.v1+json";
inline constexpr const char* kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr const char* kDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr const char* kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr const char* kDockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr const char* kDockerLayerTar = "application/vnd.docker.image.rootfs.diff.tar";
inline constexpr const char* kDockerLayerZstd = "application/vnd.docker.image.rootfs.diff.tar.zstd";
}  // namespace media_type

/// Pre-defined annotation keys used by rustimg.
namespace annotation {
inline constexpr const char* kRefName = "org.opencontainers.image.ref.name";
inline constexpr const char* kCreated = "org.opencontainers.image.created";
inline constexpr const char* kSource = "org.opencontainers.image.source";
inline constexpr const char* kRevision = "org.opencontainers.image.revision";
inline constexpr const char* kVersion = "org.opencontainers.image.version";
inline constexpr const char* kTitle = "org.opencontainers.image.title";
}  // namespace annotation

/// Which family of media types an image is written with.
enum class Format { Oci, Docker };

// --- bytes and digests -------------------------------------------------------

/// Where a stream of bytes goes (a file, a hash, a compressor).
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual void write(std::span<const std::byte> data) = 0;
  void write(std::string_view text) { write(std::as_bytes(std::span(text.data(), text.size()))); }
};

/// Streaming SHA-256 (OpenSSL EVP). finish() may be called once.
class Sha256 final : public ByteSink {
 public:
  Sha256();
  ~Sha256() override;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  using ByteSink::write;
  void write(std::span<const std::byte> data) override;
  /// Number of bytes hashed so far.
  std::uint64_t size() const noexcept { return size_; }
  /// "sha256:<64 lowercase hex>".
  std::string finish();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
  std::uint64_t size_ = 0;
  bool finished_ = false;
};

/// "sha256:<hex>" of `bytes`.
std::string sha256_digest(std::string_view bytes);

/// The hex part of "sha256:<hex>"; throws rustimg::Error (InvalidArgument)
/// unless `digest` is a valid sha256 digest.
std::string digest_hex(std::string_view digest);

/// RFC 3339 UTC timestamp of `seconds` since the epoch: "1970-01-01T00:00:00Z".
std::string rfc3339(std::int64_t seconds);

/// Canonical JSON text of `doc`: the only serialisation rustimg hashes.
std::string canonical_json(const nlohmann::json& doc);

// --- descriptors and documents -------------------------------------------------

struct Descriptor {
  std::string media_type;
  std::string digest;
  std::int64_t size = 0;
  std::map<std::string, std::string> annotations;
  std::optional<Platform> platform;  ///< only in an index

  nlohmann::json to_json() const;
  /// Throws rustimg::Error (InvalidArgument) naming the missing/bad field.
  static Descriptor from_json(const nlohmann::json& j);
};

/// A serialised document and the descriptor that addresses it.
struct Blob {
  std::string bytes;
  Descriptor descriptor;
};

/// Serialises `doc` canonically and describes the bytes as `media_type`.
Blob make_blob(const nlohmann::json& doc, std::string type);

struct HistoryEntry {
  std::string created;
  std::string created_by;
  std::string comment;
  bool empty_layer = false;
};

/// Docker's Healthcheck (durations in nanoseconds, 0 = runtime default).
struct HealthConfig {
  std::vector<std::string> test;
  std::int64_t interval_ns = 0;
  std::int64_t timeout_ns = 0;
  std::int64_t start_period_ns = 0;
  int retries = 0;
};

/// The image configuration (image-spec config.md). Empty optional fields are
/// left out of the JSON.
struct ImageConfig {
  Platform platform;
  std::string created;                      ///< RFC 3339
  std::string user;
  std::vector<std::string> env;             ///< "K=V"
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::string working_dir;
  std::vector<std::string> exposed_ports;   ///< "8080/tcp"
  std::map<std::string, std::string> labels;
  std::string stop_signal;
  std::optional<HealthConfig> healthcheck;
  std::vector<std::string> diff_ids;
  std::vector<HistoryEntry> history;

  nlohmann::json to_json() const;
};

struct Manifest {
  Format format = Format::Oci;
  Descriptor config;
  std::vector<Descriptor> layers;
  std::map<std::string, std::string> annotations;  ///< OCI only

  nlohmann::json to_json() const;
};

struct Index {
  Format format = Format::Oci;
  std::vector<Descriptor> manifests;
  std::map<std::string, std::string> annotations;  ///< OCI only

  nlohmann::json to_json() const;
};

/// Media types of the config, manifest, index and a layer with the given
/// compression suffix ("gzip", "zstd" or "" for none) in `format`.
const char* config_media_type(Format format) noexcept;
const char* manifest_media_type(Format format) noexcept;
const char* index_media_type(Format format) noexcept;
const char* layer_media_type(Format format, std::string_view compression) noexcept;

/// True for index / manifest-list media types.
bool is_index_media_type(std::string_view type) noexcept;

// --- documents read from outside ------------------------------------------------

/// The largest manifest or index rustimg reads (the distribution spec asks
/// registries to accept at least 4 MiB) and the largest image config.
inline constexpr std::uint64_t kMaxManifestBytes = 4u << 20;
inline constexpr std::uint64_t kMaxConfigBytes = 4u << 20;
/// The deepest chain of indexes inside indexes rustimg follows.
inline constexpr int kMaxIndexDepth = 8;

/// The digest of the empty blob, the only blob a descriptor may give size 0.
inline constexpr const char* kEmptyDigest =
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Checks a descriptor's size as read from outside: a non-negative integer,
/// and 0 only for the empty blob. Throws rustimg::Error (InvalidArgument)
/// naming `what` and the digest.
void check_descriptor_size(const nlohmann::json& size, const std::string& digest, const std::string& what);

/// The media type of a manifest or index document, from the document itself:
/// its `mediaType` (one of the four manifest/index types), else its shape
/// (`manifests` makes an OCI index, `config`/`layers` an OCI manifest). A
/// transport's Content-Type is not evidence; `declared` is what a referring
/// descriptor claims ("" when none): a claim of a manifest or index type that
/// the document contradicts is refused. Throws rustimg::Error (InvalidArgument)
/// naming `what`.
std::string document_media_type(const nlohmann::json& doc, std::string_view declared, const std::string& what);

}  // namespace rustimg::oci
