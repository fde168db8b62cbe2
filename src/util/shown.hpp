// Untrusted text (a tar entry name, a file name from an archive) for an error
// message: control characters as \xNN, so the text cannot rewrite the
// terminal or the log line it is shown in.
#pragma once

#include <string>
#include <string_view>

namespace rustimg::util {

inline std::string shown(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace rustimg::util
