// rustimg/url.hpp - URLs read from a project (a git remote, a dependency's
// source) made fit to publish: an SBOM or a provenance statement leaves the
// machine with the image, and credentials ride in URLs.
#pragma once

#include <string>
#include <string_view>

namespace rustimg {

/// `url` without the user name and password of its authority, its query
/// and its fragment (a URL with "://"); other forms ("git@host:org/r.git",
/// a path) as they are. Pure.
std::string strip_url_userinfo(const std::string& url);

/// Whether `text` holds a URL with credentials anywhere in it: any "://"
/// whose authority has a user part ("https://TOKEN@host",
/// "postgres://app:PASSWORD@db/app"), or a query (tokens ride there too:
/// "?private_token=..."). Pure.
bool carries_url_credentials(std::string_view text);

}  // namespace rustimg
