// Base64 (RFC 4648): see base64.hpp.
#include "util/base64.hpp"

#include "rustimg/error.hpp"

namespace rustimg::util {
namespace {

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The value of a character of the standard or URL-safe alphabet; -1 for others.
int value_of(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  const auto byte = [&](std::size_t k) { return static_cast<unsigned>(static_cast<unsigned char>(bytes[k])); };
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const unsigned v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    for (const int shift : {18, 12, 6, 0}) out += kAlphabet[(v >> shift) & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    const unsigned v = (byte(i) << 16) | (rest == 2 ? byte(i + 1) << 8 : 0);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string base64_decode(std::string_view text, const std::string& what, Base64Input input) {
  const bool lenient = input == Base64Input::Lenient;
  std::string compact;
  if (lenient) {
    for (const char c : text)
      if (!is_space(c)) compact += c;
    text = compact;
  }
  std::size_t n = text.size();
  std::size_t pad = 0;
  while (n > 0 && text[n - 1] == '=' && (lenient || pad < 2)) {
    --n;
    ++pad;
  }
  if (!lenient && pad > 0 && text.size() % 4 != 0)
    throw Error(ErrorCode::InvalidArgument, what + ": invalid base64 (bad padding)");
  if (n % 4 == 1) throw Error(ErrorCode::InvalidArgument, what + ": invalid base64 (truncated)");
  std::string out;
  out.reserve(n / 4 * 3 + 2);
  unsigned acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const int v = value_of(text[i]);
    if (v < 0)
      throw Error(ErrorCode::InvalidArgument,
                  what + ": invalid base64 (unexpected character at offset " + std::to_string(i) + ")");
    acc = ((acc << 6) | static_cast<unsigned>(v)) & 0xFFFFFFu;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  // Leftover bits must be zero (a canonical encoding).
  if (!lenient && bits > 0 && (acc & ((1u << bits) - 1)) != 0)
    throw Error(ErrorCode::InvalidArgument, what + ": invalid base64 (non-zero trailing bits)");
  return out;
}

}  // namespace rustimg::util
