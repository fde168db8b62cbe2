// Blob store, destinations, OCI layout updates and archives.
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "rustimg/error.hpp"
#include "rustimg/image.hpp"
#include "rustimg/layer.hpp"
#include "rustimg/store.hpp"
#include "expect_error.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using rustimg::store::BlobStore;
using rustimg::store::ImageLocation;
using rustimg::test::has_temp_files;
using rustimg::test::read_file;
using rustimg::test::read_tar;
using rustimg::test::ScratchDir;

namespace {

/// Builds a one-layer image whose file holds `content`; returns its manifest.
rustimg::oci::Descriptor make_image(BlobStore& blobs, const std::string& content) {
  rustimg::layer::FileTree tree;
  tree.add_content("/app", content, 0755);
  auto w = blobs.begin_blob();
  const auto l = rustimg::layer::write_layer(tree, {}, *w);
  w->commit(l.descriptor.digest);
  rustimg::image::ConfigOverrides config;
  config.bin = "app";
  const auto img = rustimg::image::assemble(config, rustimg::parse_platform("linux/amd64"), "app",
                                            {{l.descriptor, l.diff_id, "app"}}, {});
  blobs.put(img.config);
  blobs.put(img.manifest);
  auto d = img.manifest.descriptor;
  d.platform.reset();
  return d;
}

json index_of(const fs::path& layout) { return json::parse(read_file(layout / "index.json")); }

std::map<std::string, std::string> tags_of(const fs::path& layout) {
  std::map<std::string, std::string> out;
  const json index = index_of(layout);
  for (const auto& m : index["manifests"])
    out[m["annotations"]["org.opencontainers.image.ref.name"]] = m["digest"];
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(store)

BOOST_AUTO_TEST_CASE(destinations) {
  auto d = rustimg::store::parse_image_location("oci:out/hello");
  BOOST_TEST(static_cast<int>(d.kind) == static_cast<int>(ImageLocation::Kind::OciLayout));
  BOOST_TEST(d.path == "out/hello");
  BOOST_TEST(d.tag == "latest");
  d = rustimg::store::parse_image_location("oci:out/hello:v1.2");
  BOOST_TEST(d.tag == "v1.2");
  d = rustimg::store::parse_image_location("oci-archive:img.tar:test/hello:v2");
  BOOST_TEST(static_cast<int>(d.kind) == static_cast<int>(ImageLocation::Kind::OciArchive));
  BOOST_TEST(d.path == "img.tar");
  BOOST_TEST(d.tag == "test/hello:v2");
  d = rustimg::store::parse_image_location("docker-archive:img.tar:localhost:5000/test/hello:v1");
  BOOST_TEST(static_cast<int>(d.kind) == static_cast<int>(ImageLocation::Kind::DockerArchive));
  BOOST_TEST(d.tag == "localhost:5000/test/hello:v1");
  BOOST_TEST(rustimg::store::parse_image_location("docker-archive:img.tar:test/hello").tag == "test/hello:latest");
  BOOST_TEST(rustimg::store::parse_image_location("docker-archive:img.tar").tag.empty());
  BOOST_CHECK_THROW(rustimg::store::parse_image_location("docker://x/y"), rustimg::Error);
  BOOST_CHECK_THROW(rustimg::store::parse_image_location("out/hello"), rustimg::Error);
  BOOST_CHECK_THROW(rustimg::store::parse_image_location("oci::latest"), rustimg::Error);
  BOOST_CHECK_THROW(rustimg::store::parse_image_location("oci:dir:bad tag"), rustimg::Error);
  BOOST_CHECK_THROW(rustimg::store::parse_image_location("docker-archive:f.tar:UPPER/case:v1"), rustimg::Error);
}

BOOST_AUTO_TEST_CASE(registry_destinations) {
  const auto d = rustimg::store::parse_image_location("docker://127.0.0.1:5000/test/hello:v1");
  BOOST_TEST(static_cast<int>(d.kind) == static_cast<int>(ImageLocation::Kind::Registry));
  BOOST_TEST(d.reference == "127.0.0.1:5000/test/hello:v1");
  BOOST_TEST(d.path.empty());
  BOOST_TEST(d.to_string() == "docker://127.0.0.1:5000/test/hello:v1");
  BOOST_TEST(rustimg::store::parse_image_location("docker://localhost/a@sha256:" + std::string(64, 'a')).reference ==
             "localhost/a@sha256:" + std::string(64, 'a'));
  using rustimg::ErrorCode;
  using rustimg::test::expect_error;
  const auto parse = [](const char* text) { return [text] { rustimg::store::parse_image_location(text); }; };
  expect_error(parse("docker://"), ErrorCode::InvalidArgument, "\"docker://\"");
  expect_error(parse("docker:host/repo"), ErrorCode::InvalidArgument, "docker://HOST/REPO");
  expect_error(parse("docker://hello"), ErrorCode::InvalidArgument, "name the registry");
  expect_error(parse("docker://example.com/x"), ErrorCode::InvalidArgument, "name the tag");
  expect_error(parse("docker://reg.example/UPPER:v1"), ErrorCode::InvalidArgument, "docker://reg.example/UPPER:v1");
  // Nothing to check on disk; no sink writes a registry, no local image reads one.
  BOOST_CHECK_NO_THROW(rustimg::store::check_output_location(d));
  ScratchDir dir;
  const BlobStore blobs(dir.path() / "blobs");
  expect_error([&] { rustimg::store::publish(d, blobs, {}); }, ErrorCode::InvalidArgument, "push");
  expect_error([&] { rustimg::store::StoredImage image(d); }, ErrorCode::InvalidArgument, "pull");
}

BOOST_AUTO_TEST_CASE(blob_store_is_content_addressed_and_atomic) {
  ScratchDir dir;
  BlobStore blobs(dir.path());
  const auto blob = rustimg::oci::make_blob(json{{"a", 1}}, "application/json");
  blobs.put(blob);
  BOOST_TEST(blobs.contains(blob.descriptor.digest));
  BOOST_TEST(blobs.read(blob.descriptor.digest) == R"({"a":1})");
  BOOST_TEST(blobs.path_of(blob.descriptor.digest) == dir / ("blobs/sha256/" + blob.descriptor.digest.substr(7)));
  {
    auto w = blobs.begin_blob();
    w->write(std::string_view("abandoned"));
  }  // never committed
  BOOST_TEST(!has_temp_files(dir.path()));
  BOOST_CHECK_THROW(blobs.read("sha256:" + std::string(64, '0')), rustimg::Error);
}

BOOST_AUTO_TEST_CASE(blob_store_reads_documents_bounded) {
  ScratchDir dir;
  BlobStore blobs(dir.path());
  const auto blob = rustimg::oci::make_blob(json{{"c", 3}}, "application/json");
  blobs.put(blob);
  BOOST_TEST(blobs.read_document(blob.descriptor) == blob.bytes);
  // A descriptor claiming more than the limit is refused before the blob is opened (it is not even there).
  rustimg::oci::Descriptor big = blob.descriptor;
  big.digest = "sha256:" + std::string(64, '2');
  big.size = 5 << 20;
  rustimg::test::expect_error([&] { blobs.read_document(big); }, rustimg::ErrorCode::InvalidArgument,
                              "document " + big.digest + " has 5242880 bytes, more than the 4 MiB");
  // A stored file larger than the limit is refused whatever its descriptor claims.
  { std::ofstream(blobs.path_of(big.digest)) << std::string(100, ' '); }
  big.size = 10;
  rustimg::test::expect_error([&] { blobs.read_document(big, 64); }, rustimg::ErrorCode::InvalidArgument,
                              "has 100 bytes, more than the 64 bytes rustimg reads");
}

BOOST_AUTO_TEST_CASE(blob_store_take_verify_remove) {
  ScratchDir a, b;
  BlobStore from(a.path());
  const BlobStore to(b.path());
  const auto blob = rustimg::oci::make_blob(json{{"b", 2}}, "application/json");
  const std::string& digest = blob.descriptor.digest;
  from.put(blob);
  BOOST_TEST(from.verify(digest));
  to.take(from, digest);
  BOOST_TEST(to.read(digest) == from.read(digest));
  to.take(from, digest);  // present: a no-op
  BOOST_TEST(!has_temp_files(b.path()));
  // Content that no longer matches its name fails verify and can be removed.
  const auto path = to.path_of(digest);
  std::filesystem::remove(path);  // a hard link to `from`'s copy: do not write through it
  { std::ofstream(path) << "tampered"; }
  BOOST_TEST(!to.verify(digest));
  BOOST_TEST(from.verify(digest));
  to.remove(digest);
  BOOST_TEST(!to.contains(digest));
  BOOST_TEST(!to.verify(digest));
  to.remove(digest);  // absent: a no-op
  BOOST_CHECK_THROW(to.take(from, "sha256:" + std::string(64, '1')), rustimg::Error);
}

BOOST_AUTO_TEST_CASE(layout_adds_and_replaces_tags_keeping_others) {
  ScratchDir stage1, stage2, out;
  BlobStore s1(stage1.path()), s2(stage2.path());
  const auto one = make_image(s1, "one");
  const auto two = make_image(s2, "two");
  BOOST_REQUIRE(one.digest != two.digest);
  const fs::path layout = out / "layout";

  rustimg::store::write_oci_layout(layout, s1, one, "v1");
  BOOST_TEST(read_file(layout / "oci-layout") == R"({"imageLayoutVersion":"1.0.0"})");
  rustimg::store::write_oci_layout(layout, s2, two, "v2");
  auto tags = tags_of(layout);
  BOOST_TEST(tags.size() == 2u);
  BOOST_TEST(tags["v1"] == one.digest);
  BOOST_TEST(tags["v2"] == two.digest);

  // Re-tag v1 with the second image: v1 replaced, v2 kept.
  rustimg::store::write_oci_layout(layout, s2, two, "v1");
  tags = tags_of(layout);
  BOOST_TEST(tags.size() == 2u);
  BOOST_TEST(tags["v1"] == two.digest);
  BOOST_TEST(tags["v2"] == two.digest);

  // Every referenced blob is present with the right digest.
  const BlobStore target(layout);
  for (const auto& d : rustimg::store::referenced_blobs(target, two)) {
    BOOST_TEST(target.contains(d.digest));
    BOOST_TEST(rustimg::oci::sha256_digest(read_file(target.path_of(d.digest))) == d.digest);
  }
  BOOST_TEST(!has_temp_files(layout));

  // Foreign entries of index.json (other tools' annotations) survive.
  json idx = index_of(layout);
  idx["manifests"][0]["annotations"]["com.example.keep"] = "yes";
  rustimg::test::write_file(layout / "index.json", idx.dump());
  rustimg::store::write_oci_layout(layout, s1, one, "v3");
  BOOST_TEST(index_of(layout)["manifests"][0]["annotations"]["com.example.keep"] == "yes");
}

BOOST_AUTO_TEST_CASE(layout_lists_artifacts_about_an_image_after_the_images) {
  ScratchDir stage, out;
  BlobStore blobs(stage.path());
  const auto image = make_image(blobs, "one");
  const auto other = make_image(blobs, "two");
  const auto artifact = [&](const rustimg::oci::Descriptor& subject, const std::string& text) {
    rustimg::oci::Artifact a = rustimg::oci::make_artifact(text, "application/spdx+json", "application/spdx+json", subject);
    for (const auto* b : {&a.config, &a.content, &a.manifest}) blobs.put(*b);
    a.manifest.descriptor.annotations[rustimg::oci::annotation::kRefName] = rustimg::oci::referrer_tag(subject.digest, "sbom");
    return a;
  };
  const rustimg::oci::Artifact sbom = artifact(image, R"({"spdxVersion":"SPDX-2.3"})");
  // The artifact manifest: OCI 1.1, empty config, the subject without its platform.
  const json doc = json::parse(sbom.manifest.bytes);
  BOOST_TEST(doc["artifactType"] == "application/spdx+json");
  BOOST_TEST(doc["config"]["mediaType"] == "application/vnd.oci.empty.v1+json");
  BOOST_TEST(sbom.config.bytes == "{}");
  BOOST_TEST(doc["subject"]["digest"] == image.digest);
  BOOST_TEST(doc["layers"][0]["digest"] == sbom.content.descriptor.digest);
  BOOST_TEST(rustimg::oci::referrer_tag(image.digest, "sbom") == "sha256-" + image.digest.substr(7) + ".sbom");
  BOOST_TEST(rustimg::oci::is_referrer_tag(rustimg::oci::referrer_tag(image.digest, "sig")));
  BOOST_TEST(rustimg::oci::is_referrer_tag(rustimg::oci::referrers_index_tag(image.digest)));
  BOOST_TEST(!rustimg::oci::is_referrer_tag("sha256-" + image.digest.substr(7, 63)));       // too short
  BOOST_TEST(!rustimg::oci::is_referrer_tag("sha256-" + image.digest.substr(7) + "0"));     // 65 hex
  BOOST_TEST(!rustimg::oci::is_referrer_tag("sha256-" + std::string(64, 'A') + ".sig"));  // upper case
  BOOST_TEST(!rustimg::oci::is_referrer_tag("v1"));

  const fs::path layout = out / "layout";
  const auto entries = [&] { return index_of(layout)["manifests"]; };
  for (int i = 0; i < 2; ++i) {  // written twice: listed once, after the image
    rustimg::store::write_oci_layout(layout, blobs, image, "v1", {sbom.manifest.descriptor});
    BOOST_REQUIRE(entries().size() == 2u);
    BOOST_TEST(entries()[0]["digest"] == image.digest);
    BOOST_TEST(entries()[1]["digest"] == sbom.manifest.descriptor.digest);
    BOOST_TEST(entries()[1]["artifactType"] == "application/spdx+json");
    BOOST_TEST(entries()[1]["annotations"][rustimg::oci::annotation::kRefName] ==
               rustimg::oci::referrer_tag(image.digest, "sbom"));
  }
  // Another image and its artifact: images first, then the artifacts; a
  // newer artifact for the same image replaces the older one.
  const rustimg::oci::Artifact other_sbom = artifact(other, R"({"spdxVersion":"SPDX-2.3","name":"two"})");
  rustimg::store::write_oci_layout(layout, blobs, other, "v2", {other_sbom.manifest.descriptor});
  const rustimg::oci::Artifact newer = artifact(image, R"({"spdxVersion":"SPDX-2.3","name":"newer"})");
  rustimg::store::write_oci_layout(layout, blobs, image, "v1", {newer.manifest.descriptor});
  std::vector<std::string> order;
  for (const auto& e : entries()) order.push_back(e["digest"]);
  BOOST_TEST(order == (std::vector<std::string>{other.digest, image.digest, other_sbom.manifest.descriptor.digest,
                                                newer.manifest.descriptor.digest}),
             boost::test_tools::per_element());

  // Every blob of the artifacts is in the layout; reading back finds each under its subject.
  const BlobStore target(layout);
  for (const auto* b : {&newer.config, &newer.content, &newer.manifest}) BOOST_TEST(target.contains(b->descriptor.digest));
  const auto found = rustimg::store::layout_referrers(layout, image.digest);
  BOOST_REQUIRE(found.size() == 1u);
  BOOST_TEST(found[0].descriptor.digest == newer.manifest.descriptor.digest);
  BOOST_TEST(found[0].manifest.subject->digest == image.digest);
  BOOST_TEST(rustimg::store::layout_referrers(layout, newer.manifest.descriptor.digest).empty());
  // Listed twice under two tags, an artifact is read and returned once.
  json twice = index_of(layout);
  json copy = twice["manifests"].back();
  copy["annotations"][rustimg::oci::annotation::kRefName] = "another-tag";
  twice["manifests"].push_back(copy);
  rustimg::test::write_file(layout / "index.json", twice.dump());
  BOOST_TEST(rustimg::store::layout_referrers(layout, image.digest).size() == 1u);
  // More artifacts than rustimg reads: refused before any blob is opened
  // (these name blobs the layout does not have).
  json many = twice;
  for (std::size_t i = 0; i < rustimg::oci::kMaxReferrers; ++i) {
    json e = copy;
    std::string hex = std::to_string(i);
    e["digest"] = "sha256:" + std::string(64 - hex.size(), 'f') + hex;
    many["manifests"].push_back(e);
  }
  rustimg::test::write_file(layout / "index.json", many.dump());
  BOOST_CHECK_EXCEPTION(rustimg::store::layout_referrers(layout, image.digest), rustimg::Error,
                        [](const rustimg::Error& e) {
                          return std::string(e.what()).find("more than 4096 artifacts") != std::string::npos;
                        });
  // 4096 distinct (the two real ones and 4094 missing): within the bound, so read, and missing.
  many["manifests"].erase(many["manifests"].size() - 1);
  many["manifests"].erase(many["manifests"].size() - 1);
  rustimg::test::write_file(layout / "index.json", many.dump());
  BOOST_CHECK_EXCEPTION(rustimg::store::layout_referrers(layout, image.digest), rustimg::Error,
                        [](const rustimg::Error& e) { return e.code() == rustimg::ErrorCode::NotFound; });
  rustimg::test::write_file(layout / "index.json", twice.dump());
  // An artifact needs its type and its own tag.
  rustimg::oci::Descriptor untagged = sbom.manifest.descriptor;
  untagged.annotations.clear();
  BOOST_CHECK_THROW(rustimg::store::write_oci_layout(layout, blobs, image, "v1", {untagged}), rustimg::Error);
}

BOOST_AUTO_TEST_CASE(layout_without_latest_gives_its_only_image_not_an_artifact) {
  ScratchDir stage, out;
  BlobStore blobs(stage.path());
  const auto image = make_image(blobs, "one");
  rustimg::oci::Artifact sbom = rustimg::oci::make_artifact("{}", "application/spdx+json", "application/spdx+json", image);
  for (const auto* b : {&sbom.config, &sbom.content, &sbom.manifest}) blobs.put(*b);
  sbom.manifest.descriptor.annotations[rustimg::oci::annotation::kRefName] = "sha256-x.sbom";
  const fs::path layout = out / "layout";
  rustimg::store::write_oci_layout(layout, blobs, image, "v1", {sbom.manifest.descriptor});
  json idx = index_of(layout);
  idx["manifests"][0].erase("annotations");  // no "latest", no tag: the only image is taken
  rustimg::test::write_file(layout / "index.json", idx.dump());
  const rustimg::store::StoredImage stored(ImageLocation{ImageLocation::Kind::OciLayout, layout, "", {}});
  BOOST_TEST(stored.top().digest == image.digest);
}

BOOST_AUTO_TEST_CASE(failed_update_leaves_previous_state) {
  ScratchDir stage, broken_stage, out;
  BlobStore s(stage.path());
  const auto good = make_image(s, "good");
  const fs::path layout = out / "layout";
  rustimg::store::write_oci_layout(layout, s, good, "latest");
  const std::string before = read_file(layout / "index.json");

  // An image whose layer blob is missing: the update must fail before
  // index.json changes.
  BlobStore broken(broken_stage.path());
  const auto bad = make_image(broken, "bad");
  const json manifest = json::parse(broken.read(bad.digest));
  fs::remove(broken.path_of(manifest["layers"][0]["digest"].get<std::string>()));
  BOOST_CHECK_THROW(rustimg::store::write_oci_layout(layout, broken, bad, "latest"), rustimg::Error);
  BOOST_TEST(read_file(layout / "index.json") == before);
  BOOST_TEST(!has_temp_files(layout));
}

BOOST_AUTO_TEST_CASE(blobs_staged_in_a_temp_dir_are_published_intact) {
  // Staged blobs are written without fsync and synced (several at once)
  // when published: every referenced blob must arrive whole.
  ScratchDir out;
  const fs::path layout = out.path() / "layout";
  rustimg::oci::Descriptor top;
  {
    const rustimg::store::TempDir staging(out.path());
    BlobStore s(staging.path());
    top = make_image(s, "staged content");
    rustimg::store::write_oci_layout(layout, s, top, "latest");
  }
  const BlobStore target(layout);
  const auto blobs = rustimg::store::referenced_blobs(target, top);
  BOOST_TEST(blobs.size() == 3u);  // manifest, config, layer
  for (const auto& d : blobs) {
    const std::string bytes = read_file(target.path_of(d.digest));
    BOOST_TEST(rustimg::oci::sha256_digest(bytes) == d.digest);
    BOOST_TEST(static_cast<std::int64_t>(bytes.size()) == d.size);
  }
  std::size_t left = 0;
  for (const auto& e : fs::directory_iterator(out.path())) left += e.path().filename() != "layout";
  BOOST_TEST(left == 0u);  // the staging directory is gone
}

BOOST_AUTO_TEST_CASE(refuses_a_directory_that_is_not_a_layout) {
  ScratchDir stage, out;
  BlobStore s(stage.path());
  const auto img = make_image(s, "x");
  rustimg::test::write_file(out / "notes.txt", "mine");
  try {
    rustimg::store::write_oci_layout(out.path(), s, img, "latest");
    BOOST_FAIL("expected an error");
  } catch (const rustimg::Error& e) {
    BOOST_TEST(std::string(e.what()).find("not an OCI image layout") != std::string::npos);
  }
  BOOST_TEST(!fs::exists(out / "blobs"));
}

BOOST_AUTO_TEST_CASE(destination_checks) {
  ScratchDir dir;
  using rustimg::store::check_output_location;
  using rustimg::store::parse_image_location;
  check_output_location(parse_image_location("oci:" + (dir / "new").string()));  // missing: fine
  fs::create_directories(dir / "staged/.rustimg-staging-abc");
  check_output_location(parse_image_location("oci:" + (dir / "staged").string()));  // only our own temp entries
  rustimg::test::write_file(dir / "file", "x");
  BOOST_CHECK_THROW(check_output_location(parse_image_location("oci:" + (dir / "file").string())), rustimg::Error);
  check_output_location(parse_image_location("oci-archive:" + (dir / "file").string()));  // replaced atomically
  BOOST_CHECK_THROW(check_output_location(parse_image_location("docker-archive:" + (dir / "staged").string())),
                    rustimg::Error);
}

BOOST_AUTO_TEST_CASE(oci_archive_is_deterministic_layout_tar) {
  ScratchDir stage, out;
  BlobStore s(stage.path());
  const auto img = make_image(s, "payload");
  rustimg::store::write_oci_archive(out / "a.tar", s, img, "test/app:v1");
  rustimg::store::write_oci_archive(out / "b.tar", s, img, "test/app:v1");
  const std::string a = read_file(out / "a.tar");
  BOOST_TEST(a == read_file(out / "b.tar"));
  std::map<std::string, std::string> files;
  for (const auto& m : read_tar(a).members) files[m.name] = m.data;
  BOOST_TEST(files["oci-layout"] == R"({"imageLayoutVersion":"1.0.0"})");
  const json idx = json::parse(files["index.json"]);
  BOOST_TEST(idx["manifests"].size() == 1u);
  BOOST_TEST(idx["manifests"][0]["digest"] == img.digest);
  BOOST_TEST(idx["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == "test/app:v1");
  for (const auto& d : rustimg::store::referenced_blobs(s, img))
    BOOST_TEST(rustimg::oci::sha256_digest(files["blobs/sha256/" + d.digest.substr(7)]) == d.digest);
}

BOOST_AUTO_TEST_CASE(docker_archive_manifest_json) {
  ScratchDir stage, out;
  BlobStore s(stage.path());
  const auto img = make_image(s, "payload");
  rustimg::store::write_docker_archive(out / "d.tar", s, img, "test/app:v1");
  std::map<std::string, std::string> files;
  for (const auto& m : read_tar(read_file(out / "d.tar")).members) files[m.name] = m.data;
  const json mj = json::parse(files.at("manifest.json"));
  BOOST_REQUIRE(mj.is_array());
  BOOST_REQUIRE(mj.size() == 1u);
  BOOST_TEST(mj[0]["RepoTags"] == json::array({"test/app:v1"}));
  const json manifest = json::parse(s.read(img.digest));
  BOOST_TEST(mj[0]["Config"] == manifest["config"]["digest"].get<std::string>().substr(7) + ".json");
  BOOST_TEST(rustimg::oci::sha256_digest(files.at(mj[0]["Config"])) == manifest["config"]["digest"]);
  BOOST_TEST(mj[0]["Layers"].size() == manifest["layers"].size());
  BOOST_TEST(rustimg::oci::sha256_digest(files.at(mj[0]["Layers"][0])) == manifest["layers"][0]["digest"]);

  // An index cannot go into a docker-archive.
  const auto idx = rustimg::image::assemble_index({img}, {}, rustimg::oci::Format::Oci);
  s.put(idx);
  BOOST_CHECK_THROW(rustimg::store::write_docker_archive(out / "e.tar", s, idx.descriptor, ""), rustimg::Error);
  BOOST_TEST(!fs::exists(out / "e.tar"));
}

namespace {

/// Expects reading the image at `source` back (as push does) to be refused
/// with an InvalidArgument error naming `file`.
void expect_refused(const std::string& source, const std::string& file) {
  try {
    const rustimg::store::StoredImage image(rustimg::store::parse_image_location(source));
    BOOST_ERROR("expected " + source + " to be refused because of " + file);
  } catch (const rustimg::Error& e) {
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(rustimg::ErrorCode::InvalidArgument), e.what());
    BOOST_TEST(std::string(e.what()).find(file) != std::string::npos, e.what());
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(stored_image_reads_only_regular_files_inside_the_layout) {
  ScratchDir stage, out;
  BlobStore s(stage.path());
  const auto img = make_image(s, "inside");
  const fs::path layout = out / "layout";
  rustimg::store::write_oci_layout(layout, s, img, "latest");
  const std::string source = "oci:" + layout.string();
  { const rustimg::store::StoredImage ok(rustimg::store::parse_image_location(source)); }

  const BlobStore target(layout);
  const json manifest = json::parse(target.read(img.digest));
  for (const std::string& digest : {manifest["layers"][0]["digest"].get<std::string>(), img.digest}) {
    const fs::path file = target.path_of(digest);
    const std::string bytes = read_file(file);
    auto restore = [&] {
      fs::remove_all(file);
      rustimg::test::write_file(file, bytes);
    };
    // A symbolic link to a file outside the layout with the very same bytes.
    rustimg::test::write_file(out / "outside", bytes);
    fs::remove(file);
    fs::create_symlink(out / "outside", file);
    expect_refused(source, file.string());
    restore();
    // A FIFO (which a plain open would wait on) and a directory.
    fs::remove(file);
    BOOST_REQUIRE(::mkfifo(file.c_str(), 0600) == 0);
    expect_refused(source, file.string());
    restore();
    fs::remove(file);
    fs::create_directory(file);
    expect_refused(source, file.string());
    restore();
  }
  // blobs/sha256 itself a symbolic link to a directory elsewhere.
  fs::rename(layout / "blobs" / "sha256", out / "elsewhere");
  fs::create_directory_symlink(out / "elsewhere", layout / "blobs" / "sha256");
  expect_refused(source, (layout / "blobs" / "sha256").string());
  fs::remove(layout / "blobs" / "sha256");
  fs::rename(out / "elsewhere", layout / "blobs" / "sha256");
  { const rustimg::store::StoredImage ok(rustimg::store::parse_image_location(source)); }
}

BOOST_AUTO_TEST_CASE(stored_image_refuses_a_blob_that_does_not_match_its_name) {
  ScratchDir stage, out;
  BlobStore s(stage.path());
  const auto img = make_image(s, "checked");
  const json manifest = json::parse(s.read(img.digest));
  const std::string layer = manifest["layers"][0]["digest"];
  const std::string config = manifest["config"]["digest"];
  const fs::path layout = out / "layout";
  rustimg::store::write_oci_layout(layout, s, img, "latest");
  const BlobStore target(layout);
  const std::string source = "oci:" + layout.string();

  for (const std::string& digest : {layer, config}) {
    const fs::path file = target.path_of(digest);
    const std::string bytes = read_file(file);
    std::string flipped = bytes;
    flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x55);
    fs::remove(file);
    rustimg::test::write_file(file, flipped);  // same size, other bytes
    expect_refused(source, file.string());
    fs::remove(file);
    rustimg::test::write_file(file, bytes + "x");  // one byte more
    expect_refused(source, file.string());
    fs::remove(file);
    rustimg::test::write_file(file, bytes);
  }
  { const rustimg::store::StoredImage ok(rustimg::store::parse_image_location(source)); }

  // The same check for an archive: its blobs are read from where it was unpacked.
  fs::remove(s.path_of(layer));
  rustimg::test::write_file(s.path_of(layer), "not the layer");
  rustimg::store::write_oci_archive(out / "a.tar", s, img, "latest");
  expect_refused("oci-archive:" + (out / "a.tar").string(), "blobs/sha256/" + layer.substr(7));
}

BOOST_AUTO_TEST_CASE(blob_store_take_never_shares_a_file_with_its_source) {
  // A blob taken from another store is a file of its own: writing to the
  // source's file afterwards (a damaged cache) changes nothing here.
  ScratchDir a, b;
  BlobStore from(a.path());
  const BlobStore to(b.path());
  const auto blob = rustimg::oci::make_blob(json{{"c", 3}}, "application/json");
  const std::string& digest = blob.descriptor.digest;
  from.put(blob);
  to.take(from, digest);
  { std::ofstream(from.path_of(digest), std::ios::binary | std::ios::app) << "damage"; }
  BOOST_TEST(!from.verify(digest));
  BOOST_TEST(to.verify(digest));
  BOOST_TEST(to.read(digest) == R"({"c":3})");
}

BOOST_AUTO_TEST_SUITE_END()
