// Turning a registry's unexpected answer into an error that says what to do.
#include <algorithm>

#include "registry/internal.hpp"

namespace rustimg::registry::detail {

std::string login_hint(const std::string& registry) {
  // docker and podman logins work too: their files are read.
  return "rustimg login " + registry + ", or docker/podman login";
}

void throw_for_status(const std::string& registry, const std::function<std::string()>& user_of,
                      const HttpResponse& resp, const std::string& what) {
  auto entries = parse_error_body(resp.body);
  std::string code = entries.empty() ? std::string() : entries.front().code;
  std::string message = entries.empty() ? std::string() : entries.front().message;
  std::string detail = entries.empty() ? std::string() : entries.front().detail;
  std::string summary = "HTTP " + std::to_string(resp.status);
  if (!code.empty()) summary += " " + code;
  if (!message.empty()) summary += ": " + message;
  if (!detail.empty() && detail.size() < 200) summary += " (" + detail + ")";
  if (entries.empty() && !resp.body.empty()) {
    std::string text = trim(resp.body.substr(0, 200));
    std::replace_if(text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
    if (!text.empty()) summary += ": " + text;
  }
  std::optional<std::chrono::milliseconds> retry_after;
  if (auto ra = resp.header("retry-after"); !ra.empty()) retry_after = parse_retry_after(ra);
  if (resp.status == 401 || resp.status == 403) {
    std::string user = user_of ? user_of() : std::string();
    std::string advice;
    std::string insufficient;
    for (const auto& c : parse_www_authenticate(resp.header("www-authenticate")))
      if (c.params.count("error") && c.params.at("error") == "insufficient_scope")
        insufficient = c.params.count("scope") ? c.params.at("scope") : std::string("the requested access");
    if (!insufficient.empty()) {
      advice = (user.empty() ? std::string("anonymous access") : "user \"" + user + "\"") + " was not granted " +
               insufficient + "; check the repository name and the user's rights on it";
    } else if (resp.status == 403 || code == "DENIED") {
      advice = user.empty() ? "anonymous access is not allowed; log in (" + login_hint(registry) +
                                  ") or pass credentials"
                            : "user \"" + user + "\" lacks permission; check the repository name and the user's rights";
    } else if (user.empty()) {
      advice = "no credentials were found for " + registry + "; log in (" + login_hint(registry) +
               ") or pass credentials";
    } else {
      advice = "authentication as user \"" + user + "\" failed; check the user name and password for " + registry;
    }
    throw StatusFailure(ErrorCode::Auth, "registry " + registry + " refused " + what + " (" + summary + "): " + advice,
                        resp.status, code, message, retry_after);
  }
  ErrorCode ec = ErrorCode::Registry;
  if (resp.status == 404 && (code == "MANIFEST_UNKNOWN" || code == "NAME_UNKNOWN")) ec = ErrorCode::NotFound;
  throw StatusFailure(ec, "registry " + registry + ": " + what + " failed: " + summary, resp.status, code, message,
                      retry_after);
}

}  // namespace rustimg::registry::detail
