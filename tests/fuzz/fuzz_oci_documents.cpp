// libFuzzer target for the JSON documents that come from registries and
// configuration files: an image manifest and its config as a base image
// (input: "<manifest>\n--\n<config>"), the descriptors of an index, a
// registry's error body and a docker config.json. A base that parses is
// built upon, which copies and rewrites its config document.
#include "fuzz_support.hpp"
#include "rustimg/image.hpp"
#include "rustimg/json.hpp"
#include "rustimg/oci.hpp"
#include "rustimg/registry.hpp"
#include "rustimg/spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace rustimg::fuzz;
  namespace reg = rustimg::registry;
  const std::string_view in = text(data, size);
  const std::vector<std::string> docs = documents(in);
  const std::string& manifest = docs[0];
  const std::string config = docs.size() > 1 ? docs[1] : std::string();

  refusable([&] {
    const rustimg::image::BaseImage base = rustimg::image::parse_base_image(
        "registry.example/base:1", rustimg::oci::sha256_digest(manifest), manifest, config);
    check(base.layers.size() == base.diff_ids.size(), "a base has one diff_id per layer");
    rustimg::Spec spec;
    spec.bin = "app";
    const rustimg::image::PlatformImage img = rustimg::image::assemble_on_base(
        base, spec, rustimg::parse_platform("linux/amd64"), "app", {}, rustimg::image::ImageOptions{});
    check(rustimg::parse_json(img.config.bytes, "config").is_object(), "the assembled config is a JSON object");
  });
  refusable([&] {
    const nlohmann::json doc = rustimg::parse_json(manifest, "index");
    if (!doc.is_object()) return;
    const auto m = doc.find("manifests");
    if (m == doc.end() || !m->is_array()) return;
    for (const auto& entry : *m) refusable([&] {
        const rustimg::oci::Descriptor d = rustimg::oci::Descriptor::from_json(entry);
        check(rustimg::oci::Descriptor::from_json(d.to_json()).digest == d.digest, "a descriptor survives to_json()");
      });
  });
  refusable([&] {
    for (const auto& e : reg::parse_error_body(in)) static_cast<void>(e.code + e.message + e.detail);
  });
  refusable([&] { static_cast<void>(reg::parse_auth_config(in, "config.json")); });
  return 0;
}
