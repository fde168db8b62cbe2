// Paths that a spec names inside the crate directory (asset sources, the
// "ca-certificates" bundle): the one place that keeps them there. A spec may
// come from a crate someone else wrote, so such a path must never read a
// file outside the crate: not through an absolute path, not through "..",
// not through a symlink.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace rustimg::crate_path {

/// The fix for a "ca-certificates" path that leaves the crate, said the same
/// way by spec validation and by the base layer.
inline constexpr std::string_view kCaCertificatesFix =
    "use true for the host's CA bundle, or copy the PEM file into the crate and name it relative to the crate";

/// The fix for a "base-key" path that leaves the crate.
inline constexpr std::string_view kBaseKeyFix =
    "copy the public key into the crate and name it relative to the crate, or give the build a key file "
    "(rustimg build --base-key FILE)";

/// A path checked lexically (no file system access).
struct Lexical {
  std::filesystem::path normal;  ///< "./a/../b" -> "b"; set when `problem` is empty
  /// Empty when the path stays inside the crate as written; else a phrase
  /// that follows the name of the key: "must be relative to the crate
  /// directory, got \"/etc/x\"", "\"../x\" points outside the crate
  /// directory", "must not be empty".
  std::string problem;
};

/// Checks `rel`: not empty, not absolute, and its lexically normal form does
/// not begin with "..".
Lexical check(std::string_view rel);

/// The crate directory with every symlink resolved (empty: the current
/// directory). Throws rustimg::Error (NotFound) naming it when it does not
/// exist.
std::filesystem::path canonical_root(const std::filesystem::path& crate_dir);

/// True when `p` (absolute and normal, as canonical paths are) is `root` or
/// lies below it.
bool is_within(const std::filesystem::path& p, const std::filesystem::path& root);

/// `root` / `rel` with every symlink resolved, the last component included
/// (for a file that is read, not kept as a symlink). `root` must be
/// canonical. A missing file is not an error here (the caller says what is
/// missing). Throws rustimg::Error (InvalidArgument) naming `key`, `rel` and
/// `fix` when `rel` fails check() or resolves outside `root`.
std::filesystem::path resolve(const std::filesystem::path& root, std::string_view rel, std::string_view key,
                              std::string_view fix);

}  // namespace rustimg::crate_path
