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
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "rustimg/byte_sink.hpp"
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
/// The config of an OCI 1.1 artifact manifest that has none of its own: "{}".
inline constexpr const char* kOciEmpty = "application/vnd.oci.empty.v1+json";
}  // namespace media_type

/// Pre-defined annotation keys used by rustimg.
namespace annotation {
inline constexpr const char* kRefName = "org.opencontainers.image.ref.name";
inline constexpr const char* kCreated = "org.opencontainers.image.created";
inline constexpr const char* kSource = "org.opencontainers.image.source";
inline constexpr const char* kRevision = "org.opencontainers.image.revision";
inline constexpr const char* kVersion = "org.opencontainers.image.version";
inline constexpr const char* kTitle = "org.opencontainers.image.title";
inline constexpr const char* kDescription = "org.opencontainers.image.description";
inline constexpr const char* kLicenses = "org.opencontainers.image.licenses";
inline constexpr const char* kUrl = "org.opencontainers.image.url";
}  // namespace annotation

/// Which family of media types an image is written with.
enum class Format { Oci, Docker };

// --- bytes and digests -------------------------------------------------------

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

/// The digest of the rest of `in` and its length in bytes.
struct StreamDigest {
  std::string digest;  ///< "sha256:<hex>"
  std::uint64_t size = 0;
};
/// Hashes `in` to its end; throws rustimg::Error (Io) naming `what` when a
/// read fails.
StreamDigest sha256_stream(std::istream& in, const std::string& what);
/// sha256_stream over a host file; throws rustimg::Error (NotFound) naming
/// it when it cannot be opened.
StreamDigest sha256_file(const std::filesystem::path& file);

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
  /// OCI 1.1: the artifact type of the manifest described ("" when none);
  /// set on index.json entries and referrers lists for artifacts.
  std::string artifact_type;

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

/// An OCI 1.1 artifact about `subject` (an SBOM, a provenance statement):
/// a manifest of `artifact_type` whose config is the empty descriptor
/// ("{}", kOciEmpty) and whose one layer is `content`, bytes of
/// `content_type`. Deterministic: the same arguments give the same bytes.
struct Artifact {
  Blob config;
  Blob content;
  Blob manifest;  ///< its descriptor carries artifact_type, for index.json
};
Artifact make_artifact(std::string content, const std::string& content_type, const std::string& artifact_type,
                       const Descriptor& subject, std::map<std::string, std::string> annotations = {});

struct HistoryEntry {
  std::string created;
  std::string created_by;
  std::string comment;
  bool empty_layer = false;
};

/// How a layer's tar stream is compressed (the "+gzip"/"+zstd" media type
/// suffix, or none).
enum class Compression { Gzip, Zstd, None };
/// "gzip", "zstd", "none".
inline const char* to_string(Compression c) noexcept {
  switch (c) {
    case Compression::Gzip: return "gzip";
    case Compression::Zstd: return "zstd";
    case Compression::None: return "none";
  }
  return "gzip";
}

/// Compression levels: gzip (zlib) 1..9, zstd 1..19; the defaults are zlib's
/// 6 and zstd's 3.
inline constexpr int kGzipMaxLevel = 9;
inline constexpr int kZstdMaxLevel = 19;
inline constexpr int kGzipDefaultLevel = 6;
inline constexpr int kZstdDefaultLevel = 3;

/// Files copied from the crate into an image (the spec's "assets", a layer's
/// input).
struct Asset {
  std::string source;                  ///< glob relative to the crate directory
  std::string dest;                    ///< absolute path in the image; ends in '/' for a directory
  std::optional<std::uint32_t> mode;   ///< permission bits; default: kept from the source
  std::uint32_t uid = 0;               ///< owner, from "owner": "uid[:gid]"
  std::uint32_t gid = 0;
};

/// Where the built-in "static" base puts its CA bundle: the SSL_CERT_FILE of
/// images that have one.
inline constexpr const char* kCaBundlePath = "/etc/ssl/certs/ca-certificates.crt";

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

/// `base` (an image config document as read) rewritten as `config`, for an
/// image built on that base: created, os, architecture (and variant, when
/// `config`'s has one), the runtime keys ImageConfig models (Healthcheck only
/// when `replace_healthcheck`; otherwise the base's stays as written),
/// rootfs.diff_ids = config.diff_ids, and config.history appended to the
/// base's history. Every field ImageConfig does not model is kept.
nlohmann::json config_on_base(const nlohmann::json& base, const ImageConfig& config, bool replace_healthcheck);

struct Manifest {
  Format format = Format::Oci;
  Descriptor config;
  std::vector<Descriptor> layers;
  std::map<std::string, std::string> annotations;  ///< OCI only
  /// OCI 1.1 artifacts: what the manifest holds ("" for an image) and the
  /// manifest it is about (the referrers API and `oras discover` list it
  /// under that manifest).
  std::string artifact_type;
  std::optional<Descriptor> subject;

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
/// The most artifacts about one image rustimg reads: from a registry's
/// referrers list or tag-schema index, or from an OCI layout's index.json.
inline constexpr std::size_t kMaxReferrers = 4096;

/// Throws rustimg::Error (InvalidArgument) naming `what`, its size and the
/// limit when descriptor `d` claims more than `max_bytes` (or a negative
/// size): checked before a document is fetched, so an oversized one is never
/// read into memory.
void check_document_size(const Descriptor& d, std::uint64_t max_bytes, const std::string& what);

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

// --- reading documents (src/oci/parse.cpp) ---------------------------------------
//
// The only place rustimg reads OCI JSON. Every parser takes the document's
// bytes, bounded by kMaxManifestBytes (manifest, index) or kMaxConfigBytes
// (config), parses them with rustimg::parse_json (depth-limited) and checks
// each descriptor (Descriptor::from_json rules: valid digest, size via
// check_descriptor_size). Errors are rustimg::Error naming `what` and the
// offending field: InvalidArgument for a malformed document, Unsupported for
// a well-formed one of another kind (an index where a manifest is asked for,
// a mediaType rustimg does not read, a schemaVersion other than 2).

/// How strictly a document is read.
///  - Strict: image layouts and stores (rustimg's own, or written by tools
///    that follow the spec): schemaVersion is present and 2, every
///    descriptor has a mediaType, a config has os, architecture and
///    rootfs.diff_ids, a malformed config history is an error.
///  - Lenient: documents from registries: schemaVersion may be missing (2
///    when present), a descriptor without mediaType is kept with media_type
///    "", a config may lack os/architecture/rootfs, a config's os,
///    architecture or variant of another type than string counts as absent,
///    a malformed history is dropped.
/// Both modes ignore unknown fields (as the image-spec requires), accept OCI
/// and Docker media types, and refuse a document mediaType of another kind.
enum class ParseMode { Strict, Lenient };

/// An image manifest (OCI or Docker schema 2). `format` follows its
/// mediaType (Docker when it is the Docker type, else OCI). Descriptor
/// platforms are kept in canonical form when parse_platform knows them, else
/// as written.
Manifest parse_manifest(std::string_view bytes, ParseMode mode, const std::string& what);

/// An image index or Docker manifest list.
Index parse_index(std::string_view bytes, ParseMode mode, const std::string& what);

/// An image config: platform (os/architecture/variant, canonical when
/// parse_platform knows it, else as written), created, the runtime fields of
/// ImageConfig ("config": User, Env, Entrypoint, Cmd, WorkingDir,
/// ExposedPorts, Labels, StopSignal, Healthcheck), rootfs.diff_ids and
/// history. A field that is null counts as absent; one of the wrong type is
/// an error in both modes.
ImageConfig parse_config(std::string_view bytes, ParseMode mode, const std::string& what);
/// The same over an already parsed config document (for callers that keep
/// the document to preserve fields ImageConfig does not model). A separate
/// name: a std::string would convert to both string_view and json.
ImageConfig config_from_json(const nlohmann::json& doc, ParseMode mode, const std::string& what);

/// A manifest or an index, read from bytes whose kind is told by the document
/// itself (document_media_type rules).
struct Document {
  std::string media_type;  ///< one of the four manifest/index media types
  std::variant<Manifest, Index> content;

  bool is_index() const noexcept { return std::holds_alternative<Index>(content); }
  /// The manifest / index; throws rustimg::Error (InvalidArgument) when the
  /// document is the other kind.
  const Manifest& manifest() const;
  const Index& index() const;
  /// The descriptors the document refers to, in document order: an index's
  /// manifests, or a manifest's config then its layers.
  std::vector<Descriptor> children() const;
};

/// Reads a manifest or index. `declared` is the media type a referring
/// descriptor claims ("" when none); see document_media_type.
Document parse_document(std::string_view bytes, std::string_view declared_media_type, ParseMode mode,
                        const std::string& what);

/// The index.json of an OCI image layout with `entry` tagged `tag` (its
/// org.opencontainers.image.ref.name annotation): `existing` (the current
/// index.json, if any) with the entries of the same tag replaced; other
/// entries and fields are kept as written. `artifacts` (OCI 1.1 artifacts
/// about the image, found by `oras discover --oci-layout` through
/// index.json; each with its artifact_type and its own tag, e.g.
/// referrer_tag()) are listed after the images, replacing the entries of
/// their tags. Canonical JSON. Throws rustimg::Error (InvalidArgument)
/// naming `what` when `existing` is not an index with a "manifests" array,
/// or an artifact lacks its type or tag.
std::string layout_index_with(std::optional<std::string_view> existing, const Descriptor& entry,
                              const std::string& tag, const std::string& what,
                              const std::vector<Descriptor>& artifacts = {});

/// The tag an artifact about `subject_digest` has in an OCI layout:
/// "sha256-<hex>.<suffix>", cosign's naming ("sha256-<hex>.sig", ".att",
/// ".sbom"): a newer artifact of the same kind about the same image
/// replaces the older one. Throws for a malformed digest.
std::string referrer_tag(std::string_view subject_digest, std::string_view suffix);

/// "sha256-<hex>": the tag of the OCI distribution spec's referrers tag
/// schema (the index listing the artifacts about `subject_digest` in a
/// registry without the referrers API); referrer_tag() adds a suffix to it.
std::string referrers_index_tag(std::string_view subject_digest);

/// Whether `tag` is of the tag schema above: "sha256-<64 hex>", alone or
/// with a suffix (".sig", ".att", ...); a tag about another image. Pure.
bool is_referrer_tag(std::string_view tag) noexcept;

// --- walking an image's tree ------------------------------------------------------

/// True for the two image manifest media types (OCI, Docker schema 2).
bool is_manifest_media_type(std::string_view type) noexcept;

/// Returns the bytes of the manifest or index that `d` addresses. It may
/// throw; the walker does not verify the bytes' digest (a registry fetch or
/// a content-addressed store does).
using FetchDocument = std::function<std::string(const Descriptor& d)>;

/// One descriptor the walker reached.
struct WalkNode {
  Descriptor descriptor;  ///< as its parent refers to it (the top: as given)
  int depth = 0;          ///< 0 for the top; a child is one deeper than its parent
  /// Set for a manifest or index (a descriptor of a manifest/index media
  /// type, or of no media type below an index): the document and its bytes.
  std::optional<Document> document;
  std::string bytes;
};

/// The order the walker lists nodes in.
///  - ParentsFirst: pre-order; a node before its children, children in
///    document order (an index's manifests; a manifest's config, then layers).
///  - ChildrenFirst: post-order; every node after all of its children (what a
///    push needs: blobs before the manifest, manifests before their index).
///    Note that simply reversing ParentsFirst is NOT children-first once
///    shared blobs are deduplicated.
enum class WalkOrder { ParentsFirst, ChildrenFirst };

struct WalkOptions {
  ParseMode mode = ParseMode::Strict;
  WalkOrder order = WalkOrder::ParentsFirst;
  /// Called for each manifest or index after it is read, with its children;
  /// returns the children to follow (e.g. one platform of an index, or none
  /// to skip a subtree a registry already holds). Empty: follow all.
  std::function<std::vector<Descriptor>(const WalkNode& node, std::vector<Descriptor> children)> select;
};

// --- choosing an image (src/oci/select.cpp) -----------------------------------------

/// The first entry of `index` whose platform satisfies `want`
/// (Platform::satisfies), or std::nullopt.
std::optional<Descriptor> select_platform(const Index& index, const Platform& want);

/// The platforms `index` offers, for a "no image for platform X" message:
/// "linux/amd64, linux/arm64/v8", or "no platforms" when no entry names one.
std::string offered_platforms(const Index& index);

/// The platform an image config states, or std::nullopt when it names no
/// architecture (then it cannot be checked). The os defaults to "linux".
std::optional<Platform> config_platform(const ImageConfig& config);

/// Every descriptor reachable from `top` (itself included), each digest once
/// (the first time it is reached): indexes, manifests, configs, layers.
/// Manifest and index documents are fetched through `fetch` and read with
/// parse_document (the descriptor's media type is the declared type); other
/// descriptors are leaves. A document deeper than kMaxIndexDepth, or one that
/// refers to one of its own ancestors (a cycle), is refused with
/// rustimg::Error (InvalidArgument) naming `what`.
std::vector<WalkNode> walk(const Descriptor& top, const FetchDocument& fetch, const WalkOptions& options,
                           const std::string& what);

}  // namespace rustimg::oci
