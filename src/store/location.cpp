// ImageLocation strings: oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:NAME:TAG],
// docker://HOST/REPO:TAG.
#include <algorithm>

#include "rustimg/error.hpp"
#include "rustimg/reference.hpp"
#include "rustimg/store.hpp"

namespace rustimg::store {
namespace {

constexpr const char* kForms =
    "expected oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:NAME:TAG] or docker://HOST/REPO:TAG";

[[noreturn]] void bad(std::string_view role, std::string_view text, const std::string& why) {
  throw Error(ErrorCode::InvalidArgument,
              "invalid " + std::string(role) + " \"" + std::string(text) + "\": " + why);
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
  if (kind == Kind::Registry) return "docker://" + reference;
  const char* prefix = kind == Kind::OciLayout ? "oci:" : kind == Kind::OciArchive ? "oci-archive:" : "docker-archive:";
  return prefix + path.string() + (tag.empty() ? "" : ":" + tag);
}

ImageLocation parse_image_location(std::string_view text, std::string_view role) {
  ImageLocation d;
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) bad(role, text, kForms);
  const std::string_view transport = text.substr(0, colon);
  std::string_view rest = text.substr(colon + 1);
  if (transport == "oci") {
    d.kind = ImageLocation::Kind::OciLayout;
  } else if (transport == "oci-archive") {
    d.kind = ImageLocation::Kind::OciArchive;
  } else if (transport == "docker-archive") {
    d.kind = ImageLocation::Kind::DockerArchive;
  } else if (transport == "docker") {
    // docker://HOST/REPO:TAG (or @DIGEST), as skopeo and containers/image name it.
    if (rest.substr(0, 2) != "//") bad(role, text, "a registry is written docker://HOST/REPO:TAG; " + std::string(kForms));
    const std::string_view ref = rest.substr(2);
    if (ref.empty()) bad(role, text, "the image reference is empty; " + std::string(kForms));
    // The registry is named, never implied (docker.io): "x/y" is not "docker.io/x/y" here.
    const std::string_view host = ref.substr(0, ref.find('/'));
    if (host.size() == ref.size() ||
        (host.find_first_of(".:") == std::string_view::npos && host != "localhost"))
      bad(role, text, "name the registry, e.g. docker://docker.io/" + std::string(ref) + "; " + kForms);
    try {
      parse_reference(ref);
    } catch (const Error& e) {
      bad(role, text, e.what());
    }
    // The tag is named too, never implied (latest).
    if (ref.substr(ref.rfind('/') + 1).find_first_of(":@") == std::string_view::npos)
      bad(role, text, "name the tag (or digest): docker://" + std::string(ref) + ":TAG; " + kForms);
    d.kind = ImageLocation::Kind::Registry;
    d.reference = std::string(ref);
    return d;
  } else {
    bad(role, text, "unknown transport \"" + std::string(transport) + "\"; " + kForms);
  }
  // Like skopeo: the path ends at the first ':'.
  const auto sep = rest.find(':');
  const std::string_view path = rest.substr(0, sep);
  if (path.empty()) bad(role, text, "the path is empty; " + std::string(kForms));
  d.path = std::string(path);
  if (sep != std::string_view::npos) d.tag = std::string(rest.substr(sep + 1));

  if (d.kind == ImageLocation::Kind::DockerArchive) {
    if (!d.tag.empty()) {
      const Reference ref = parse_reference(d.tag);  // throws with a precise message
      if (!ref.digest.empty()) bad(role, text, "a docker-archive name needs a tag, not a digest");
      // Keep the name as written (podman adds localhost/, docker adds docker.io/).
      const auto slash = d.tag.rfind('/');
      const auto tag_colon = d.tag.rfind(':');
      if (tag_colon == std::string::npos || (slash != std::string::npos && tag_colon < slash)) d.tag += ":latest";
    }
  } else {
    if (d.tag.empty()) d.tag = "latest";
    if (!valid_ref_name(d.tag))
      bad(role, text, "tag \"" + d.tag + "\" is not a valid org.opencontainers.image.ref.name (letters, digits and -._:@+/)");
  }
  return d;
}

}  // namespace rustimg::store
