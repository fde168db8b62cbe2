// Base64 (RFC 4648), the one codec: registry credentials (Basic auth,
// docker config.json "auth") and cosign signatures and DSSE envelopes.
#pragma once

#include <string>
#include <string_view>

namespace rustimg::util {

/// Standard alphabet, padded.
std::string base64_encode(std::string_view bytes);

enum class Base64Input {
  /// Signatures and envelopes: no whitespace, padding only as RFC 4648
  /// places it, zero trailing bits (one text, one encoding).
  Strict,
  /// Text other tools wrote (docker's config.json "auth"): whitespace
  /// ignored, any run of '=' at the end, trailing bits ignored, as Go's
  /// decoders and docker accept.
  Lenient,
};

/// Decodes the standard or URL-safe alphabet, padding optional. Throws
/// rustimg::Error (InvalidArgument) naming `what` and the fault, never the
/// text.
std::string base64_decode(std::string_view text, const std::string& what, Base64Input input = Base64Input::Strict);

}  // namespace rustimg::util
