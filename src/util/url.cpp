// URLs from a project's own files (a git remote, a Cargo.lock source)
// made fit to publish in an SBOM or a provenance statement.
#include "rustimg/url.hpp"

namespace rustimg {

std::string strip_url_userinfo(const std::string& url) {
  const std::size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  // No query or fragment either: tokens ride there too (?private_token=...).
  const std::string base = url.substr(0, url.find_first_of("?#", scheme + 3));
  const std::size_t authority = scheme + 3;
  const std::size_t end = base.find('/', authority);
  const std::size_t at = base.rfind('@', end == std::string::npos ? base.size() : end);
  if (at == std::string::npos || at < authority) return base;
  return base.substr(0, authority) + base.substr(at + 1);
}

bool carries_url_credentials(std::string_view text) {
  // A URL ends at white space or a quote (a value may hold several: a
  // command line, a list).
  constexpr std::string_view kUrlEnd = " \t\r\n\"'";
  for (std::size_t scheme = text.find("://"); scheme != std::string_view::npos;
       scheme = text.find("://", scheme + 3)) {
    const std::size_t authority = scheme + 3;
    const std::string_view url = text.substr(authority, text.find_first_of(kUrlEnd, authority) - authority);
    const std::string_view host_part = url.substr(0, url.find_first_of("/?#"));
    if (host_part.find('@') != std::string_view::npos || url.find('?') != std::string_view::npos) return true;
  }
  return false;
}

}  // namespace rustimg
