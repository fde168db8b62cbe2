// ImageLocation strings: oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:NAME:TAG].
#include <algorithm>

#include "rustimg/error.hpp"
#include "rustimg/reference.hpp"
#include "rustimg/store.hpp"

namespace rustimg::store {
namespace {

constexpr const char* kForms =
    "expected oci:DIR[:TAG], oci-archive:FILE[:TAG] or docker-archive:FILE[:NAME:TAG]";

[[noreturn]] void bad(std::string_view text, const std::string& why) {
  throw Error(ErrorCode::InvalidArgument, "invalid output \"" + std::string(text) + "\": " + why);
}

// image-spec annotations.md: ref.name is components of alphanumerics
// separated by '-', '.', '_', ':', '@', '+', '/' (and "--").
bool valid_ref_name(std::string_view s) {
  if (s.empty()) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  auto sep = [](char c) { return c == '-' || c == '.' || c == '_' || c == ':' || c == '@' || c == '+' || c == '/'; };
  if (!alnum(s.front()) || !alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return alnum(c) || sep(c); });
}

}  // namespace

std::string ImageLocation::to_string() const {
  const char* prefix = kind == Kind::OciLayout ? "oci:" : kind == Kind::OciArchive ? "oci-archive:" : "docker-archive:";
  return prefix + path.string() + (tag.empty() ? "" : ":" + tag);
}

ImageLocation parse_image_location(std::string_view text) {
  ImageLocation d;
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) bad(text, kForms);
  const std::string_view transport = text.substr(0, colon);
  std::string_view rest = text.substr(colon + 1);
  if (transport == "oci") {
    d.kind = ImageLocation::Kind::OciLayout;
  } else if (transport == "oci-archive") {
    d.kind = ImageLocation::Kind::OciArchive;
  } else if (transport == "docker-archive") {
    d.kind = ImageLocation::Kind::DockerArchive;
  } else {
    bad(text, "unknown transport \"" + std::string(transport) + "\"; " + kForms);
  }
  // Like skopeo: the path ends at the first ':'.
  const auto sep = rest.find(':');
  const std::string_view path = rest.substr(0, sep);
  if (path.empty()) bad(text, "the path is empty; " + std::string(kForms));
  d.path = std::string(path);
  if (sep != std::string_view::npos) d.tag = std::string(rest.substr(sep + 1));

  if (d.kind == ImageLocation::Kind::DockerArchive) {
    if (!d.tag.empty()) {
      const Reference ref = parse_reference(d.tag);  // throws with a precise message
      if (!ref.digest.empty()) bad(text, "a docker-archive name needs a tag, not a digest");
      // Keep the name as written (podman adds localhost/, docker adds docker.io/).
      const auto slash = d.tag.rfind('/');
      const auto tag_colon = d.tag.rfind(':');
      if (tag_colon == std::string::npos || (slash != std::string::npos && tag_colon < slash)) d.tag += ":latest";
    }
  } else {
    if (d.tag.empty()) d.tag = "latest";
    if (!valid_ref_name(d.tag))
      bad(text, "tag \"" + d.tag + "\" is not a valid org.opencontainers.image.ref.name (letters, digits and -._:@+/)");
  }
  return d;
}

}  // namespace rustimg::store
