// The compose values: layers from host files and tars, images from scratch,
// built-in bases and local images, config changes, writing and indexes.
// Real files in temporary directories, read back with libarchive.
#include <boost/test/unit_test.hpp>

#include <archive.h>
#include <archive_entry.h>
#include <locale.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "rustimg/compose.hpp"
#include "rustimg/error.hpp"
#include "rustimg/layer.hpp"
#include "expect_error.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using rustimg::ErrorCode;
using rustimg::Platform;
using rustimg::compose::Image;
using rustimg::compose::Index;
using rustimg::compose::Layer;
using rustimg::compose::LayerBuilder;
using rustimg::compose::LayerSettings;
using rustimg::test::expect_error;
using rustimg::test::has_temp_files;
using rustimg::test::MemorySink;
using rustimg::test::read_file;
using rustimg::test::ScopedEnv;
using rustimg::test::ScratchDir;
using rustimg::test::write_file;
namespace oci = rustimg::oci;
namespace store = rustimg::store;

namespace {

const Platform kAmd64{"linux", "amd64", ""};
const Platform kArm64{"linux", "arm64", ""};

/// One tar entry as libarchive reads it back.
struct ReadEntry {
  std::string path;
  unsigned mode = 0;
  unsigned type = 0;
  std::int64_t uid = 0;
  std::int64_t gid = 0;
  std::int64_t mtime = 0;
  std::string link;
  std::string hardlink;
  std::string data;
};

/// While alive, LC_CTYPE is `name` for this thread (names in libarchive
/// calls are converted as it says).
class ThreadCtype {
 public:
  explicit ThreadCtype(const char* name)
      : loc_(newlocale(LC_CTYPE_MASK, name, static_cast<locale_t>(nullptr))), previous_(uselocale(loc_)) {}
  ~ThreadCtype() {
    uselocale(previous_);
    freelocale(loc_);
  }

 private:
  locale_t loc_;
  locale_t previous_;
};

/// Every entry of the (possibly compressed) tar `bytes`.
std::map<std::string, ReadEntry> read_entries(const std::string& bytes) {
  const ThreadCtype utf8("C.UTF-8");
  std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), archive_read_free);
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  BOOST_REQUIRE(archive_read_open_memory(a.get(), bytes.data(), bytes.size()) == ARCHIVE_OK);
  std::map<std::string, ReadEntry> out;
  archive_entry* e = nullptr;
  while (archive_read_next_header(a.get(), &e) == ARCHIVE_OK) {
    ReadEntry r;
    r.path = archive_entry_pathname(e);
    r.mode = archive_entry_perm(e);
    r.type = archive_entry_filetype(e);
    r.uid = archive_entry_uid(e);
    r.gid = archive_entry_gid(e);
    r.mtime = archive_entry_mtime(e);
    if (const char* l = archive_entry_symlink(e)) r.link = l;
    if (const char* h = archive_entry_hardlink(e)) r.hardlink = h;
    char buf[4096];
    la_ssize_t n = 0;
    while ((n = archive_read_data(a.get(), buf, sizeof buf)) > 0) r.data.append(buf, static_cast<std::size_t>(n));
    out[r.path] = r;
  }
  return out;
}

/// A tar written with libarchive (pax) holding `entries`: name -> data; a
/// name ending in "@link=T" is a symlink to T, "@hard=T" a hard link.
/// Entries have mode 0644 and mtime 1234; `block`: the record size (0: none).
std::string make_tar(const std::vector<std::pair<std::string, std::string>>& entries, int block = 0) {
  std::string out;
  std::unique_ptr<archive, decltype(&archive_write_free)> a(archive_write_new(), archive_write_free);
  archive_write_set_format_pax_restricted(a.get());
  archive_write_set_bytes_per_block(a.get(), block);
  BOOST_REQUIRE(archive_write_open2(
                    a.get(), &out, nullptr,
                    [](archive*, void* client, const void* buf, size_t len) -> la_ssize_t {
                      static_cast<std::string*>(client)->append(static_cast<const char*>(buf), len);
                      return static_cast<la_ssize_t>(len);
                    },
                    nullptr, nullptr) == ARCHIVE_OK);
  for (const auto& [name, data] : entries) {
    std::unique_ptr<archive_entry, decltype(&archive_entry_free)> e(archive_entry_new(), archive_entry_free);
    const std::size_t at = name.find('@');
    archive_entry_copy_pathname(e.get(), name.substr(0, at).c_str());
    archive_entry_set_perm(e.get(), 0644);
    archive_entry_set_mtime(e.get(), 1234, 0);
    archive_entry_copy_uname(e.get(), "someone");
    if (at != std::string::npos && name.compare(at, 6, "@link=") == 0) {
      archive_entry_set_filetype(e.get(), AE_IFLNK);
      archive_entry_copy_symlink(e.get(), name.substr(at + 6).c_str());
    } else if (at != std::string::npos && name.compare(at, 6, "@hard=") == 0) {
      archive_entry_set_filetype(e.get(), AE_IFREG);
      archive_entry_copy_hardlink(e.get(), name.substr(at + 6).c_str());
    } else if (name.back() == '/') {
      archive_entry_set_filetype(e.get(), AE_IFDIR);
    } else {
      archive_entry_set_filetype(e.get(), AE_IFREG);
      archive_entry_set_size(e.get(), static_cast<la_int64_t>(data.size()));
    }
    BOOST_REQUIRE(archive_write_header(a.get(), e.get()) == ARCHIVE_OK);
    if (!data.empty()) archive_write_data(a.get(), data.data(), data.size());
  }
  archive_write_close(a.get());
  return out;
}

/// One USTAR header block, written by hand (for headers libarchive's
/// writer does not make): `type`, `size` bytes of data after it.
std::string raw_header(const std::string& name, char type, std::size_t size, const std::string& link = "") {
  std::string h(512, '\0');
  const auto put = [&](std::size_t at, const std::string& v) { h.replace(at, v.size(), v); };
  const auto octal = [](std::uint64_t v, int digits) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%0*llo", digits, static_cast<unsigned long long>(v));
    return std::string(buf);
  };
  put(0, name.substr(0, 100));
  put(100, octal(0644, 7));
  put(108, octal(0, 7));
  put(116, octal(0, 7));
  put(124, octal(size, 11));
  put(136, octal(1234, 11));
  put(148, "        ");
  h[156] = type;
  put(157, link.substr(0, 100));
  put(257, std::string("ustar\0" "00", 8));
  unsigned sum = 0;
  for (const char c : h) sum += static_cast<unsigned char>(c);
  put(148, octal(sum, 6) + std::string(1, '\0'));
  return h;
}

/// `data` padded to whole 512-byte blocks.
std::string blocks(std::string data) {
  data.resize((data.size() + 511) / 512 * 512, '\0');
  return data;
}

/// A pax extended header ('x', or 'g' for a global one) holding `records`.
std::string pax_header(const std::vector<std::pair<std::string, std::string>>& records, char type = 'x') {
  std::string body;
  for (const auto& [k, v] : records) {
    const std::string rest = " " + k + "=" + v + "\n";
    std::size_t len = rest.size() + 1;
    while (std::to_string(len).size() + rest.size() != len) ++len;
    body += std::to_string(len) + rest;
  }
  return raw_header("PaxHeaders/x", type, body.size()) + blocks(body);
}

const std::string kTarEnd(1024, '\0');

/// The bytes of blob `digest` in the OCI layout `dir`.
std::string blob(const fs::path& dir, const std::string& digest) {
  return read_file(dir / "blobs" / "sha256" / oci::digest_hex(digest));
}

/// The blob of `layer`, as an image written to a layout holds it.
std::string layer_bytes(const Layer& layer, const ScratchDir& dir) {
  const fs::path out = dir / "layer-out";
  Image::scratch(kAmd64).append(layer).write(store::parse_image_location("oci:" + out.string()));
  return blob(out, layer.digest());
}

LayerSettings at(std::int64_t mtime) {
  LayerSettings s;
  s.mtime = mtime;
  return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(compose_layer)

BOOST_AUTO_TEST_CASE(same_inputs_same_digest_in_any_order) {
  ScratchDir dir;
  const fs::path app = dir.write("app", "binary");
  fs::permissions(app, fs::perms::owner_all);
  const fs::path conf = dir.write("app.toml", "x = 1\n");
  LayerBuilder a;
  a.add_file("/usr/local/bin/app", app).add_bytes("/etc/motd", "hi\n").add_file("/etc/app.toml", conf, 0600, 7, 8);
  LayerBuilder b;
  b.add_file("etc/app.toml", conf, 0600, 7, 8).add_bytes("etc//motd", "hi\n").add_file("usr/local/bin/app", app);
  const Layer la = a.build(at(1700000000));
  const Layer lb = b.build(at(1700000000));
  BOOST_TEST(la.digest() == lb.digest());
  BOOST_TEST(la.diff_id() == lb.diff_id());
  BOOST_TEST(la.digest() == a.build(at(1700000000)).digest());
  BOOST_TEST(la.media_type() == oci::media_type::kOciLayerGzip);
  BOOST_TEST(la.digest() != a.build(at(1)).digest());  // the mtime is part of the layer

  // Host file times and the umask do not matter.
  fs::last_write_time(app, fs::file_time_type::clock::now() - std::chrono::hours(5));
  BOOST_TEST(a.build(at(1700000000)).digest() == la.digest());
  const mode_t saved = ::umask(077);
  const std::string tight = a.build(at(1700000000)).digest();
  ::umask(0);
  const std::string open = a.build(at(1700000000)).digest();
  ::umask(saved);
  BOOST_TEST(tight == la.digest());
  BOOST_TEST(open == la.digest());
}

BOOST_AUTO_TEST_CASE(modes_owners_and_mtime_in_the_tar) {
  ScratchDir dir;
  const fs::path exe = dir.write("tool", "#!/bin/sh\n");
  fs::permissions(exe, fs::perms::owner_read | fs::perms::owner_write | fs::perms::owner_exec);
  const fs::path data = dir.write("data", "data");
  write_file(dir / "tree" / "sub" / "f.txt", "f");
  fs::create_symlink("sub/f.txt", dir / "tree" / "link");
  LayerBuilder b;
  b.add_file("/bin/tool", exe)
      .add_file("/srv/data", data)
      .add_file("/srv/secret", data, 0600, 1000, 1001)
      .add_directory("/var/lib/app", 0700, 65532, 65532)
      .add_symlink("/bin/t", "tool")
      .add_bytes("/etc/app.conf", "k=v\n", 0640, 0, 42)
      .add_tree("/opt/tree", dir / "tree", 5, 6);
  const Layer l = b.build(at(1234567));
  const auto entries = read_entries(layer_bytes(l, dir));
  BOOST_TEST(entries.at("bin/tool").mode == 0755u);  // host x bit
  BOOST_TEST(entries.at("srv/data").mode == 0644u);
  BOOST_TEST(entries.at("srv/secret").mode == 0600u);
  BOOST_TEST(entries.at("srv/secret").uid == 1000);
  BOOST_TEST(entries.at("srv/secret").gid == 1001);
  BOOST_TEST(entries.at("var/lib/app/").mode == 0700u);
  BOOST_TEST(entries.at("var/lib/app/").uid == 65532);
  BOOST_TEST(entries.at("bin/t").link == "tool");
  BOOST_TEST(entries.at("etc/app.conf").data == "k=v\n");
  BOOST_TEST(entries.at("etc/app.conf").gid == 42);
  BOOST_TEST(entries.at("opt/tree/sub/f.txt").uid == 5);
  BOOST_TEST(entries.at("opt/tree/link").link == "sub/f.txt");
  for (const auto& [path, e] : entries) BOOST_TEST(e.mtime == 1234567, path);
  BOOST_TEST(l.uncompressed_size() > 0u);
}

BOOST_AUTO_TEST_CASE(bad_paths_and_duplicates_are_refused) {
  ScratchDir dir;
  const fs::path f = dir.write("f", "x");
  LayerBuilder b;
  expect_error([&] { b.add_bytes("/etc/../x", "x"); }, ErrorCode::InvalidArgument, "\"..\" is not allowed");
  expect_error([&] { b.add_file(std::string("a\0b", 3), f); }, ErrorCode::InvalidArgument, "NUL");
  b.add_file("/etc/x", f);
  expect_error([&] { b.add_bytes("/etc/x", "y"); }, ErrorCode::InvalidArgument, "/etc/x is added twice");
  expect_error([&] { b.add_file("/y", dir / "missing"); }, ErrorCode::NotFound, "missing");
  // A tree that escapes through a symlink adds nothing.
  fs::create_directories(dir / "t");
  fs::create_symlink("/etc/passwd", dir / "t" / "escape");
  expect_error([&] { b.add_tree("/t", dir / "t"); }, ErrorCode::InvalidArgument, "resolves outside");
  BOOST_TEST(!b.tree().contains("/t"));
}

BOOST_AUTO_TEST_CASE(a_vanished_host_file_leaves_nothing) {
  ScratchDir dir;
  const ScopedEnv tmp("TMPDIR", dir.path().string());
  const fs::path f = dir.write("gone", "soon gone");
  LayerBuilder b;
  b.add_file("/app/gone", f);
  fs::remove(f);
  expect_error([&] { (void)b.build(); }, ErrorCode::NotFound, (dir / "gone").string());
  BOOST_TEST(!has_temp_files(dir.path()));
}

BOOST_AUTO_TEST_CASE(a_layer_lives_as_long_as_its_copies) {
  ScratchDir dir;
  const ScopedEnv tmp("TMPDIR", dir.path().string());
  {
    const Layer l = LayerBuilder().add_bytes("/a", "a").build();
    const Image img = Image::scratch(kAmd64).append(l);
    BOOST_TEST(has_temp_files(dir.path()));
  }
  BOOST_TEST(!has_temp_files(dir.path()));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(compose_from_tar)

BOOST_AUTO_TEST_CASE(a_tar_is_written_again) {
  ScratchDir dir;
  const std::string tar = make_tar({{"./", ""}, {"./etc/", ""}, {"./etc/hosts", "127.0.0.1 localhost\n"},
                                    {"./bin@link=/usr/bin", ""}, {"./etc/hosts2@hard=./etc/hosts", ""}});
  const fs::path file = dir.write("layer.tar", tar);
  const Layer l = Layer::from_tar(file);
  BOOST_TEST(l.media_type() == oci::media_type::kOciLayerGzip);
  // Re-emitted by rustimg's writer: clean names, the tar's modes and
  // times, no user names.
  BOOST_TEST(l.diff_id() != oci::sha256_digest(tar));
  const auto entries = read_entries(layer_bytes(l, dir));
  BOOST_TEST(entries.size() == 5u);
  BOOST_TEST(entries.at("./").type == unsigned(AE_IFDIR));
  BOOST_TEST(entries.at("etc/hosts").data == "127.0.0.1 localhost\n");
  BOOST_TEST(entries.at("etc/hosts").mode == 0644u);
  BOOST_TEST(entries.at("etc/hosts").mtime == 1234);
  BOOST_TEST(entries.at("bin").link == "/usr/bin");
  BOOST_TEST(entries.at("etc/hosts2").hardlink == "etc/hosts");

  // Compressed input: the same content, so the same layer.
  rustimg::layer::LayerOptions zstd;
  zstd.compression = oci::Compression::Zstd;
  MemorySink compressed;
  const rustimg::layer::Layer tz = rustimg::layer::import_tar(file, zstd, compressed);
  const fs::path zfile = dir.write("layer.tar.zst", compressed.bytes);
  const Layer from_zstd = Layer::from_tar(zfile);
  BOOST_TEST(tz.diff_id == l.diff_id());
  BOOST_TEST(from_zstd.diff_id() == l.diff_id());
  BOOST_TEST(from_zstd.digest() == l.digest());

  // Padded to 10240-byte records (tar's default): the same layer.
  const fs::path padded = dir.write("padded.tar", make_tar({{"./", ""}, {"./etc/", ""},
                                                           {"./etc/hosts", "127.0.0.1 localhost\n"},
                                                           {"./bin@link=/usr/bin", ""},
                                                           {"./etc/hosts2@hard=./etc/hosts", ""}},
                                                          10240));
  BOOST_TEST(fs::file_size(padded) % 10240 == 0u);
  BOOST_TEST(Layer::from_tar(padded).digest() == l.digest());

  // A tar rustimg's own writer made keeps its digest through from_tar.
  const Layer built = LayerBuilder().add_bytes("/a/b", "b").add_bytes("/caf\xc3\xa9", "c").build(at(0));
  const fs::path gz = dir.write("built.tar.gz", layer_bytes(built, dir));
  const Layer again = Layer::from_tar(gz, at(0));
  BOOST_TEST(again.diff_id() == built.diff_id());
  BOOST_TEST(again.digest() == built.digest());
}

BOOST_AUTO_TEST_CASE(non_ascii_names_in_any_locale) {
  ScratchDir dir;
  const std::string name = "etc/caf\xc3\xa9";
  const LayerBuilder b = LayerBuilder().add_bytes(name, "x");
  // A C or Go process keeps the "C" locale; Python sets the user's.
  ::setlocale(LC_ALL, "C");
  const std::string in_c = b.build(at(0)).digest();
  BOOST_REQUIRE(::setlocale(LC_ALL, "C.UTF-8") != nullptr);
  const std::string in_utf8 = b.build(at(0)).digest();
  // A pax UTF-8 name (as GNU tar and bsdtar write it) imports in "C".
  std::string tar;
  {
    const ThreadCtype utf8("C.UTF-8");
    tar = make_tar({{name, "x"}});
  }
  ::setlocale(LC_ALL, "C");
  BOOST_TEST(in_c == in_utf8);
  const Layer l = Layer::from_tar(dir.write("utf8.tar", tar));
  BOOST_TEST(read_entries(layer_bytes(l, dir)).at(name).data == "x");
}

BOOST_AUTO_TEST_CASE(hostile_tars_are_refused) {
  ScratchDir dir;
  const ScopedEnv tmp("TMPDIR", dir.path().string());
  const auto refused = [&](const std::vector<std::pair<std::string, std::string>>& entries, const std::string& why) {
    const fs::path file = dir.write("bad.tar", make_tar(entries));
    expect_error([&] { (void)Layer::from_tar(file); }, ErrorCode::InvalidArgument, why);
    fs::remove(file);
    BOOST_TEST(!has_temp_files(dir.path()), why);
  };
  refused({{"ok", "x"}, {"../x", "x"}}, "entry \"../x\" has a \"..\" component");
  refused({{"/etc/passwd", "x"}}, "entry \"/etc/passwd\" has an absolute name");
  refused({{"a/../../x", "x"}}, "\"..\" component");
  refused({{"link@link=/etc", ""}, {"link/passwd", "x"}}, "lies below /link");
  refused({{"h@hard=../../etc/shadow", ""}}, "links to \"../../etc/shadow\"");
  refused({{"h@hard=missing", ""}}, "not a file earlier in the tar");
  refused({{"x", "1"}, {"x", "2"}}, "appears twice");
  refused({{"a/b", "x"}, {"a@link=/etc", ""}}, "entry \"a\" comes after entries below it");
  refused({{std::string(5000, 'n'), "x"}}, "longer than 4096");
  refused({{"d/" + std::string(300, 'n'), "x"}}, "name component of 300 bytes, longer than 255");
  refused({{"esc\x1b[2Jape/../../x", "x"}}, "entry \"esc\\x1b[2Jape/../../x\"");

  // Headers libarchive reads past, which other readers take differently.
  const auto raw_refused = [&](const std::string& tar, const std::string& why) {
    const fs::path file = dir.write("raw.tar", tar);
    expect_error([&] { (void)Layer::from_tar(file); }, ErrorCode::InvalidArgument, why);
    fs::remove(file);
    BOOST_TEST(!has_temp_files(dir.path()), why);
  };
  // For libarchive the path is "ok"; for Go's archive/tar "link/passwd",
  // through the symlink.
  raw_refused(raw_header("link", '2', 0, "/etc") + pax_header({{"path", "link/passwd"}, {"GNU.sparse.name", "ok"}}) +
                  raw_header("link/passwd", '0', 1) + blocks("x") + kTarEnd,
              "pax \"GNU.sparse.name\" record");
  raw_refused(pax_header({{"comment", "hi"}, {"uid", "0"}}, 'g') + raw_header("a", '0', 1) + blocks("a") + kTarEnd,
              "pax global header");
  std::string sparse = raw_header("s", 'S', 512);
  sparse.replace(257, 8, std::string("ustar  \0", 8));
  sparse.replace(386, 12, std::string("00000000000\0", 12));  // one chunk at offset 0
  sparse.replace(398, 12, std::string("00000001000\0", 12));  // of 512 bytes
  sparse.replace(483, 12, std::string("00000100000\0", 12));  // real size 32 KiB
  sparse.replace(148, 8, "        ");
  unsigned sum = 0;
  for (const char c : sparse) sum += static_cast<unsigned char>(c);
  char chk[8];
  std::snprintf(chk, sizeof chk, "%06o", sum);
  sparse.replace(148, 7, std::string(chk, 6) + std::string(1, '\0'));
  raw_refused(sparse + blocks(std::string(512, 's')) + kTarEnd, "sparse");

  const fs::path fifo_tar = dir / "fifo.tar";
  {
    std::unique_ptr<archive, decltype(&archive_write_free)> a(archive_write_new(), archive_write_free);
    archive_write_set_format_pax_restricted(a.get());
    archive_write_open_filename(a.get(), fifo_tar.c_str());
    std::unique_ptr<archive_entry, decltype(&archive_entry_free)> e(archive_entry_new(), archive_entry_free);
    archive_entry_copy_pathname(e.get(), "dev/null");
    archive_entry_set_filetype(e.get(), AE_IFCHR);
    archive_entry_set_perm(e.get(), 0666);
    archive_write_header(a.get(), e.get());
    archive_write_close(a.get());
  }
  expect_error([&] { (void)Layer::from_tar(fifo_tar); }, ErrorCode::InvalidArgument, "is a character device");

  const fs::path trailing = dir.write("trailing.tar", make_tar({{"a", "a"}}) + make_tar({{"../evil", "x"}}));
  expect_error([&] { (void)Layer::from_tar(trailing); }, ErrorCode::InvalidArgument, "data after the end");
  const fs::path text = dir.write("not.tar", "hello, this is not a tar file at all");
  expect_error([&] { (void)Layer::from_tar(text); }, ErrorCode::InvalidArgument,
               "not.tar is not a tar archive (plain, gzip- or zstd-compressed)");
  expect_error([&] { (void)Layer::from_tar(dir / "missing.tar"); }, ErrorCode::NotFound, "missing.tar");
  BOOST_TEST(!has_temp_files(dir.path()));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(compose_image)

BOOST_AUTO_TEST_CASE(scratch_append_config_write_load) {
  ScratchDir dir;
  const ScopedEnv epoch("SOURCE_DATE_EPOCH", "1700000000");
  const Layer app = LayerBuilder().add_bytes("/usr/local/bin/app", "binary", 0755).build();
  const Image base = Image::scratch(kAmd64).append(app, "app");
  rustimg::image::ConfigChanges changes;
  changes.entrypoint = std::vector<std::string>{"/usr/local/bin/app"};
  changes.env = {{"PORT", "8080"}};
  changes.ports = {"8080"};
  changes.labels = {{"org.example", "yes"}};
  changes.user = "65532:65532";
  const Image img = base.with_config(changes);

  // Only the config and the manifest change.
  BOOST_TEST(img.digest() != base.digest());
  BOOST_TEST(img.config().descriptor.digest != base.config().descriptor.digest);
  BOOST_REQUIRE(img.layers().size() == 1u);
  BOOST_TEST(img.layers().front().digest == app.digest());
  BOOST_TEST(img.config_json()["rootfs"]["diff_ids"] == base.config_json()["rootfs"]["diff_ids"]);
  const auto& cfg = img.config_json()["config"];
  BOOST_TEST(cfg["Entrypoint"][0] == "/usr/local/bin/app");
  BOOST_TEST(cfg["Env"][0] == "PORT=8080");
  BOOST_TEST(cfg["ExposedPorts"].contains("8080/tcp"));
  BOOST_TEST(cfg["User"] == "65532:65532");
  BOOST_TEST(img.config_json()["created"] == "2023-11-14T22:13:20Z");
  BOOST_TEST(img.config_json()["history"][0]["created_by"] == "app");

  // Written, loaded back: the same image, and written again unchanged the same bytes.
  const fs::path out = dir / "out";
  const auto written = img.write(store::parse_image_location("oci:" + out.string() + ":v1"));
  BOOST_TEST(written.descriptor.digest == img.digest());
  BOOST_TEST(!written.pushed.has_value());
  BOOST_TEST(!has_temp_files(out));
  const Image loaded = Image::load("oci:" + out.string() + ":v1");
  BOOST_TEST(loaded.digest() == img.digest());
  BOOST_TEST(loaded.config().bytes == img.config().bytes);
  BOOST_TEST(loaded.platform().to_string() == "linux/amd64");
  BOOST_TEST(blob(out, app.digest()) == layer_bytes(app, dir));

  // A change on the loaded image: layers untouched, other config fields kept.
  rustimg::image::ConfigChanges more;
  more.env = {{"PORT", "9090"}, {"A", "1"}};
  const Image changed = loaded.with_config(more).with_created(0);
  BOOST_TEST(changed.layers().front().digest == app.digest());
  BOOST_TEST(changed.config_json()["config"]["Env"] == nlohmann::json({"PORT=9090", "A=1"}));
  BOOST_TEST(changed.config_json()["config"]["User"] == "65532:65532");
  BOOST_TEST(changed.config_json()["created"] == "1970-01-01T00:00:00Z");
  const auto again = changed.write(store::parse_image_location("oci-archive:" + (dir / "img.tar").string()));
  BOOST_TEST(Image::load("oci-archive:" + (dir / "img.tar").string()).digest() == again.descriptor.digest);
  (void)changed.write(store::parse_image_location("docker-archive:" + (dir / "d.tar").string()));
  const Image from_docker = Image::load("docker-archive:" + (dir / "d.tar").string());
  BOOST_TEST(from_docker.config().bytes == changed.config().bytes);
  BOOST_REQUIRE(from_docker.layers().size() == 1u);
  BOOST_TEST(from_docker.layers().front().digest == app.digest());
}

BOOST_AUTO_TEST_CASE(an_image_without_layers_is_not_written) {
  ScratchDir dir;
  expect_error([&] { (void)Image::scratch(kAmd64).write(store::parse_image_location("oci:" + (dir / "o").string())); },
               ErrorCode::InvalidArgument, "append a layer first");
  BOOST_TEST(!fs::exists(dir / "o"));
}

BOOST_AUTO_TEST_CASE(a_layout_changed_after_load_is_not_published) {
  ScratchDir dir;
  const Layer l = LayerBuilder().add_bytes("/hello", "hello").build(at(0));
  const fs::path src = dir / "src";
  Image::scratch(kAmd64).append(l).write(store::parse_image_location("oci:" + src.string()));
  const Image loaded = Image::load("oci:" + src.string());
  // Same size, other bytes.
  const fs::path layer_file = src / "blobs" / "sha256" / oci::digest_hex(l.digest());
  std::string bytes = read_file(layer_file);
  bytes.back() = static_cast<char>(bytes.back() ^ 1);
  fs::remove(layer_file);
  write_file(layer_file, bytes);
  const fs::path out = dir / "new" / "out";
  expect_error([&] { (void)loaded.write(store::parse_image_location("oci:" + out.string())); },
               ErrorCode::InvalidArgument, oci::digest_hex(l.digest()));
  BOOST_TEST(!fs::exists(dir / "new"));
}

BOOST_AUTO_TEST_CASE(append_keeps_history_in_step_with_layers) {
  // Two layers and no history (as some tools write).
  const nlohmann::json doc = {{"created", "1970-01-01T00:00:00Z"},
                              {"rootfs", {{"type", "layers"}, {"diff_ids", {"sha256:a", "sha256:b"}}}},
                              {"history", {{{"created_by", "ENV x"}, {"empty_layer", true}}}}};
  const nlohmann::json out = rustimg::image::append_layer(doc, "sha256:c", "mine", "test config");
  BOOST_REQUIRE(out["history"].size() == 4u);
  BOOST_TEST(out["history"][1]["empty_layer"] == false);
  BOOST_TEST(out["history"][2]["created"] == "1970-01-01T00:00:00Z");
  BOOST_TEST(out["history"][3]["created_by"] == "mine");
  BOOST_TEST(out["rootfs"]["diff_ids"].size() == 3u);
  // In step already: one entry more.
  BOOST_TEST(rustimg::image::append_layer(out, "sha256:d", "", "test config")["history"].size() == 5u);
}

BOOST_AUTO_TEST_CASE(append_maps_the_layer_type_into_the_image_family) {
  const Layer layer = LayerBuilder().add_bytes("/etc/motd", "hi\n").build(at(1));
  BOOST_TEST(layer.media_type() == oci::media_type::kOciLayerGzip);
  const Image docker = Image::scratch(kAmd64, oci::Format::Docker).append(layer);
  const nlohmann::json m = nlohmann::json::parse(docker.manifest().bytes);
  BOOST_TEST(m["mediaType"] == oci::media_type::kDockerManifest);
  BOOST_TEST(m["layers"][0]["mediaType"] == oci::media_type::kDockerLayerGzip);  // same bytes, Docker's name
  BOOST_TEST(m["layers"][0]["digest"] == layer.digest());
}

BOOST_AUTO_TEST_CASE(builtin_static_is_what_a_build_makes) {
  rustimg::layer::BaseOptions options;
  options.ca_certificates = false;
  const Image img = Image::builtin("static", kArm64, options, at(0));
  rustimg::layer::LayerOptions lo;
  lo.mtime = 0;
  MemorySink sink;
  const rustimg::layer::Layer direct =
      rustimg::layer::write_layer(rustimg::layer::base_files("static", options), lo, sink);
  BOOST_REQUIRE(img.layers().size() == 1u);
  BOOST_TEST(img.layers().front().digest == direct.descriptor.digest);
  BOOST_TEST(img.config_json()["rootfs"]["diff_ids"][0] == direct.diff_id);
  BOOST_TEST(img.config_json()["config"]["Env"][0] == std::string("PATH=") + rustimg::image::kDefaultPath);
  BOOST_TEST(img.config_json()["architecture"] == "arm64");
  BOOST_TEST(img.config_json()["history"][0]["created_by"] == "rustimg: base static (passwd, group, nsswitch.conf, /tmp)");
  expect_error([&] { (void)Image::builtin("debian", kAmd64); }, ErrorCode::Unsupported, "not a built-in base");
}

BOOST_AUTO_TEST_CASE(annotations_and_created) {
  const Image img = Image::scratch(kAmd64).with_annotations({{"org.example.a", "1"}}).with_created(86400);
  BOOST_TEST(img.annotations().at("org.example.a") == "1");
  BOOST_TEST(img.config_json()["created"] == "1970-01-02T00:00:00Z");
  expect_error([&] { (void)Image::scratch(kAmd64, oci::Format::Docker).with_annotations({{"a", "b"}}); },
               ErrorCode::InvalidArgument, "Docker manifests carry no annotations");
  rustimg::image::ConfigChanges bad;
  bad.ports = {"http"};
  expect_error([&] { (void)img.with_config(bad); }, ErrorCode::Spec, "$.ports[0]: expected a port such as 8080");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(compose_index)

BOOST_AUTO_TEST_CASE(two_platforms_in_one_index) {
  ScratchDir dir;
  const Layer l = LayerBuilder().add_bytes("/hello", "hello").build();
  const Image amd = Image::scratch(kAmd64).append(l);
  const Image arm = Image::scratch(kArm64).append(l);
  const Index index({amd, arm}, {{"org.example.index", "yes"}});
  const fs::path out = dir / "multi";
  const auto written = index.write(store::parse_image_location("oci:" + out.string()));
  BOOST_TEST(written.descriptor.digest == index.digest());
  BOOST_TEST(written.descriptor.media_type == oci::media_type::kOciIndex);
  const oci::Index doc = oci::parse_index(blob(out, index.digest()), oci::ParseMode::Strict, "index");
  BOOST_REQUIRE(doc.manifests.size() == 2u);
  BOOST_TEST(doc.manifests[1].platform->architecture == "arm64");

  BOOST_TEST(Image::load("oci:" + out.string(), kArm64).digest() == arm.digest());
  expect_error([&] { (void)Image::load("oci:" + out.string()); }, ErrorCode::InvalidArgument,
               "linux/amd64, linux/arm64");
  expect_error([&] { (void)Image::load("oci:" + out.string(), Platform{"linux", "s390x", ""}); }, ErrorCode::NotFound,
               "no image for linux/s390x");
  expect_error([&] { (void)Index({amd, amd}); }, ErrorCode::InvalidArgument, "two images of the index are for linux/amd64");
  expect_error(
      [&] { (void)index.write(store::parse_image_location("docker-archive:" + (dir / "d.tar").string())); },
      ErrorCode::InvalidArgument, "docker-archive holds one platform");
  BOOST_TEST(!fs::exists(dir / "d.tar"));
}

BOOST_AUTO_TEST_SUITE_END()
