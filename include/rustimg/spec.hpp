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
#include "rustimg/oci.hpp"
#include "rustimg/option_names.hpp"
#include "rustimg/platform.hpp"

namespace rustimg {

// The layer vocabulary the spec reads into (defined with the OCI types).
using oci::Asset;
using oci::Compression;
using oci::kGzipDefaultLevel;
using oci::kGzipMaxLevel;
using oci::kZstdDefaultLevel;
using oci::kZstdMaxLevel;
using oci::to_string;

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
  /// Spec key "size-optimize": a string, or a boolean for old specs
  /// (false = None, true = Min, what true always meant).
  SizeOptimize size_optimize = SizeOptimize::Release;
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
  /// Spec key "base-key": a PEM public key file (cosign.pub), relative to
  /// the crate directory and lexically normal (the path rules of
  /// "ca-certificates"); the image base must carry a cosign signature by it
  /// (pipeline::verify_image) before anything is built on it. Empty: not
  /// checked. Only for an image base.
  std::string base_key;
  std::vector<std::string> entrypoint; ///< default: ["/usr/local/bin/<bin>"]
  std::vector<std::string> cmd;
  std::map<std::string, std::string> env;
  std::string workdir = "/";
  std::string user;                    ///< default "65532:65532" (nonroot)
  std::vector<std::string> ports;      ///< normalised "8080/tcp"
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::string stop_signal;
  std::optional<oci::HealthConfig> healthcheck;
  std::vector<std::string> tags;
  /// Where `rustimg build --push` with no reference pushes: REPO/<package>
  /// (spec key "repository", e.g. "ghcr.io/org"; RUSTIMG_REPO overrides it).
  /// Empty: none.
  std::string repository;
  Compression compression = Compression::Gzip;
  /// gzip 1..9, zstd 1..19; 0: the compression's default (gzip 6, zstd 3).
  int compression_level = 0;
  std::vector<Asset> assets;
  /// Add a CA bundle and SSL_CERT_FILE. resolve_spec() leaves it false on
  /// "scratch" unless a source sets it or "extra-ca-certificates".
  bool ca_certificates = true;
  /// File to take it from, relative to the crate directory and lexically
  /// normal ("certs/ca.pem"); empty: the host's. Like asset sources it must
  /// stay inside the crate: the spec refuses absolute paths and "..", the
  /// build refuses a symlink that resolves outside.
  std::string ca_bundle;
  /// "extra-ca-certificates": PEM files (same path rules as `ca_bundle`)
  /// appended, in this order, to the bundle the image has otherwise.
  std::vector<std::string> extra_ca_certificates;
  bool tzdata = false;                 ///< add /usr/share/zoneinfo
  /// Spec key "sbom": the SBOM format attached to each platform image,
  /// "spdx" (SPDX 2.3 JSON, the default) or "cyclonedx" (CycloneDX 1.5
  /// JSON); "" for none (the key's "none" or false).
  std::string sbom = "spdx";
  /// Spec key "provenance": attach an in-toto SLSA Provenance v1 statement
  /// to each platform image built from a crate (on by default).
  bool provenance = true;

  /// The top-level keys ("user", "workdir", "cmd"...) that some source set,
  /// as opposed to defaults; filled by resolve_spec(). On an image base,
  /// the base's config is kept for every field whose key is not here (see
  /// pipeline.hpp and plan.hpp); a Spec built by hand lists the keys it means.
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
/// image is built. Throws SpecError listing every problem: `diagnostics`
/// (found while choosing the layers, e.g. a missing package) first, then
/// those of the layers.
Spec resolve_spec(const std::vector<SpecLayer>& layers, const std::filesystem::path& crate_dir,
                  std::vector<SpecDiagnostic> diagnostics = {});

/// Where a spec comes from. The spec module reads the file and the
/// overrides (read_spec_sources); the Cargo.toml metadata is read by the
/// pipeline (pipeline::load_spec in plan.hpp), which runs cargo.
struct SpecLoadOptions {
  /// The crate directory; empty means "no crate" (a prebuilt binary).
  std::filesystem::path crate_dir;
  /// Spec file; when empty, `crate_dir`/rustimg.json is used if it exists.
  std::filesystem::path spec_file;
  /// API/CLI overrides, same schema as the file (null for none).
  nlohmann::json overrides;
  /// How error messages name the overrides layer.
  std::string overrides_source = "command line";
  /// How messages name the caller's options (--bin, --package...).
  OptionNames option_names;
  /// Read Cargo.toml metadata through `cargo metadata` (needs crate_dir).
  bool use_cargo_metadata = true;
  std::string cargo = "cargo";
};

/// The layers above Cargo.toml, lowest first: the spec file (when there is
/// one) and the overrides (when not null). Throws rustimg::Error (NotFound)
/// when an explicit spec file does not exist, Io when it cannot be read,
/// SpecError naming line and column when it is not JSON.
std::vector<SpecLayer> read_spec_sources(const SpecLoadOptions& options);

/// A string value some layer gives, and the name of that layer.
struct SpecValue {
  std::string value;
  std::string source;
};

/// The value of top-level string `key` in the highest layer that gives one.
std::optional<SpecValue> highest_string(const std::vector<SpecLayer>& layers, std::string_view key);

/// `metadata.rustimg` of a Cargo.toml [package.metadata] or
/// [workspace.metadata] table as a layer named `name`; nullopt when absent.
std::optional<SpecLayer> metadata_layer(const nlohmann::json& metadata, std::string name);

}  // namespace rustimg
