// libFuzzer target for the JSON documents that come from registries and
// configuration files: an image manifest and its config as a base image
// (input: "<manifest>\n--\n<config>", more documents after further "--"
// lines), the OCI readers (parse_document/manifest/index/config and the
// walker over the given documents), the descriptors of an index, a
// registry's error body and a docker config.json. A base that parses is
// built upon, which copies and rewrites its config document.
#include "fuzz_support.hpp"
#include "rustimg/image.hpp"
#include "rustimg/json.hpp"
#include "rustimg/oci.hpp"
#include "rustimg/registry.hpp"

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
    rustimg::image::ConfigOverrides overrides;
    overrides.bin = "app";
    // The build's rules over the base's document (as pipeline::build_image applies them).
    const nlohmann::json built = rustimg::image::apply_build_config(
        base.config, overrides, rustimg::parse_platform("linux/amd64"), "app", rustimg::image::ImageOptions{}, true);
    check(rustimg::parse_json(built.dump(), "config").is_object(), "the built config is a JSON object");
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
  // The OCI readers: what they accept survives to_json() and a second read,
  // and the walker over the documents given (found by digest) terminates.
  namespace oci = rustimg::oci;
  for (const oci::ParseMode mode : {oci::ParseMode::Strict, oci::ParseMode::Lenient}) {
    refusable([&] {
      const oci::Document doc = oci::parse_document(manifest, "", mode, "document");
      const nlohmann::json written =
          doc.is_index() ? doc.index().to_json() : doc.manifest().to_json();
      const oci::Document again = oci::parse_document(oci::canonical_json(written), "", mode, "written document");
      const nlohmann::json rewritten =
          again.is_index() ? again.index().to_json() : again.manifest().to_json();
      check(oci::canonical_json(rewritten) == oci::canonical_json(written), "a document survives to_json()");
    });
    refusable([&] { static_cast<void>(oci::parse_manifest(manifest, mode, "manifest")); });
    // An existing index.json (any bytes in a layout) updated with an image and an artifact.
    refusable([&] {
      const oci::Descriptor image{oci::media_type::kOciManifest, oci::sha256_digest("image"), 5, {}, {}, {}};
      const oci::Descriptor sbom{oci::media_type::kOciManifest, oci::sha256_digest("sbom"), 4,
                                 {{oci::annotation::kRefName, oci::referrer_tag(image.digest, "sbom")}}, {},
                                 "application/spdx+json"};
      const std::string index = oci::layout_index_with(manifest, image, "v1", "index.json", {sbom});
      check(oci::parse_index(index, oci::ParseMode::Lenient, "updated index").manifests.size() >= 2,
            "an updated index.json lists the image and the artifact");
    });
    refusable([&] { static_cast<void>(oci::parse_index(manifest, mode, "index")); });
    refusable([&] {
      const oci::ImageConfig c = oci::parse_config(config, mode, "config");
      const std::string written = oci::canonical_json(c.to_json());
      const oci::ImageConfig again = oci::parse_config(written, oci::ParseMode::Lenient, "written config");
      check(oci::canonical_json(again.to_json()) == written, "a config survives to_json()");
    });
    refusable([&] {
      const oci::Blob top = oci::make_blob(rustimg::parse_json(manifest, "top"), "");
      oci::WalkOptions options;
      options.mode = mode;
      const oci::FetchDocument fetch = [&](const oci::Descriptor& d) -> std::string {
        if (d.digest == top.descriptor.digest) return top.bytes;
        for (const auto& doc : docs)
          if (oci::sha256_digest(doc) == d.digest) return doc;
        throw rustimg::Error(rustimg::ErrorCode::NotFound, "no document " + d.digest);
      };
      static_cast<void>(oci::walk(top.descriptor, fetch, options, "fuzzed image"));
    });
  }
  refusable([&] {
    for (const auto& e : reg::parse_error_body(in)) static_cast<void>(e.code + e.message + e.detail);
  });
  refusable([&] { static_cast<void>(reg::parse_auth_config(in, "config.json")); });
  return 0;
}
