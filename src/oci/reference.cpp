#include "rustimg/reference.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

#include "rustimg/error.hpp"

namespace rustimg {
namespace {

constexpr std::string_view kDockerHub = "docker.io";

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_hex_lower(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// One path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
bool is_valid_component(std::string_view s) {
  if (s.empty() || !is_lower_alnum(s.front()) || !is_lower_alnum(s.back())) return false;
  for (size_t i = 0; i < s.size();) {
    if (is_lower_alnum(s[i])) {
      ++i;
      continue;
    }
    // a separator run: ".", "_", "__" or one or more "-"
    size_t j = i;
    if (s[i] == '.') {
      j = i + 1;
    } else if (s[i] == '_') {
      j = i + 1;
      if (j < s.size() && s[j] == '_') ++j;
    } else if (s[i] == '-') {
      while (j < s.size() && s[j] == '-') ++j;
    } else {
      return false;
    }
    if (j >= s.size() || !is_lower_alnum(s[j])) return false;
    i = j;
  }
  return true;
}

bool is_valid_host(std::string_view host) {
  std::string_view name = host;
  if (!host.empty() && host.front() == '[') {  // [IPv6]:port
    auto close = host.find(']');
    if (close == std::string_view::npos) return false;
    std::string_view rest = host.substr(close + 1);
    if (rest.empty()) return close > 1;
    name = rest;  // ":port" checked below
    if (name.front() != ':') return false;
    name.remove_prefix(1);
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; });
  }
  auto colon = host.rfind(':');
  if (colon != std::string_view::npos) {
    std::string_view port = host.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return false;
    name = host.substr(0, colon);
  }
  if (name.empty()) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.')) return false;
  return name.front() != '-' && name.front() != '.' && name.back() != '-' && name.back() != '.' &&
         name.find("..") == std::string_view::npos;
}

[[noreturn]] void fail(std::string_view text, const std::string& why) {
  throw Error(ErrorCode::InvalidArgument, "invalid image reference \"" + std::string(text) + "\": " + why);
}

}  // namespace

bool is_valid_digest(std::string_view digest) {
  auto colon = digest.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view alg = digest.substr(0, colon), hex = digest.substr(colon + 1);
  size_t want = alg == "sha256" ? 64 : alg == "sha512" ? 128 : 0;
  return want != 0 && hex.size() == want && std::all_of(hex.begin(), hex.end(), is_hex_lower);
}

bool is_valid_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > 128) return false;
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  if (!word(tag.front())) return false;
  return std::all_of(tag.begin(), tag.end(), [&](char c) { return word(c) || c == '.' || c == '-'; });
}

Reference parse_reference(std::string_view text) {
  if (text.empty()) fail(text, "it is empty; expected [REGISTRY/]REPOSITORY[:TAG][@DIGEST]");
  Reference ref;
  std::string_view rest = text;

  if (auto at = rest.find('@'); at != std::string_view::npos) {
    ref.digest = std::string(rest.substr(at + 1));
    if (!is_valid_digest(ref.digest))
      fail(text, "bad digest \"" + ref.digest + "\"; expected sha256: followed by 64 lower-case hex digits");
    rest = rest.substr(0, at);
  }

  // A tag is a ':' after the last '/', so "host:5000/repo" keeps its port.
  auto last_slash = rest.rfind('/');
  auto colon = rest.rfind(':');
  if (colon != std::string_view::npos && (last_slash == std::string_view::npos || colon > last_slash)) {
    ref.tag = std::string(rest.substr(colon + 1));
    if (!is_valid_tag(ref.tag))
      fail(text, "bad tag \"" + ref.tag + "\"; a tag is up to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'");
    rest = rest.substr(0, colon);
  }

  // The first component is a registry when it looks like a host.
  auto first_slash = rest.find('/');
  if (first_slash != std::string_view::npos) {
    std::string_view first = rest.substr(0, first_slash);
    if (first.find_first_of(".:") != std::string_view::npos || first == "localhost" ||
        (!first.empty() && first.front() == '[')) {
      if (!is_valid_host(first)) fail(text, "bad registry host \"" + std::string(first) + "\"");
      ref.registry = std::string(first);
      rest = rest.substr(first_slash + 1);
    }
  }
  if (ref.registry.empty() || ref.registry == "index.docker.io" || ref.registry == "registry-1.docker.io")
    ref.registry = std::string(kDockerHub);

  if (rest.empty()) fail(text, "missing repository name");
  std::string_view path = rest;
  while (true) {
    auto slash = path.find('/');
    std::string_view comp = path.substr(0, slash);
    if (!is_valid_component(comp)) {
      bool upper = std::any_of(comp.begin(), comp.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
      fail(text, upper ? "repository names must be lower case (\"" + std::string(comp) + "\")"
                       : "bad repository path component \"" + std::string(comp) +
                             "\"; use lower-case letters, digits and single separators (. _ __ -)");
    }
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  ref.repository = std::string(rest);
  if (ref.registry == kDockerHub && ref.repository.find('/') == std::string::npos)
    ref.repository = "library/" + ref.repository;
  if (ref.registry.size() + 1 + ref.repository.size() > 255)
    fail(text, "name is longer than 255 characters");
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  return ref;
}

std::vector<Reference> tagged_references(std::string_view text, const std::vector<std::string>& tags) {
  const Reference ref = parse_reference(text);
  const std::size_t slash = text.rfind('/');
  const std::string_view last = slash == std::string_view::npos ? text : text.substr(slash + 1);
  if (tags.empty() || text.find('@') != std::string_view::npos || last.find(':') != std::string_view::npos)
    return {ref};
  std::vector<Reference> out;
  for (const auto& tag : tags) {
    if (!is_valid_tag(tag)) fail(text, "the image's tag \"" + tag + "\" is not a valid tag");
    Reference r = ref;
    r.tag = tag;
    out.push_back(std::move(r));
  }
  return out;
}

std::string Reference::name() const { return registry + "/" + repository; }

std::string Reference::identifier() const { return digest.empty() ? tag : digest; }

std::string Reference::to_string() const {
  std::string out = name();
  if (!tag.empty()) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest;
  return out;
}

}  // namespace rustimg
