// Assets: files from the crate directory, selected by glob, copied into the
// image, never reaching outside the crate (not even through a symlink).
#include <fnmatch.h>

#include <algorithm>
#include <optional>
#include <set>
#include <system_error>
#include <utility>

#include "rustimg/error.hpp"
#include "rustimg/layer.hpp"
#include "util/crate_path.hpp"

namespace rustimg::layer {
namespace {

namespace fs = std::filesystem;

bool has_wildcard(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

std::vector<std::string> split(std::string_view s) {
  std::vector<std::string> parts;
  std::size_t pos = 0;
  while (pos <= s.size()) {
    std::size_t end = s.find('/', pos);
    if (end == std::string_view::npos) end = s.size();
    const std::string_view part = s.substr(pos, end - pos);
    if (!part.empty() && part != ".") parts.emplace_back(part);
    pos = end + 1;
  }
  return parts;
}

std::string join(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "/" + name;
}

/// Directory entry names, sorted, so matching is deterministic.
std::vector<std::string> list_dir(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    names.push_back(it->path().filename().string());
  if (ec) throw Error(ErrorCode::Io, "cannot list " + dir.string() + ": " + ec.message());
  std::sort(names.begin(), names.end());
  return names;
}

bool is_dir_nofollow(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(fs::symlink_status(p, ec));
}

bool exists_nofollow(const fs::path& p) {
  std::error_code ec;
  return fs::exists(fs::symlink_status(p, ec));
}

/// Expands `parts[i..]` below `root/rel` into `out` (relative paths).
void expand(const fs::path& root, const std::string& rel, const std::vector<std::string>& parts, std::size_t i,
            std::set<std::string>& out) {
  if (i == parts.size()) {
    if (!rel.empty()) out.insert(rel);
    return;
  }
  const fs::path here = rel.empty() ? root : root / rel;
  const std::string& part = parts[i];
  if (part == "**") {
    expand(root, rel, parts, i + 1, out);  // zero directories
    if (!is_dir_nofollow(here)) return;
    for (const std::string& name : list_dir(here))
      if (name[0] != '.' && is_dir_nofollow(here / name)) expand(root, join(rel, name), parts, i, out);
    return;
  }
  if (!has_wildcard(part)) {
    if (exists_nofollow(here / part)) expand(root, join(rel, part), parts, i + 1, out);
    return;
  }
  std::error_code ec;
  if (!fs::is_directory(here, ec)) return;
  for (const std::string& name : list_dir(here))
    if (::fnmatch(part.c_str(), name.c_str(), FNM_PERIOD) == 0) expand(root, join(rel, name), parts, i + 1, out);
}

/// `matches` without the paths below a matched directory: copying that
/// directory copies them (once).
std::set<std::string> outermost(const fs::path& root, const std::set<std::string>& matches) {
  std::set<std::string> out;
  for (const std::string& rel : matches) {
    bool covered = false;
    for (std::size_t slash = rel.find('/'); slash != std::string::npos && !covered; slash = rel.find('/', slash + 1)) {
      const std::string ancestor = rel.substr(0, slash);
      covered = matches.count(ancestor) != 0 && is_dir_nofollow(root / ancestor);
    }
    if (!covered) out.insert(rel);
  }
  return out;
}

/// Copies host paths below a root into a tree, never reading outside the
/// root: the assets' copier, and add_host_tree's.
class TreeCopier {
 public:
  /// `label` names the input in errors ("asset \"static/**\"", "directory
  /// /x"), `root_name` the root ("the crate directory"); `escape_fix` says
  /// what to do about a path that leaves the root, `other_fix` about a path
  /// of another kind (socket, FIFO, device).
  TreeCopier(FileTree& tree, const fs::path& root, std::optional<std::uint32_t> mode, std::uint32_t uid,
             std::uint32_t gid, std::string label, std::string root_name, std::string escape_fix,
             std::string other_fix)
      : tree_(tree),
        root_(root),
        mode_(mode),
        uid_(uid),
        gid_(gid),
        label_(std::move(label)),
        root_name_(std::move(root_name)),
        escape_fix_(std::move(escape_fix)),
        other_fix_(std::move(other_fix)) {}

  /// Adds `rel` (a path relative to the root) at image path `dest`.
  void add(const std::string& rel, const std::string& dest) {
    const fs::path src = root_ / rel;
    check_inside(src, rel);
    std::error_code ec;
    const fs::file_status st = fs::symlink_status(src, ec);
    if (ec) throw Error(ErrorCode::Io, "cannot stat " + src.string() + " (" + label_ + "): " + ec.message());
    if (fs::is_symlink(st)) {
      const fs::path target = fs::read_symlink(src, ec);
      if (ec) throw Error(ErrorCode::Io, "cannot read symlink " + src.string() + ": " + ec.message());
      const fs::path resolved = fs::weakly_canonical(target.is_absolute() ? target : src.parent_path() / target, ec);
      if (ec || !crate_path::is_within(resolved, root_))
        escape(rel, "is a symlink to " + target.string() + ", which resolves outside " + root_name_);
      tree_.add_symlink(dest, target.string(), uid_, gid_);
    } else if (fs::is_directory(st)) {
      add_children(rel, FileTree::normalize(dest));
    } else if (fs::is_regular_file(st)) {
      tree_.add_file(dest, src, mode_ ? *mode_ : host_file_mode(st.permissions()), uid_, gid_);
    } else {
      throw Error(ErrorCode::InvalidArgument, src.string() + " (" + label_ +
                                                  ") is not a regular file, directory or symlink; " + other_fix_);
    }
  }

  /// Adds the directory `rel` ("" for the root) at `dest` with what it
  /// holds; `dest` "" is the image's root, which has no entry of its own.
  void add_children(const std::string& rel, const std::string& dest) {
    if (!dest.empty()) tree_.add_directory(dest, 0755, uid_, gid_);
    for (const std::string& name : list_dir(rel.empty() ? root_ : root_ / rel))
      add(join(rel, name), join(dest, name));
  }

 private:
  /// The path itself (with its parent directories' symlinks resolved) must
  /// stay inside the root.
  void check_inside(const fs::path& src, const std::string& rel) {
    std::error_code ec;
    const fs::path parent = fs::weakly_canonical(src.parent_path(), ec);
    if (ec || !crate_path::is_within(parent / src.filename(), root_))
      escape(rel, "resolves outside " + root_name_ + " (through a symlinked directory)");
  }

  [[noreturn]] void escape(const std::string& rel, const std::string& why) {
    throw Error(ErrorCode::InvalidArgument, label_ + ": " + rel + " " + why + " (" + root_.string() + "); " + escape_fix_);
  }

  FileTree& tree_;
  fs::path root_;
  std::optional<std::uint32_t> mode_;
  std::uint32_t uid_;
  std::uint32_t gid_;
  std::string label_;
  std::string root_name_;
  std::string escape_fix_;
  std::string other_fix_;
};

}  // namespace

std::uint32_t host_file_mode(fs::perms perms) noexcept {
  const auto exec = fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec;
  return (perms & exec) != fs::perms::none ? 0755 : 0644;
}

void add_host_tree(FileTree& tree, std::string_view image_path, const fs::path& host_dir, std::uint32_t uid,
                   std::uint32_t gid) {
  const std::string label = "directory " + host_dir.string();
  std::error_code ec;
  const fs::file_status st = fs::status(host_dir, ec);
  if (!fs::exists(st)) throw Error(ErrorCode::NotFound, label + " does not exist; name an existing directory");
  if (!fs::is_directory(st))
    throw Error(ErrorCode::InvalidArgument, label + " is not a directory; add a file with add_file instead");
  const fs::path root = crate_path::canonical_root(host_dir);
  TreeCopier copier(tree, root, std::nullopt, uid, gid, label, "the directory",
                    "a directory added to a layer must hold everything it adds: copy the file into it",
                    "remove it from " + host_dir.string());
  // "/" (or "", ".") puts the directory's contents at the image's root.
  const bool at_root = image_path.find_first_not_of("/.") == std::string_view::npos &&
                       image_path.find("..") == std::string_view::npos;
  copier.add_children("", at_root ? std::string() : FileTree::normalize(image_path));
}

void add_assets(FileTree& tree, const std::vector<oci::Asset>& assets, const fs::path& crate_dir) {
  if (assets.empty()) return;
  const fs::path root = crate_path::canonical_root(crate_dir);

  for (const oci::Asset& asset : assets) {
    const crate_path::Lexical source = crate_path::check(asset.source);
    if (!source.problem.empty())
      throw Error(ErrorCode::InvalidArgument, "asset source " + source.problem +
                                                  "; assets must stay inside the crate directory " + root.string());
    const std::vector<std::string> parts = split(source.normal.generic_string());
    if (asset.dest.empty() || asset.dest.front() != '/')
      throw Error(ErrorCode::InvalidArgument,
                  "asset \"" + asset.source + "\": dest \"" + asset.dest + "\" must be an absolute path in the image");

    std::set<std::string> found;
    expand(root, "", parts, 0, found);
    const std::set<std::string> matches = outermost(root, found);
    if (matches.empty())
      throw Error(ErrorCode::NotFound, "asset glob \"" + asset.source + "\" matches nothing in " + root.string() +
                                           "; fix the pattern or remove the asset");

    // Matches keep their path below the glob's literal leading directories:
    // "static/**/*.css" -> dest/css/site.css for static/css/site.css.
    std::size_t literal = 0;
    while (literal + 1 < parts.size() && !has_wildcard(parts[literal])) ++literal;
    std::string literal_prefix;
    for (std::size_t i = 0; i < literal; ++i) literal_prefix = join(literal_prefix, parts[i]);

    const bool into_dir = asset.dest.back() == '/';
    if (!into_dir && matches.size() > 1)
      throw Error(ErrorCode::InvalidArgument, "asset glob \"" + asset.source + "\" matches " +
                                                  std::to_string(matches.size()) + " paths but dest \"" + asset.dest +
                                                  "\" names one file; end dest with '/' to copy them into a directory");
    TreeCopier copier(tree, root, asset.mode, asset.uid, asset.gid, "asset \"" + asset.source + "\"",
                      "the crate directory", "assets must stay inside the crate: copy the file into the crate",
                      "remove it from the asset glob \"" + asset.source + "\"");
    for (const std::string& rel : matches) {
      // rel is literal_prefix itself when the rest of the glob matched no
      // directory at all ("static/**" matches static): its contents go to dest.
      const std::string below =
          literal_prefix.empty() ? rel : rel.size() == literal_prefix.size() ? "" : rel.substr(literal_prefix.size() + 1);
      copier.add(rel, into_dir ? asset.dest + below : asset.dest);
    }
  }
}

}  // namespace rustimg::layer
