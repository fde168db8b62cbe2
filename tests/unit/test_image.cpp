// Image documents: config fields, manifest, index, canonical JSON, digests.
#include <boost/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include "rustimg/error.hpp"
#include "rustimg/image.hpp"
#include "rustimg/oci.hpp"
#include "rustimg/plan.hpp"

using nlohmann::json;
using rustimg::image::AppliedLayer;
using rustimg::image::ConfigOverrides;
using rustimg::image::ImageOptions;
using rustimg::pipeline::config_overrides;

namespace {

rustimg::Platform amd64() { return rustimg::parse_platform("linux/amd64"); }

std::vector<AppliedLayer> two_layers() {
  AppliedLayer base, app;
  base.diff_id = "sha256:" + std::string(64, 'a');
  base.descriptor = {"application/vnd.oci.image.layer.v1.tar+gzip", "sha256:" + std::string(64, 'b'), 10, {}, {}, {}};
  base.created_by = "base";
  app.diff_id = "sha256:" + std::string(64, 'c');
  app.descriptor = {"application/vnd.oci.image.layer.v1.tar+gzip", "sha256:" + std::string(64, 'd'), 20, {}, {}, {}};
  app.created_by = "app";
  return {base, app};
}

rustimg::Spec sample_spec() {
  rustimg::Spec s;
  s.bin = "hello";
  s.user = "65532:65532";
  s.workdir = "/srv";
  s.env = {{"RUST_LOG", "info"}, {"APP_MODE", "prod"}};
  s.cmd = {"--serve"};
  s.ports = {"8080/tcp", "53/udp"};
  s.labels = {{"team", "core"}};
  s.annotations = {{"org.opencontainers.image.source", "https://example.com/repo"}};
  s.stop_signal = "SIGTERM";
  return s;
}

/// The sample spec's config values (a built-in base: every value).
ConfigOverrides sample() { return config_overrides(sample_spec()); }

/// Replaces every time-carrying field by a marker.
json without_times(json j) {
  if (j.is_object()) {
    for (auto& [k, v] : j.items()) {
      if (k == "created" || k == "org.opencontainers.image.created") v = "TIME";
      else v = without_times(v);
    }
  } else if (j.is_array()) {
    for (auto& v : j) v = without_times(v);
  }
  return j;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(image)

BOOST_AUTO_TEST_CASE(digests_and_timestamps) {
  BOOST_TEST(rustimg::oci::sha256_digest("") ==
             "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  BOOST_TEST(rustimg::oci::sha256_digest("{}") ==
             "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
  BOOST_TEST(rustimg::oci::rfc3339(0) == "1970-01-01T00:00:00Z");
  BOOST_TEST(rustimg::oci::rfc3339(1700000000) == "2023-11-14T22:13:20Z");
  BOOST_TEST(rustimg::oci::canonical_json(json{{"b", 1}, {"a", {{"d", 2}, {"c", "x"}}}}) ==
             R"({"a":{"c":"x","d":2},"b":1})");
  BOOST_CHECK_THROW(rustimg::oci::digest_hex("sha256:ABC"), rustimg::Error);
}

BOOST_AUTO_TEST_CASE(config_carries_the_spec) {
  const auto cfg = rustimg::image::make_config(sample(), amd64(), "ignored", two_layers(),
                                               ImageOptions{rustimg::oci::Format::Oci, 0, true})
                       .to_json();
  BOOST_TEST(cfg["architecture"] == "amd64");
  BOOST_TEST(cfg["os"] == "linux");
  BOOST_TEST(!cfg.contains("variant"));
  BOOST_TEST(cfg["created"] == "1970-01-01T00:00:00Z");
  const json& c = cfg["config"];
  BOOST_TEST(c["User"] == "65532:65532");
  BOOST_TEST(c["WorkingDir"] == "/srv");
  BOOST_TEST(c["Entrypoint"] == json::array({"/usr/local/bin/hello"}));
  BOOST_TEST(c["Cmd"] == json::array({"--serve"}));
  BOOST_TEST(c["Env"] == json::array({"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                      "APP_MODE=prod", "RUST_LOG=info",
                                      "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"}));
  BOOST_TEST(c["ExposedPorts"] == json({{"53/udp", json::object()}, {"8080/tcp", json::object()}}));
  BOOST_TEST(c["Labels"]["team"] == "core");
  BOOST_TEST(c["Labels"]["org.opencontainers.image.source"] == "https://example.com/repo");
  BOOST_TEST(c["StopSignal"] == "SIGTERM");
  BOOST_TEST(!c.contains("Healthcheck"));
  BOOST_TEST(cfg["rootfs"]["type"] == "layers");
  BOOST_TEST(cfg["rootfs"]["diff_ids"] ==
             json::array({"sha256:" + std::string(64, 'a'), "sha256:" + std::string(64, 'c')}));
  BOOST_TEST(cfg["history"].size() == 2u);
  BOOST_TEST(cfg["history"][1]["created_by"] == "app");
}

BOOST_AUTO_TEST_CASE(no_certificates_no_ssl_cert_file_and_spec_path_wins) {
  rustimg::Spec s = sample_spec();
  s.env["PATH"] = "/app";
  const auto cfg =
      rustimg::image::make_config(config_overrides(s), amd64(), "x", two_layers(), ImageOptions{}).to_json();
  for (const auto& e : cfg["config"]["Env"]) BOOST_TEST(e.get<std::string>().rfind("SSL_CERT_FILE=", 0) != 0u);
  BOOST_TEST(cfg["config"]["Env"][0] == "PATH=/app");
}

BOOST_AUTO_TEST_CASE(healthcheck_and_variant) {
  rustimg::Spec s = sample_spec();
  s.healthcheck = rustimg::oci::HealthConfig{{"CMD", "/usr/local/bin/hello", "--health"}, 30'000'000'000, 0, 0, 3};
  const auto cfg =
      rustimg::image::make_config(config_overrides(s), rustimg::parse_platform("linux/arm64"), "x", two_layers(),
                                  ImageOptions{})
          .to_json();
  BOOST_TEST(cfg["variant"] == "v8");
  BOOST_TEST(cfg["config"]["Healthcheck"]["Test"] == json::array({"CMD", "/usr/local/bin/hello", "--health"}));
  BOOST_TEST(cfg["config"]["Healthcheck"]["Interval"] == 30'000'000'000);
  BOOST_TEST(cfg["config"]["Healthcheck"]["Retries"] == 3);
  BOOST_TEST(!cfg["config"]["Healthcheck"].contains("Timeout"));
}

BOOST_AUTO_TEST_CASE(entrypoint_defaults_and_binary_path) {
  ConfigOverrides s;
  BOOST_TEST(rustimg::image::entrypoint(s, "tool") == std::vector<std::string>{"/usr/local/bin/tool"});
  s.bin = "server";
  BOOST_TEST(rustimg::image::entrypoint(s, "tool") == std::vector<std::string>{"/usr/local/bin/server"});
  s.entrypoint = {"/app/server", "--flag"};
  BOOST_TEST(rustimg::image::binary_path(rustimg::image::entrypoint(s, "tool")) == "/app/server");
  BOOST_TEST(rustimg::image::binary_path({"server"}) == "/usr/local/bin/server");
  BOOST_CHECK_THROW(rustimg::image::binary_path({}), rustimg::Error);
}

BOOST_AUTO_TEST_CASE(manifest_oci_and_docker) {
  const auto img = rustimg::image::assemble(sample(), amd64(), "x", two_layers(), ImageOptions{});
  BOOST_TEST(img.manifest.descriptor.digest == rustimg::oci::sha256_digest(img.manifest.bytes));
  BOOST_TEST(img.config.descriptor.digest == rustimg::oci::sha256_digest(img.config.bytes));
  BOOST_TEST(img.manifest.descriptor.platform.has_value());
  const json m = json::parse(img.manifest.bytes);
  BOOST_TEST(rustimg::oci::canonical_json(m) == img.manifest.bytes);  // hashed as written, canonically
  BOOST_TEST(m["schemaVersion"] == 2);
  BOOST_TEST(m["mediaType"] == "application/vnd.oci.image.manifest.v1+json");
  BOOST_TEST(m["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json");
  BOOST_TEST(m["config"]["digest"] == img.config.descriptor.digest);
  BOOST_TEST(m["config"]["size"] == img.config.bytes.size());
  BOOST_TEST(m["layers"].size() == 2u);
  BOOST_TEST(m["annotations"]["org.opencontainers.image.created"] == "1970-01-01T00:00:00Z");
  BOOST_TEST(m["annotations"]["org.opencontainers.image.title"] == "hello");
  BOOST_TEST(m["annotations"]["org.opencontainers.image.source"] == "https://example.com/repo");

  const auto d = rustimg::image::assemble(sample(), amd64(), "x", two_layers(),
                                          ImageOptions{rustimg::oci::Format::Docker, 0, false});
  const json dm = json::parse(d.manifest.bytes);
  BOOST_TEST(dm["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json");
  BOOST_TEST(dm["config"]["mediaType"] == "application/vnd.docker.container.image.v1+json");
  BOOST_TEST(!dm.contains("annotations"));

  BOOST_CHECK_THROW(rustimg::image::assemble(sample(), amd64(), "x", {}, ImageOptions{}), rustimg::Error);
}

BOOST_AUTO_TEST_CASE(created_changes_only_time_fields) {
  const auto a = rustimg::image::assemble(sample(), amd64(), "x", two_layers(), ImageOptions{});
  const auto b = rustimg::image::assemble(sample(), amd64(), "x", two_layers(),
                                          ImageOptions{rustimg::oci::Format::Oci, 1700000000, false});
  BOOST_TEST(a.config.bytes != b.config.bytes);
  BOOST_TEST(json::parse(b.config.bytes)["created"] == "2023-11-14T22:13:20Z");
  BOOST_TEST(without_times(json::parse(a.config.bytes)) == without_times(json::parse(b.config.bytes)));
  json ma = json::parse(a.manifest.bytes), mb = json::parse(b.manifest.bytes);
  ma["config"].erase("digest");
  mb["config"].erase("digest");
  BOOST_TEST(without_times(ma) == without_times(mb));
  // Same inputs, same bytes.
  const auto a2 = rustimg::image::assemble(sample(), amd64(), "x", two_layers(), ImageOptions{});
  BOOST_TEST(a2.manifest.bytes == a.manifest.bytes);
}

BOOST_AUTO_TEST_CASE(index_over_platforms) {
  const auto a = rustimg::image::assemble(sample(), amd64(), "x", two_layers(), ImageOptions{});
  const auto b =
      rustimg::image::assemble(sample(), rustimg::parse_platform("linux/arm/v7"), "x", two_layers(), ImageOptions{});
  const auto idx = rustimg::image::assemble_index({a.manifest.descriptor, b.manifest.descriptor},
                                                  {{"org.opencontainers.image.created", "1970-01-01T00:00:00Z"}},
                                                  rustimg::oci::Format::Oci);
  const json j = json::parse(idx.bytes);
  BOOST_TEST(idx.descriptor.media_type == "application/vnd.oci.image.index.v1+json");
  BOOST_TEST(j["manifests"].size() == 2u);
  BOOST_TEST(j["manifests"][0]["platform"] == json({{"architecture", "amd64"}, {"os", "linux"}}));
  BOOST_TEST(j["manifests"][1]["platform"] ==
             json({{"architecture", "arm"}, {"os", "linux"}, {"variant", "v7"}}));
  BOOST_TEST(j["manifests"][0]["digest"] == a.manifest.descriptor.digest);

  const auto round = rustimg::oci::Descriptor::from_json(j["manifests"][1]);
  BOOST_TEST(round.digest == b.manifest.descriptor.digest);
  BOOST_TEST(round.platform->variant == "v7");
  BOOST_CHECK_THROW(rustimg::oci::Descriptor::from_json(json{{"mediaType", "x"}}), rustimg::Error);
}

BOOST_AUTO_TEST_SUITE_END()
