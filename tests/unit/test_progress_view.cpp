// The CLI's progress renderer (src/cli/progress_view.cpp) with a fake clock:
// in-place lines with bytes and rate on a terminal, start/finish lines
// elsewhere, only cargo's lines when quiet; and the image summary behind --json.
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "expect_error.hpp"
#include "progress_view.hpp"
#include "rustimg/error.hpp"
#include "rustimg/oci.hpp"
#include "rustimg/transfer.hpp"

using rustimg::ProgressEvent;
using rustimg::cli::ProgressView;

namespace {

constexpr std::uint64_t kMiB = 1u << 20;
const std::string kDigest = "sha256:" + std::string(64, 'a');

/// A ProgressView writing to memory, on a clock the test moves.
struct Harness {
  char* buf = nullptr;
  std::size_t len = 0;
  std::FILE* f = open_memstream(&buf, &len);
  double t = 100.0;
  std::optional<ProgressView> view;

  explicit Harness(bool tty, bool quiet = false) {
    view.emplace(ProgressView::Options{f, tty, quiet, "rustimg push", [this] { return t; }});
  }
  ~Harness() {
    view.reset();
    std::fclose(f);
    std::free(buf);
  }
  std::string text() {
    std::fflush(f);
    return std::string(buf, len);
  }
  void event(std::string stage, std::string digest, std::uint64_t done, std::uint64_t total, std::string msg = "") {
    view->show(ProgressEvent{std::move(stage), std::move(msg), std::move(digest), done, total});
  }
  /// A 4 MiB upload over 2 s: checking, 1 MiB at t+1, 2 MiB at t+1.05
  /// (too soon to redraw), 3 MiB at t+1.5, done at t+2.
  void upload() {
    event("checking", kDigest, 0, 4 * kMiB);
    event("uploading", kDigest, 0, 4 * kMiB);
    t += 1.0;
    event("uploading", kDigest, 1 * kMiB, 4 * kMiB);
    t += 0.05;
    event("uploading", kDigest, 2 * kMiB, 4 * kMiB);
    t += 0.45;
    event("uploading", kDigest, 3 * kMiB, 4 * kMiB);
    t += 0.5;
    event("done", kDigest, 4 * kMiB, 4 * kMiB);
  }
};

std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(progress_view)

BOOST_AUTO_TEST_CASE(terminal_updates_one_line_in_place_with_bytes_and_rate) {
  Harness h(true);
  h.upload();
  const std::string out = h.text();
  const std::string d = kDigest.substr(0, 19);
  // Drawn in place: start, 1 MiB after 1 s, 3 MiB after 1.5 s; 2 MiB came
  // 50 ms after a redraw and is not drawn.
  BOOST_TEST(out.find("\r\x1b[Krustimg push: uploading " + d + " 0 B / 4.0 MiB") != std::string::npos);
  BOOST_TEST(out.find("\r\x1b[Krustimg push: uploading " + d + " 1.0 MiB / 4.0 MiB, 1.0 MiB/s") != std::string::npos);
  BOOST_TEST(out.find("2.0 MiB / 4.0 MiB") == std::string::npos);
  BOOST_TEST(out.find("\r\x1b[Krustimg push: uploading " + d + " 3.0 MiB / 4.0 MiB, 2.0 MiB/s") != std::string::npos);
  // The finished transfer replaces the line for good: one newline in all.
  BOOST_TEST(out.find("\r\x1b[Krustimg push: uploaded " + d + " 4.0 MiB, 2.0 MiB/s\n") != std::string::npos);
  BOOST_TEST(count(out, "\n") == 1u);
}

BOOST_AUTO_TEST_CASE(plain_lines_when_not_a_terminal) {
  Harness h(false);
  h.upload();
  const std::string d = kDigest.substr(0, 19);
  BOOST_TEST(h.text() == "rustimg push: uploading " + d + " (4.0 MiB)\n" + "rustimg push: uploaded " + d +
                             " 4.0 MiB, 2.0 MiB/s\n");
}

BOOST_AUTO_TEST_CASE(quiet_prints_only_cargos_lines) {
  Harness h(true, true);
  h.upload();
  h.event("build", "", 0, 0, "building app (bin app) for x86_64-unknown-linux-gnu");
  h.view->note("wrote oci:out");
  BOOST_TEST(h.text().empty());
  // cargo runs with --quiet then: what it prints is its errors, kept.
  h.event("cargo", "", 0, 0, "error[E0425]: cannot find value `nope` in this scope");
  BOOST_TEST(h.text() == "error[E0425]: cannot find value `nope` in this scope\n");
}

BOOST_AUTO_TEST_CASE(layers_streamed_and_skipped_blobs) {
  Harness h(false);
  // A layer being written, then uploaded while written (no digest yet).
  h.event("layer", "", 1 * kMiB, 0, "linux/amd64 app: 1 MiB so far");
  h.event("layer", "", 2 * kMiB, 0, "linux/amd64 app: 2 MiB so far");
  h.event("uploading", "", 1 * kMiB, 0);
  h.t += 1;
  h.event("uploading", "", 2 * kMiB, 0);
  h.event("done", kDigest, 2 * kMiB, 2 * kMiB);
  h.event("layer", kDigest, 2 * kMiB, 2 * kMiB, "linux/amd64 app /app: sha256:aaaa (2097152 bytes)");
  h.event("skipped", "sha256:" + std::string(64, 'b'), 10, 10);
  h.event("cargo", "", 0, 0, "   Compiling app v0.1.0");
  const std::string out = h.text();
  BOOST_TEST(out.find("\r") == std::string::npos);
  BOOST_TEST(count(out, "layer linux/amd64 app (") == 0u);
  BOOST_TEST(count(out, "rustimg push: layer linux/amd64 app\n") == 1u);  // one start line
  BOOST_TEST(count(out, "uploading a layer\n") == 1u);
  BOOST_TEST(out.find("uploaded " + kDigest.substr(0, 19) + " 2.0 MiB, 2.0 MiB/s\n") != std::string::npos);
  BOOST_TEST(out.find("[layer] linux/amd64 app /app: sha256:aaaa (2097152 bytes), 2.0 MiB/s\n") != std::string::npos);
  BOOST_TEST(out.find("sha256:bbbbbbbbbbbb 10 B already there\n") != std::string::npos);
  BOOST_TEST(out.find("\n   Compiling app v0.1.0\n") != std::string::npos);  // cargo's line as cargo wrote it
}

BOOST_AUTO_TEST_CASE(finish_erases_the_line_being_updated) {
  Harness h(true);
  h.event("downloading", kDigest, 1, 10);
  h.view->finish();
  const std::string out = h.text();
  BOOST_TEST(out.substr(out.size() - 4) == "\r\x1b[K");
}

BOOST_AUTO_TEST_CASE(human_bytes) {
  BOOST_TEST(rustimg::cli::human_bytes(512) == "512 B");
  BOOST_TEST(rustimg::cli::human_bytes(1536) == "1.5 KiB");
  BOOST_TEST(rustimg::cli::human_bytes(30 * kMiB) == "30.0 MiB");
  BOOST_TEST(rustimg::cli::human_bytes(3 * kMiB * 1024) == "3.0 GiB");
}

BOOST_AUTO_TEST_CASE(image_summary_of_an_index) {
  namespace oci = rustimg::oci;
  std::map<std::string, std::string> blobs;
  auto put = [&](const nlohmann::json& doc, const char* type) {
    oci::Blob b = oci::make_blob(doc, type);
    blobs[b.descriptor.digest] = b.bytes;
    return b.descriptor;
  };
  const oci::Descriptor config = put({{"architecture", "arm64"}, {"os", "linux"}, {"rootfs", {{"type", "layers"}, {"diff_ids", nlohmann::json::array()}}}},
                                     oci::media_type::kOciConfig);
  oci::Manifest m;
  m.config = config;
  m.layers.push_back({oci::media_type::kOciLayerGzip, "sha256:" + std::string(64, 'c'), 42, {}, {}, {}});
  const oci::Descriptor manifest = put(m.to_json(), oci::media_type::kOciManifest);
  auto fetch = [&](const oci::Descriptor& d) { return blobs.at(d.digest); };

  // A lone manifest: its platform comes from the config.
  const auto lone = rustimg::transfer::to_json(rustimg::transfer::summarize(manifest, fetch));
  BOOST_TEST(lone["digest"] == manifest.digest);
  BOOST_TEST(lone["media_type"] == oci::media_type::kOciManifest);
  BOOST_TEST(lone["manifests"].size() == 1u);
  BOOST_TEST(lone["manifests"][0]["platform"] == "linux/arm64");
  BOOST_TEST(lone["manifests"][0]["config"]["digest"] == config.digest);
  BOOST_TEST(lone["manifests"][0]["layers"][0]["size"] == 42);
  BOOST_TEST(lone["manifests"][0]["layers"][0]["media_type"] == oci::media_type::kOciLayerGzip);

  // An index: the platform comes from its entry.
  oci::Index index;
  oci::Descriptor entry = manifest;
  entry.platform = rustimg::Platform{"linux", "amd64", ""};
  index.manifests.push_back(entry);
  const oci::Descriptor root = put(index.to_json(), oci::media_type::kOciIndex);
  const auto j = rustimg::transfer::to_json(rustimg::transfer::summarize(root, fetch));
  BOOST_TEST(j["digest"] == root.digest);
  BOOST_TEST(j["size"] == root.size);
  BOOST_TEST(j["media_type"] == oci::media_type::kOciIndex);
  BOOST_TEST(j["manifests"][0]["digest"] == manifest.digest);
  BOOST_TEST(j["manifests"][0]["platform"] == "linux/amd64");
  BOOST_TEST(j["manifests"][0]["size"] == manifest.size);
}

BOOST_AUTO_TEST_CASE(image_summary_refuses_an_oversized_document_before_fetching_it) {
  namespace oci = rustimg::oci;
  const std::uint64_t huge = oci::kMaxManifestBytes + 1;
  std::vector<std::string> fetched;
  // A fetch that would hand back whatever a descriptor claims (an oversized
  // blob in a local layout); summarize must not call it for such a descriptor.
  auto fetch = [&](const oci::Descriptor& d) {
    fetched.push_back(d.digest);
    return std::string(static_cast<std::size_t>(d.size), ' ');
  };
  const oci::Descriptor big{oci::media_type::kOciManifest, "sha256:" + std::string(64, 'b'),
                            static_cast<std::int64_t>(huge), {}, {}, {}};
  rustimg::test::expect_error([&] { rustimg::transfer::summarize(big, fetch); },
                              rustimg::ErrorCode::InvalidArgument,
                              "the image " + big.digest + " has " + std::to_string(huge) + " bytes, more than the 4 MiB");
  BOOST_TEST(fetched.empty());

  // An index naming such a blob as a manifest: the index is read, the entry is not.
  oci::Index index;
  index.manifests.push_back(big);
  const oci::Blob root = oci::make_blob(index.to_json(), oci::media_type::kOciIndex);
  auto index_fetch = [&](const oci::Descriptor& d) {
    if (d.digest == root.descriptor.digest) return root.bytes;
    return fetch(d);
  };
  rustimg::test::expect_error([&] { rustimg::transfer::summarize(root.descriptor, index_fetch); },
                              rustimg::ErrorCode::InvalidArgument, "the manifest " + big.digest + " has ");
  BOOST_TEST(fetched.empty());
}

BOOST_AUTO_TEST_SUITE_END()
