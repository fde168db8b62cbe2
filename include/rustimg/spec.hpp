// rustimg/spec.hpp - the image spec: what to build and what image to make.
//
// One schema, read from several sources and merged with this precedence
// (highest first):
//   1. API / CLI overrides
//   2. the spec file (rustimg.json, or --spec FILE)
//   3. [package.metadata.rustimg] in the package's Cargo.toml
//   4. [workspace.metadata.rustimg] in the workspace root
//   5. built-in defaults
// Objects that map names to values (env, labels, annotations, target) merge
// key by key; every other key is replaced whole by a higher source. A
// top-level null means "not set here" (the lower sources or the default stay).
//
// Keys are kebab-case, as in Cargo.toml. See README.md "Spec reference" for
// every key, its type and its default.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rustimg/error.hpp"
#include "rustimg/platform.hpp"
#include "rustimg/process.hpp"

namespace rustimg {

namespace cargo {
struct Metadata;
}

enum class Compression { Gzip, Zstd, None };
const char* to_string(Compression c) noexcept;  // "gzip", "zstd", "none"

/// Compression levels: gzip (zlib) 1..9, zstd 1..19; the defaults are zlib's
/// 6 and zstd's 3.
inline constexpr int kGzipMaxLevel = 9;
inline constexpr int kZstdMaxLevel = 19;
inline constexpr int kGzipDefaultLevel = 6;
inline constexpr int kZstdDefaultLevel = 3;

/// Files copied from the crate into the image.
struct Asset {
  std::string source;                  ///< glob relative to the crate directory
  std::string dest;                    ///< absolute path in the image; ends in '/' for a directory
  std::optional<std::uint32_t> mode;   ///< permission bits; default: kept from the source
  std::uint32_t uid = 0;               ///< owner, from "owner": "uid[:gid]"
  std::uint32_t gid = 0;
};

/// Docker's Healthcheck config field.
struct Healthcheck {
  std::vector<std::string> test;       ///< ["CMD", "/app", "--health"] or ["NONE"]
  std::int64_t interval_ns = 0;        ///< 0: runtime default
  std::int64_t timeout_ns = 0;
  std::int64_t start_period_ns = 0;
  int retries = 0;
};

/// Per-target cargo settings (spec key "target": {"<triple>": {...}}).
struct TargetSettings {
  std::string linker;                  ///< becomes CARGO_TARGET_<TRIPLE>_LINKER
  std::vector<std::string> rustflags;  ///< appended to rustimg's own flags
  std::map<std::string, std::string> env;
};

/// A fully resolved spec: every field has its final value.
struct Spec {
  // --- what to build -------------------------------------------------------
  std::string package;                 ///< cargo package name (empty: no crate, e.g. --binary)
  std::string bin;                     ///< bin target name
  std::string profile = "rustimg";     ///< cargo profile; "rustimg" is defined by rustimg
  std::vector<std::string> features;
  bool default_features = true;
  bool all_features = false;
  bool size_optimize = true;
  Libc libc = Libc::Gnu;
  bool locked = true;
  bool offline = false;
  /// One entry per image platform, in spec order; `targets[i]` is the Rust
  /// triple for `platforms[i]`.
  std::vector<Platform> platforms;
  std::vector<std::string> targets;
  std::map<std::string, TargetSettings> target;

  // --- the image -------------------------------------------------------------
  std::string base = "static";         ///< "scratch", "static" or an image reference
  std::vector<std::string> entrypoint; ///< default: ["/usr/local/bin/<bin>"]
  std::vector<std::string> cmd;
  std::map<std::string, std::string> env;
  std::string workdir = "/";
  std::string user;                    ///< default "65532:65532" (nonroot)
  std::vector<std::string> ports;      ///< normalised "8080/tcp"
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::string stop_signal;
  std::optional<Healthcheck> healthcheck;
  std::vector<std::string> tags;
  Compression compression = Compression::Gzip;
  /// gzip 1..9, zstd 1..19; 0: the compression's default (gzip 6, zstd 3).
  int compression_level = 0;
  std::vector<Asset> assets;
  bool ca_certificates = true;         ///< add a CA bundle and SSL_CERT_FILE
  /// File to take it from, relative to the crate directory and lexically
  /// normal ("certs/ca.pem"); empty: the host's. Like asset sources it must
  /// stay inside the crate: the spec refuses absolute paths and "..", the
  /// build refuses a symlink that resolves outside.
  std::string ca_bundle;
  bool tzdata = false;                 ///< add /usr/share/zoneinfo

  /// The top-level keys ("user", "workdir", "cmd"...) that some source set,
  /// as opposed to defaults; filled by resolve_spec() and load_spec(). On an
  /// image base, the base's config is kept for every field whose key is not
  /// here (see pipeline.hpp); a Spec built by hand lists the keys it means.
  /// Not part of to_json().
  std::set<std::string, std::less<>> given;

  /// The spec as JSON, in the same schema it is read in (every key present).
  nlohmann::json to_json() const;
};

/// One source of spec values. `name` is used in error messages
/// ("rustimg.json", "Cargo.toml [package.metadata.rustimg]", "CLI").
struct SpecLayer {
  std::string name;
  nlohmann::json value;   ///< a JSON object, or null for "nothing here"
};

/// Validates each layer, merges them (layers[0] lowest, last highest) over
/// the defaults and resolves the result. Paths the spec names (asset
/// sources, "ca-certificates") are relative to the crate directory
/// `crate_dir` and must stay inside it: absolute paths and paths that climb
/// out with ".." are refused here, symlinks that resolve outside it when the
/// image is built. Throws SpecError listing every problem.
Spec resolve_spec(const std::vector<SpecLayer>& layers, const std::filesystem::path& crate_dir);

struct SpecLoadOptions {
  /// The crate directory; empty means "no crate" (a prebuilt binary).
  std::filesystem::path crate_dir;
  /// Spec file; when empty, `crate_dir`/rustimg.json is used if it exists.
  std::filesystem::path spec_file;
  /// API/CLI overrides, same schema as the file (null for none).
  nlohmann::json overrides;
  /// How error messages name the overrides layer.
  std::string overrides_source = "command line";
  /// Read Cargo.toml metadata through `cargo metadata` (needs crate_dir).
  bool use_cargo_metadata = true;
  std::string cargo = "cargo";
};

/// Reads every source named by `options` and resolves the spec. With a crate,
/// fills package and bin from cargo when the spec leaves them out, and hands
/// cargo's metadata to `metadata_out` (when given) so callers need not run
/// `cargo metadata` again. Throws
/// SpecError for invalid specs, rustimg::Error for unreadable files or a
/// failing cargo.
Spec load_spec(const SpecLoadOptions& options, ProcessRunner& runner = system_process_runner(),
               cargo::Metadata* metadata_out = nullptr);

}  // namespace rustimg
