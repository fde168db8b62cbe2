// Untrusted text (a tar entry name, a file name from an archive, a field of
// a document from a registry) for an error message, so that the text cannot
// rewrite the terminal or the log line it is shown in.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace rustimg::util {

/// `text` whole, control characters as \xNN.
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

/// At most `max` bytes of `text`, for a message that quotes a field: bytes
/// that are not printable ASCII become '?', so a cut never splits a UTF-8
/// sequence and no control character reaches a terminal.
inline std::string excerpt(std::string_view text, std::size_t max) {
  std::string out(text.substr(0, max));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  return out;
}

}  // namespace rustimg::util
