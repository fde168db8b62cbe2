// rustimg/sbom.hpp - software bills of materials (module `attest`).
//
// What went into one platform image - the crates compiled into its binary,
// the binary itself, the base image and the built-in files - written as an
// SPDX 2.3 JSON or a CycloneDX 1.5 JSON document. Pure and deterministic: the
// same SbomInput gives the same bytes (no clock, no random UUID; the SPDX
// documentNamespace and the CycloneDX serialNumber are derived from the
// content, the creation time comes from the caller).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rustimg::attest {

/// A crate compiled into the binary (filled by the pipeline from
/// cargo::ResolvedPackage or cargo-auditable data).
struct SbomPackage {
  std::string name, version;
  /// "pkg:cargo/NAME@VERSION"; computed (percent-encoded) when empty.
  std::string purl;
  /// Registry: "https://crates.io/api/v1/crates/NAME/VERSION/download";
  /// git: "git+URL@REV"; path/unknown: "NOASSERTION". A value that is not a
  /// download location SPDX accepts is written as NOASSERTION (and kept in
  /// the package's sourceInfo).
  std::string download_location;
  /// "crates.io" / git URL + rev / "path" - free text.
  std::string source_description;
  /// Lowercase hex sha256: the Cargo.lock checksum (of the .crate file); "" when none.
  std::string sha256;
  /// SPDX license expression, "" when unknown. Cargo's legacy "MIT/Apache-2.0"
  /// is read as "MIT OR Apache-2.0"; text that is no expression is written as
  /// NOASSERTION in SPDX (and kept in a comment).
  std::string license;
  /// "NAME@VERSION" of other packages in the list.
  std::vector<std::string> depends_on;
  /// The crate whose binary this is.
  bool root = false;
};

/// A file in the image that is not a crate: the binary, the CA bundle, tzdata.
struct SbomFile {
  std::string path;    ///< path in the image, "/usr/local/bin/hello"
  std::string sha256;  ///< lowercase hex
  /// Where it came from ("built by cargo from hello 0.1.0",
  /// "Debian ca-certificates from the host", ...).
  std::string origin;
};

struct SbomInput {
  std::string name;      ///< document name, e.g. "hello 0.1.0 linux/amd64"
  std::string platform;  ///< "linux/amd64"
  SbomFile binary;       ///< the executable
  /// When the base is an image reference: the reference as given ("debian:bookworm-slim")
  /// and the digest of the manifest (or index) built upon ("sha256:<hex>").
  std::optional<std::string> base_reference, base_digest;
  std::vector<SbomPackage> packages;
  /// false: a --binary without .dep-v0 data; the document says the
  /// dependencies are unknown, and `packages` must be empty.
  bool dependencies_known = true;
  std::vector<SbomFile> files;  ///< built-in files (CA bundle, tzdata ...)
  std::int64_t created = 0;     ///< seconds since the epoch (SOURCE_DATE_EPOCH), from the caller
  std::string tool = "rustimg"; ///< creator tool with version, e.g. "rustimg-0.5.0"
};

enum class SbomFormat { Spdx, CycloneDx };

/// SPDX 2.3 JSON. Keys sorted (nlohmann::json::dump of a json value);
/// packages sorted by (name, version), files by path. Throws rustimg::Error
/// (InvalidArgument) naming the field at fault when the input is malformed
/// (bad sha256, a dependency that is not in the list, a duplicate package,
/// text that is not UTF-8, a value over its size limit).
std::string spdx_json(const SbomInput& input);
/// CycloneDX 1.5 JSON, the same conventions and errors.
std::string cyclonedx_json(const SbomInput& input);
std::string sbom_json(const SbomInput& input, SbomFormat format);

inline constexpr const char* kSpdxMediaType = "application/spdx+json";
inline constexpr const char* kCycloneDxMediaType = "application/vnd.cyclonedx+json";

/// Whether `media_type` is one of the two SBOM media types above.
inline bool is_sbom_media_type(std::string_view media_type) {
  return media_type == kSpdxMediaType || media_type == kCycloneDxMediaType;
}

}  // namespace rustimg::attest
