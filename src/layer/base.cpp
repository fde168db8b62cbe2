// The built-in bases: "scratch" (empty) and "static" (a synthesised
// equivalent of distroless/static, built from host files, never pulled).
#include <system_error>

#include "rustimg/error.hpp"
#include "rustimg/layer.hpp"

namespace rustimg::layer {
namespace {

namespace fs = std::filesystem;

// The same users and groups as distroless/static.
constexpr const char* kPasswd =
    "root:x:0:0:root:/root:/sbin/nologin\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
    "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n";
constexpr const char* kGroup =
    "root:x:0:\n"
    "nobody:x:65534:\n"
    "tty:x:5:\n"
    "staff:x:50:\n"
    "nonroot:x:65532:\n";
constexpr const char* kNsswitch = "hosts: files dns\n";

void add_zoneinfo(FileTree& tree, const fs::path& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec))
    throw Error(ErrorCode::NotFound, "time zone database " + root.string() +
                                         " does not exist: install it (Debian/Ubuntu: apt-get install tzdata) or "
                                         "set \"tzdata\": false in the spec");
  const std::string image_root = "usr/share/zoneinfo";
  tree.add_directory(image_root, 0755);
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::none, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const fs::path& p = it->path();
    const std::string dest = image_root + "/" + p.lexically_relative(root).generic_string();
    const auto status = it->symlink_status(ec);
    if (ec) break;
    if (fs::is_symlink(status)) {
      tree.add_symlink(dest, fs::read_symlink(p).string());
    } else if (fs::is_directory(status)) {
      tree.add_directory(dest, 0755);
    } else if (fs::is_regular_file(status)) {
      tree.add_file(dest, p, 0644);
    }
  }
  if (ec) throw Error(ErrorCode::Io, "cannot read the time zone database " + root.string() + ": " + ec.message());
}

}  // namespace

bool is_builtin_base(std::string_view base) noexcept { return base == "scratch" || base == "static"; }

std::optional<std::string_view> builtin_nsswitch_conf(std::string_view base) noexcept {
  if (base == "static") return std::string_view(kNsswitch);
  return std::nullopt;
}

FileTree base_files(std::string_view base, const BaseOptions& options) {
  if (!is_builtin_base(base))
    throw Error(ErrorCode::Unsupported, "base image \"" + std::string(base) +
                                            "\" is not supported yet: use \"scratch\" or \"static\"");
  return base_files(base, options, read_ca_bundle(base, options));
}

FileTree base_files(std::string_view base, const BaseOptions& options, const CaBundle& ca) {
  FileTree tree;
  if (!is_builtin_base(base))
    throw Error(ErrorCode::Unsupported, "base image \"" + std::string(base) +
                                            "\" is not supported yet: use \"scratch\" or \"static\"");
  // What the options ask for goes on both bases (base_options decides what
  // "scratch" is asked for); the distroless files are the static base's.
  if (!ca.pem.empty()) tree.add_content(kCaBundlePath, ca.pem, 0644);
  if (options.tzdata) add_zoneinfo(tree, options.zoneinfo);
  if (base == "scratch") return tree;
  tree.add_directory("etc", 0755);
  tree.add_content("etc/passwd", kPasswd, 0644);
  tree.add_content("etc/group", kGroup, 0644);
  tree.add_content("etc/nsswitch.conf", kNsswitch, 0644);
  tree.add_directory("root", 0700);
  tree.add_directory("home", 0755);
  tree.add_directory("home/nonroot", 0700, kNonrootId, kNonrootId);
  tree.add_directory("tmp", 01777);
  return tree;
}

}  // namespace rustimg::layer
