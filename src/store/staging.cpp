// Staging directories: where a build keeps blobs until they are published.
#include "staging.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "rustimg/error.hpp"
#include "rustimg/store.hpp"

namespace rustimg::store {
namespace {

constexpr const char* kStagingPrefix = ".rustimg-staging-";

std::string errno_text() { return std::strerror(errno); }

}  // namespace

bool is_staging_dir(const std::filesystem::path& dir) {
  std::filesystem::path p = dir;
  if (!p.has_filename()) p = p.parent_path();
  return p.filename().string().rfind(kStagingPrefix, 0) == 0;
}

TempDir::TempDir(const std::filesystem::path& parent) {
  std::string tmpl = (parent / (std::string(kStagingPrefix) + "XXXXXX")).string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr)
    throw Error(ErrorCode::Io, "cannot create a staging directory in " + parent.string() + ": " + errno_text());
  path_ = buf.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace rustimg::store
