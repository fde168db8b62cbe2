#include "util/crate_path.hpp"

#include <system_error>

#include "rustimg/error.hpp"

namespace rustimg::crate_path {

namespace fs = std::filesystem;

namespace {

std::string quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

}  // namespace

Lexical check(std::string_view rel) {
  Lexical out;
  const fs::path path(rel);
  if (rel.empty()) {
    out.problem = "must not be empty";
  } else if (path.is_absolute()) {
    out.problem = "must be relative to the crate directory, got " + quote(rel);
  } else {
    out.normal = path.lexically_normal();
    if (!out.normal.empty() && *out.normal.begin() == "..") {
      out.normal.clear();
      out.problem = quote(rel) + " points outside the crate directory";
    }
  }
  return out;
}

fs::path canonical_root(const fs::path& crate_dir) {
  std::error_code ec;
  const fs::path dir = crate_dir.empty() ? fs::current_path(ec) : crate_dir;
  const fs::path root = ec ? fs::path() : fs::canonical(dir, ec);
  if (ec) throw Error(ErrorCode::NotFound, "crate directory " + dir.string() + " does not exist: " + ec.message());
  return root;
}

bool is_within(const fs::path& p, const fs::path& root) {
  const fs::path rel = p.lexically_relative(root);
  return !rel.empty() && *rel.begin() != "..";
}

fs::path resolve(const fs::path& root, std::string_view rel, std::string_view key, std::string_view fix) {
  const Lexical lexical = check(rel);
  if (!lexical.problem.empty())
    throw Error(ErrorCode::InvalidArgument, std::string(key) + " " + lexical.problem + "; " + std::string(fix));
  std::error_code ec;
  const fs::path resolved = fs::weakly_canonical(root / lexical.normal, ec);
  if (ec)
    throw Error(ErrorCode::Io, "cannot resolve " + std::string(key) + " " + quote(rel) + " in " + root.string() +
                                   ": " + ec.message());
  if (!is_within(resolved, root))
    throw Error(ErrorCode::InvalidArgument, std::string(key) + " " + quote(rel) +
                                                " resolves outside the crate directory " + root.string() +
                                                " (through a symlink); " + std::string(fix));
  return resolved;
}

}  // namespace rustimg::crate_path
