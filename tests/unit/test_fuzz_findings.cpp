// Inputs the fuzz targets (tests/fuzz) showed to escape the "value or
// rustimg::Error" contract, kept as regression tests.
#include <boost/test/unit_test.hpp>

#include <archive.h>
#include <archive_entry.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "rustimg/error.hpp"
#include "rustimg/layer.hpp"
#include "rustimg/oci.hpp"
#include "rustimg/platform.hpp"
#include "rustimg/reference.hpp"
#include "rustimg/registry.hpp"
#include "rustimg/store.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using rustimg::test::MemorySink;
using rustimg::test::ScratchDir;
using rustimg::test::write_file;

namespace {

/// A tar archive of `files` (name -> content), written by the core's own tar writer.
std::string tar_of(const std::map<std::string, std::string>& files) {
  rustimg::layer::FileTree tree;
  for (const auto& [name, content] : files) tree.add_content(name, content, 0644);
  MemorySink out;
  rustimg::layer::write_tar(tree, 0, out);
  return out.bytes;
}

/// A pax tar written by libarchive through `filter` (archive_write_add_filter_*),
/// its entries added by `fill`.
std::string libarchive_tar(int (*filter)(archive*), const std::function<void(archive*)>& fill) {
  std::string out;
  std::unique_ptr<archive, decltype(&archive_write_free)> a(archive_write_new(), archive_write_free);
  BOOST_REQUIRE(archive_write_set_format_pax_restricted(a.get()) == ARCHIVE_OK);
  BOOST_REQUIRE(filter(a.get()) == ARCHIVE_OK);
  const auto append = [](archive*, void* data, const void* buf, size_t n) -> la_ssize_t {
    static_cast<std::string*>(data)->append(static_cast<const char*>(buf), n);
    return static_cast<la_ssize_t>(n);
  };
  BOOST_REQUIRE(archive_write_open(a.get(), &out, nullptr, append, nullptr) == ARCHIVE_OK);
  fill(a.get());
  BOOST_REQUIRE(archive_write_close(a.get()) == ARCHIVE_OK);
  return out;
}

/// Writes the header of a regular file `name` of `size` bytes (when
/// `sparse`, a sparse one with data in its first 512 bytes only).
void add_file_header(archive* a, const std::string& name, std::int64_t size, bool sparse = false) {
  std::unique_ptr<archive_entry, decltype(&archive_entry_free)> e(archive_entry_new(), archive_entry_free);
  archive_entry_set_pathname(e.get(), name.c_str());
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_perm(e.get(), 0644);
  archive_entry_set_size(e.get(), size);
  if (sparse) archive_entry_sparse_add_entry(e.get(), 0, 512);
  BOOST_REQUIRE(archive_write_header(a, e.get()) == ARCHIVE_OK);
}

/// A bzip2-compressed tar of one file of `size` zero bytes (a few KiB for
/// hundreds of MiB).
std::string bzip2_tar_of_zeros(const std::string& name, std::int64_t size) {
  return libarchive_tar(archive_write_add_filter_bzip2, [&](archive* a) {
    add_file_header(a, name, size);
    const std::string zeros(1 << 20, '\0');
    for (std::int64_t done = 0; done < size; done += static_cast<std::int64_t>(zeros.size()))
      BOOST_REQUIRE(archive_write_data(a, zeros.data(), zeros.size()) == static_cast<la_ssize_t>(zeros.size()));
  });
}

/// Reading `archive` as `kind` throws rustimg::Error whose message holds `names`.
void expect_refused(rustimg::store::ImageLocation::Kind kind, const std::string& archive, const std::string& names) {
  ScratchDir dir;
  rustimg::store::ImageLocation source;
  source.kind = kind;
  source.path = dir / "image.tar";
  write_file(source.path, archive);
  try {
    const rustimg::store::StoredImage image(source);
    BOOST_FAIL("expected a rustimg::Error");
  } catch (const rustimg::Error& e) {
    BOOST_TEST(std::string(e.what()).find(names) != std::string::npos, "expected \"" << names << "\" in: " << e.what());
  }
}

/// A registry serving `docs` by digest and the first one under any tag.
class DocumentRegistry final : public rustimg::registry::Transport {
 public:
  explicit DocumentRegistry(std::vector<std::string> docs) : docs_(std::move(docs)) {}
  rustimg::registry::HttpResponse perform(const rustimg::registry::HttpRequest& req) override {
    rustimg::registry::HttpResponse resp;
    resp.status = 200;
    if (req.url.size() >= 4 && req.url.compare(req.url.size() - 4, 4, "/v2/") == 0) return resp;
    const std::string id = req.url.substr(req.url.rfind('/') + 1);
    const std::string* doc = id.rfind("sha256:", 0) == 0 ? nullptr : &docs_.front();
    for (const auto& d : docs_)
      if (rustimg::oci::sha256_digest(d) == id) doc = &d;
    if (doc == nullptr) {
      resp.status = 404;
    } else if (req.on_body) {
      req.on_body(doc->data(), doc->size());
    } else {
      resp.body = *doc;
    }
    return resp;
  }

 private:
  std::vector<std::string> docs_;
};

class NullSink final : public rustimg::registry::BlobSink {
 public:
  void put(const std::string&, const std::string&, std::istream&, std::uint64_t) override {}
};

}  // namespace

BOOST_AUTO_TEST_SUITE(fuzz_findings)

BOOST_AUTO_TEST_CASE(pull_with_platform_reads_a_config_with_odd_field_types) {
  // fuzz_registry_pull: a single image whose config has a non-string "os"
  // or "variant" made the platform check throw nlohmann's type_error.
  namespace reg = rustimg::registry;
  for (const std::string config : {R"({"architecture":"amd64","os":5})", R"({"architecture":"amd64","variant":[]})"}) {
    const nlohmann::json manifest = rustimg::test::oci_manifest(config);
    reg::Options options;
    options.transport = std::make_shared<DocumentRegistry>(std::vector<std::string>{manifest.dump(), config});
    options.use_config_files = false;
    options.retry.max_attempts = 1;
    reg::Client client(options);
    const rustimg::Reference ref = rustimg::parse_reference("registry.example/app:1");
    NullSink sink;
    reg::PullOptions po;
    po.platform = rustimg::parse_platform("linux/amd64");
    BOOST_TEST(client.pull(ref, sink, po).manifests.size() == 1u);  // the config reader judges the rest
    po.platform = rustimg::parse_platform("linux/arm64");
    BOOST_CHECK_EXCEPTION(client.pull(ref, sink, po), rustimg::Error, [](const rustimg::Error& e) {
      return e.code() == rustimg::ErrorCode::NotFound;
    });
  }
}

BOOST_AUTO_TEST_CASE(docker_archive_manifest_of_the_wrong_shape_is_an_error) {
  using Kind = rustimg::store::ImageLocation::Kind;
  const std::string config = R"({"rootfs":{"type":"layers","diff_ids":[]}})";
  expect_refused(Kind::DockerArchive, tar_of({{"manifest.json", "[7]"}}), "manifest.json");
  expect_refused(Kind::DockerArchive, tar_of({{"manifest.json", R"([{"Config":5,"Layers":[]}])"}}), "Config");
  expect_refused(Kind::DockerArchive,
                 tar_of({{"manifest.json", R"([{"Config":"c.json","Layers":[5]}])"}, {"c.json", config}}), "Layers");
  expect_refused(Kind::DockerArchive,
                 tar_of({{"manifest.json", R"([{"Config":"c.json","Layers":"l.tar"}])"}, {"c.json", config}}),
                 "Layers");
}

BOOST_AUTO_TEST_CASE(archive_entry_that_cannot_be_unpacked_is_an_error) {
  // fuzz_archive: a name with a component longer than the file system
  // allows made unpacking throw std::filesystem::filesystem_error.
  using Kind = rustimg::store::ImageLocation::Kind;
  const std::string long_name = std::string(300, 'x') + "/manifest.json";
  for (const auto kind : {Kind::DockerArchive, Kind::OciArchive})
    expect_refused(kind, tar_of({{long_name, "[]"}}), "cannot unpack " + long_name);
}

BOOST_AUTO_TEST_CASE(oci_index_of_the_wrong_shape_is_an_error) {
  using Kind = rustimg::store::ImageLocation::Kind;
  const std::string layout = R"({"imageLayoutVersion":"1.0.0"})";
  expect_refused(Kind::OciArchive, tar_of({{"oci-layout", layout}, {"index.json", "[1]"}}), "index.json");
  expect_refused(Kind::OciArchive, tar_of({{"oci-layout", layout}, {"index.json", R"({"manifests":"x"})"}}),
                 "index.json");
  // The same index in an OCI layout directory.
  ScratchDir dir;
  write_file(dir / "oci-layout", layout);
  write_file(dir / "index.json", "[1]");
  rustimg::store::ImageLocation source;
  source.path = dir.path();
  BOOST_CHECK_EXCEPTION(rustimg::store::StoredImage{source}, rustimg::Error, [](const rustimg::Error& e) {
    return std::string(e.what()).find("index.json") != std::string::npos;
  });
}

BOOST_AUTO_TEST_CASE(compressed_archive_that_expands_without_bound_is_refused) {
  // fuzz_archive: a 1 KiB bzip2 file unpacked to 1.5 GiB of zeros (the run
  // timed out, and `rustimg push` would have filled the disk). Unpacking
  // stops past 64 MiB and 1024 times the archive's size.
  using Kind = rustimg::store::ImageLocation::Kind;
  const std::string bomb = bzip2_tar_of_zeros("blobs/sha256/zeros", std::int64_t{96} << 20);
  BOOST_TEST_REQUIRE(bomb.size() < 64u * 1024, "the bzip2 test archive is " << bomb.size() << " bytes");
  for (const auto kind : {Kind::DockerArchive, Kind::OciArchive})
    expect_refused(kind, bomb, "decompression bomb");
}

BOOST_AUTO_TEST_CASE(archive_with_more_entries_than_an_image_has_is_refused) {
  // 65,537 empty directories (a few hundred KiB gzipped): refused at the
  // 65,537th header, before the rest is read.
  using Kind = rustimg::store::ImageLocation::Kind;
  const std::string many = libarchive_tar(archive_write_add_filter_gzip, [](archive* a) {
    std::unique_ptr<archive_entry, decltype(&archive_entry_free)> e(archive_entry_new(), archive_entry_free);
    for (int i = 0; i <= 65536; ++i) {
      archive_entry_clear(e.get());
      archive_entry_set_pathname(e.get(), ("d" + std::to_string(i) + "/").c_str());
      archive_entry_set_filetype(e.get(), AE_IFDIR);
      archive_entry_set_perm(e.get(), 0755);
      BOOST_REQUIRE(archive_write_header(a, e.get()) == ARCHIVE_OK);
    }
  });
  for (const auto kind : {Kind::DockerArchive, Kind::OciArchive})
    expect_refused(kind, many, "more than 65536 entries");
}

BOOST_AUTO_TEST_CASE(sparse_archive_entry_is_refused) {
  // A sparse entry's data blocks sit at offsets; unpacking them in a row
  // would write a different file than the archive holds.
  using Kind = rustimg::store::ImageLocation::Kind;
  const std::string sparse = libarchive_tar(archive_write_add_filter_none, [](archive* a) {
    add_file_header(a, "manifest.json", 1 << 20, true);
    const std::string data(512, 'x');
    BOOST_REQUIRE(archive_write_data(a, data.data(), data.size()) == static_cast<la_ssize_t>(data.size()));
  });
  for (const auto kind : {Kind::DockerArchive, Kind::OciArchive})
    expect_refused(kind, sparse, "sparse file");
}

BOOST_AUTO_TEST_SUITE_END()
