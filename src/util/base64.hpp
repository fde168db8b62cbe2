// Base64 (RFC 4648), the one codec: registry credentials (Basic auth,
// docker config.json "auth") and cosign signatures and DSSE envelopes.
#pragma once

#include <string>
#include <string_view>

namespace rustimg::util {

/// Standard alphabet, padded.
std::string base64_encode(std::string_view bytes);

/// Decodes the standard or URL-safe alphabet, padding optional; the
/// encoding must be canonical (zero trailing bits). With
/// `skip_whitespace`, spaces, tabs and line breaks are ignored (text from
/// files); otherwise they are errors. Throws rustimg::Error
/// (InvalidArgument) naming `what` and the fault, never the text.
std::string base64_decode(std::string_view text, const std::string& what, bool skip_whitespace = false);

}  // namespace rustimg::util
