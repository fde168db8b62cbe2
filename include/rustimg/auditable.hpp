// rustimg/auditable.hpp - the dependency list `cargo auditable` embeds in a
// binary (the ".dep-v0" section), read from the ELF bytes.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace rustimg::elf {

/// One package of the list, as the format says it (cargo-neutral).
struct AuditablePackage {
  std::string name;
  std::string version;
  /// "crates.io", "git", "local", "registry", or another string the format
  /// may add, kept as written.
  std::string source;
  /// "runtime" (compiled into the binary; the default) or "build" (a
  /// build-dependency, run on the host only), or another string as written.
  std::string kind = "runtime";
  bool root = false;
  /// Indices into the list.
  std::vector<std::size_t> dependencies;
};

/// Bounds of read_auditable_dependencies.
inline constexpr std::size_t kMaxAuditableJsonBytes = 8 * 1024 * 1024;  ///< decompressed
inline constexpr std::size_t kMaxAuditablePackages = 100000;

/// The list cargo-auditable embeds in the ELF image `elf` (pure): section
/// ".dep-v0", zlib-compressed JSON {"packages": [{"name", "version",
/// "source", "kind"?, "dependencies"?: [indices], "root"?}], "format"?};
/// nullopt when the file has no such section. In the order of the section.
/// Throws rustimg::Error (Elf) naming `what` (the file) when the bytes are
/// not an ELF file, the section does not inflate, inflates to more than
/// kMaxAuditableJsonBytes, is not JSON of that shape, lists more than
/// kMaxAuditablePackages packages, or has a dependency index that is out of
/// range, a cycle, or more than one root.
std::optional<std::vector<AuditablePackage>> read_auditable_dependencies(std::span<const std::byte> elf,
                                                                         const std::string& what);

/// read_auditable_dependencies over the file `path` (the I/O edge); errors
/// name the file, and NotFound / Io when it cannot be read.
std::optional<std::vector<AuditablePackage>> read_auditable_file(const std::filesystem::path& path);

}  // namespace rustimg::elf
