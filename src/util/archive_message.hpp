// The message of libarchive's last error on `a`, for rustimg::Error text
// (libarchive may have none: archive_error_string then returns NULL).
#pragma once

#include <archive.h>

#include <string>

namespace rustimg::util {

inline std::string archive_message(archive* a) {
  const char* m = archive_error_string(a);
  return m != nullptr ? m : "unknown libarchive error";
}

}  // namespace rustimg::util
