// Internal to the store module: staging directories, and the file helpers of
// util/atomic_file.hpp under the names the store uses.
#pragma once

#include <filesystem>

#include "util/atomic_file.hpp"

namespace rustimg::store {

using util::AtomicFile;
using util::DirLock;
using util::file_stream;
using util::FileHandle;
using util::open_regular_below;
using util::sync_files;

/// True for a directory rustimg stages blobs in (a TempDir,
/// ".rustimg-staging-*"): its files are scratch, removed when the build
/// ends, and made durable only when published.
bool is_staging_dir(const std::filesystem::path& dir);

}  // namespace rustimg::store
