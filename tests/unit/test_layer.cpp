// Deterministic layers: tar order, headers, compression, hashing, base
// files and assets.
#include <boost/test/unit_test.hpp>

#include <algorithm>

#include <zlib.h>
#include <zstd.h>

#include <chrono>
#include <fstream>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "rustimg/error.hpp"
#include "rustimg/layer.hpp"
#include "expect_error.hpp"
#include "test_certificates.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using rustimg::oci::Compression;
using rustimg::ErrorCode;
using rustimg::layer::FileTree;
using rustimg::layer::LayerOptions;
using rustimg::test::expect_error;
using rustimg::test::MemorySink;
using rustimg::test::read_tar;
using rustimg::test::ScratchDir;
using rustimg::test::write_file;

namespace {


std::string tar_of(const FileTree& tree, std::int64_t mtime = 0) {
  MemorySink sink;
  rustimg::layer::write_tar(tree, mtime, sink);
  return sink.bytes;
}

std::string gunzip(const std::string& in) {
  z_stream zs{};
  BOOST_REQUIRE(inflateInit2(&zs, 15 + 16) == Z_OK);
  std::string out;
  char buf[16384];
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    BOOST_REQUIRE(rc == Z_OK || rc == Z_STREAM_END);
    out.append(buf, sizeof buf - zs.avail_out);
  }
  BOOST_TEST(zs.avail_in == 0u);  // a single gzip member, nothing after it
  inflateEnd(&zs);
  return out;
}

std::string unzstd(const std::string& in) {
  ZSTD_DCtx* d = ZSTD_createDCtx();
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  std::string out;
  char buf[16384];
  while (ib.pos < ib.size) {
    ZSTD_outBuffer ob{buf, sizeof buf, 0};
    const std::size_t rc = ZSTD_decompressStream(d, &ob, &ib);
    BOOST_REQUIRE(!ZSTD_isError(rc));
    out.append(buf, ob.pos);
  }
  ZSTD_freeDCtx(d);
  return out;
}

FileTree sample_tree(const fs::path& dir) {
  write_file(dir / "bin", std::string(100000, 'x') + "binary");
  write_file(dir / "data.txt", "some data\n");
  FileTree t;
  t.add_file("/usr/local/bin/app", dir / "bin", 0755);
  t.add_file("/srv/data.txt", dir / "data.txt", 0644, 1000, 1001);
  t.add_content("/etc/passwd", "root:x:0:0::/root:/sbin/nologin\n", 0644);
  t.add_symlink("/srv/current", "data.txt");
  t.add_directory("/tmp", 01777);
  return t;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(layer)

BOOST_AUTO_TEST_CASE(entries_sorted_parents_first) {
  FileTree t;
  t.add_content("usr/local/bin/app", "x", 0755);
  t.add_content("/etc/passwd", "p", 0644);
  t.add_content("a-b", "ab", 0644);
  t.add_directory("/etc//", 0700);
  const auto listing = read_tar(tar_of(t));
  std::vector<std::string> names;
  for (const auto& m : listing.members) names.push_back(m.name);
  const std::vector<std::string> want = {"a-b", "etc/", "etc/passwd", "usr/", "usr/local/", "usr/local/bin/",
                                         "usr/local/bin/app"};
  BOOST_TEST(names == want, boost::test_tools::per_element());
  BOOST_TEST(listing.members[1].mode == 0700u);  // explicit directory keeps its mode
  BOOST_TEST(listing.members[3].mode == 0755u);  // implied parent
}

BOOST_AUTO_TEST_CASE(headers_are_normalised) {
  ScratchDir dir;
  const std::string tar = tar_of(sample_tree(dir.path()), 1234567890);
  const auto listing = read_tar(tar);
  for (const auto& m : listing.members) {
    BOOST_TEST(m.magic == std::string("ustar\0" "00", 8), m.name);
    BOOST_TEST(m.uname.empty(), m.name);
    BOOST_TEST(m.gname.empty(), m.name);
    BOOST_TEST(m.mtime == 1234567890, m.name);
    BOOST_TEST(!m.had_pax, m.name);
    BOOST_TEST(m.name.front() != '/');
  }
  auto find = [&](const std::string& name) {
    for (const auto& m : listing.members)
      if (m.name == name) return m;
    BOOST_FAIL("no tar member " << name);
    return rustimg::test::TarMember{};
  };
  BOOST_TEST(find("usr/local/bin/app").mode == 0755u);
  BOOST_TEST(find("usr/local/bin/app").data.size() == 100006u);
  BOOST_TEST(find("srv/data.txt").uid == 1000u);
  BOOST_TEST(find("srv/data.txt").gid == 1001u);
  BOOST_TEST(find("srv/current").type == '2');
  BOOST_TEST(find("srv/current").link == "data.txt");
  BOOST_TEST(find("tmp/").mode == 01777u);
  BOOST_TEST(find("tmp/").type == '5');
  BOOST_TEST(find("etc/passwd").data == "root:x:0:0::/root:/sbin/nologin\n");

  // Exactly two zero blocks end the archive: no padding to a 10 KiB record.
  BOOST_TEST(tar.size() == listing.end_of_entries + 1024);
  BOOST_TEST(tar.size() % 512 == 0u);
}

BOOST_AUTO_TEST_CASE(empty_tree_is_two_zero_blocks) {
  const std::string tar = tar_of(FileTree{});
  BOOST_TEST(tar == std::string(1024, '\0'));
  MemorySink sink;
  const auto l = rustimg::layer::write_layer(FileTree{}, LayerOptions{Compression::None}, sink);
  // image-spec's example diff_id of an empty tar (specs.md 3.2).
  BOOST_TEST(l.diff_id == "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef");
}

BOOST_AUTO_TEST_CASE(long_names_use_pax_only_when_needed) {
  FileTree t;
  const std::string longname = "opt/" + std::string(120, 'n') + "/" + std::string(120, 'm');
  t.add_content(longname, "x", 0644);
  t.add_content("short", "y", 0644);
  const auto listing = read_tar(tar_of(t));
  bool found_long = false;
  for (const auto& m : listing.members) {
    if (m.name == longname) {
      found_long = true;
      BOOST_TEST(m.had_pax);
    }
    if (m.name == "short") BOOST_TEST(!m.had_pax);
  }
  BOOST_TEST(found_long);
  BOOST_TEST(tar_of(t) == tar_of(t));  // no pid or time in the PAX header
}

BOOST_AUTO_TEST_CASE(non_ascii_names_survive) {
  FileTree t;
  const std::string utf8 = "srv/caf\xc3\xa9.txt", raw = "srv/bad\xff";
  t.add_content(utf8, "u", 0644);
  t.add_content(raw, "r", 0644);
  const std::string tar = tar_of(t);
  BOOST_TEST(tar == tar_of(t));
  std::vector<std::string> names;
  for (const auto& m : read_tar(tar).members) names.push_back(m.name);
  const std::vector<std::string> want = {"srv/", raw, utf8};
  BOOST_TEST(names == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(gzip_header_and_hashes) {
  ScratchDir dir;
  MemorySink sink;
  const auto l = rustimg::layer::write_layer(sample_tree(dir.path()), LayerOptions{Compression::Gzip}, sink);
  const std::string& gz = sink.bytes;
  // ID1 ID2 CM FLG | MTIME(4) | XFL OS: deflate, no name/comment/extra, time 0, OS unknown.
  const unsigned char want[10] = {0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff};
  BOOST_REQUIRE(gz.size() > 10);
  for (int i = 0; i < 10; ++i)
    BOOST_TEST(static_cast<unsigned char>(gz[static_cast<std::size_t>(i)]) == want[i], "gzip header byte " << i);
  BOOST_TEST(l.descriptor.media_type == "application/vnd.oci.image.layer.v1.tar+gzip");
  BOOST_TEST(l.descriptor.digest == rustimg::oci::sha256_digest(gz));
  BOOST_TEST(l.descriptor.size == static_cast<std::int64_t>(gz.size()));
  const std::string tar = gunzip(gz);
  BOOST_TEST(l.diff_id == rustimg::oci::sha256_digest(tar));
  BOOST_TEST(l.uncompressed_size == tar.size());
  BOOST_TEST(tar == tar_of(sample_tree(dir.path())));
}

BOOST_AUTO_TEST_CASE(zstd_and_uncompressed) {
  ScratchDir dir;
  MemorySink z;
  const auto lz = rustimg::layer::write_layer(sample_tree(dir.path()), LayerOptions{Compression::Zstd}, z);
  BOOST_TEST(z.bytes.substr(0, 4) == std::string("\x28\xb5\x2f\xfd", 4));
  BOOST_TEST(lz.descriptor.media_type == "application/vnd.oci.image.layer.v1.tar+zstd");
  BOOST_TEST(lz.diff_id == rustimg::oci::sha256_digest(unzstd(z.bytes)));

  MemorySink n;
  const auto ln = rustimg::layer::write_layer(sample_tree(dir.path()), LayerOptions{Compression::None}, n);
  BOOST_TEST(ln.descriptor.media_type == "application/vnd.oci.image.layer.v1.tar");
  BOOST_TEST(ln.descriptor.digest == ln.diff_id);
  BOOST_TEST(ln.diff_id == lz.diff_id);  // same tar whatever the compression

  MemorySink d;
  const auto ld = rustimg::layer::write_layer(sample_tree(dir.path()),
                                              LayerOptions{Compression::Gzip, rustimg::oci::Format::Docker}, d);
  BOOST_TEST(ld.descriptor.media_type == "application/vnd.docker.image.rootfs.diff.tar.gzip");
}

BOOST_AUTO_TEST_CASE(same_inputs_same_digests_whatever_the_source_mtimes_and_directory) {
  ScratchDir a, b;
  MemorySink sa, sb, sa2;
  const FileTree ta = sample_tree(a.path());
  const auto la = rustimg::layer::write_layer(ta, LayerOptions{}, sa);
  const auto la2 = rustimg::layer::write_layer(ta, LayerOptions{}, sa2);
  BOOST_TEST(la.descriptor.digest == la2.descriptor.digest);
  BOOST_TEST(sa.bytes == sa2.bytes);

  // Other directory, other mtimes and permissions on the host files.
  const FileTree tb = sample_tree(b.path());
  fs::last_write_time(b / "bin", fs::file_time_type::clock::now() - std::chrono::hours(24 * 400));
  fs::last_write_time(b / "data.txt", fs::file_time_type::clock::now() + std::chrono::hours(5));
  fs::permissions(b / "data.txt", fs::perms::owner_read);
  const auto lb = rustimg::layer::write_layer(tb, LayerOptions{}, sb);
  BOOST_TEST(la.diff_id == lb.diff_id);
  BOOST_TEST(la.descriptor.digest == lb.descriptor.digest);
}

BOOST_AUTO_TEST_CASE(source_date_epoch_changes_only_mtime_fields) {
  ScratchDir dir;
  const FileTree t = sample_tree(dir.path());
  const std::string t0 = tar_of(t, 0), t1 = tar_of(t, 1700000000);
  BOOST_REQUIRE(t0.size() == t1.size());
  BOOST_TEST(t0 != t1);
  const auto listing = read_tar(t0);
  for (std::size_t i = 0; i < t0.size(); ++i) {
    if (t0[i] == t1[i]) continue;
    bool in_time_or_checksum = false;
    for (const auto& m : listing.members) {
      const std::size_t rel = i - m.header_offset;
      if (i >= m.header_offset && rel >= 136 && rel < 156) in_time_or_checksum = true;  // mtime + chksum
    }
    BOOST_TEST(in_time_or_checksum, "byte " << i << " differs outside the mtime/checksum fields");
  }
}

BOOST_AUTO_TEST_CASE(tree_rejects_bad_paths_and_conflicts) {
  FileTree t;
  expect_error([&] { t.add_content("/etc/../passwd", "x", 0644); }, ErrorCode::InvalidArgument, "\"..\"");
  expect_error([&] { t.add_content("/", "x", 0644); }, ErrorCode::InvalidArgument, "root");
  t.add_content("/etc/passwd", "x", 0644);
  expect_error([&] { t.add_content("etc/passwd", "y", 0644); }, ErrorCode::InvalidArgument, "added twice");
  t.add_content("/etc/passwd/x", "x", 0644);
  expect_error([&] { (void)t.entries(); }, ErrorCode::InvalidArgument, "not a directory");
}

BOOST_AUTO_TEST_CASE(progress_and_cancellation_while_streaming) {
  // A sparse 150 MiB file: a progress report every kProgressInterval bytes.
  ScratchDir dir;
  { std::ofstream(dir / "big"); }
  fs::resize_file(dir / "big", 150u << 20);
  FileTree t;
  t.add_file("/big", dir / "big", 0644);

  struct CountingSink final : rustimg::ByteSink {
    using rustimg::ByteSink::write;
    void write(std::span<const std::byte> data) override { bytes += data.size(); }
    std::uint64_t bytes = 0;
  };
  CountingSink sink;
  std::vector<std::uint64_t> reports;
  LayerOptions o{Compression::None};
  o.on_progress = [&](const rustimg::ProgressEvent& e) {
    reports.push_back(e.bytes_done);
    return false;
  };
  const auto l = rustimg::layer::write_layer(t, o, sink);
  BOOST_TEST(reports.size() == l.uncompressed_size / rustimg::layer::kProgressInterval);
  BOOST_TEST(reports[0] >= rustimg::layer::kProgressInterval);
  BOOST_TEST(std::is_sorted(reports.begin(), reports.end()));
  BOOST_TEST(sink.bytes == l.uncompressed_size);

  CountingSink sink2;
  o.on_progress = [](const rustimg::ProgressEvent&) { return true; };
  expect_error([&] { rustimg::layer::write_layer(t, o, sink2); }, ErrorCode::Cancelled, "cancelled");
  BOOST_TEST(sink2.bytes < (100u << 20));  // stopped early
}

BOOST_AUTO_TEST_CASE(missing_source_file_names_it) {
  FileTree t;
  t.add_file("/app", "/nonexistent/rustimg-test-binary", 0755);
  MemorySink sink;
  expect_error([&] { rustimg::layer::write_layer(t, LayerOptions{}, sink); }, ErrorCode::NotFound,
               "/nonexistent/rustimg-test-binary");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(base_files)

BOOST_AUTO_TEST_CASE(scratch_is_empty_and_unknown_bases_are_refused) {
  BOOST_TEST(rustimg::layer::base_files("scratch", {}).empty());
  expect_error([] { (void)rustimg::layer::base_files("alpine:3", {}); }, ErrorCode::Unsupported, "alpine:3");
}

BOOST_AUTO_TEST_CASE(static_base_matches_distroless_static) {
  ScratchDir dir;
  const std::string pem = rustimg::test::test_ca_file("test-ca-one.pem");
  write_file(dir / "ca.pem", pem);
  rustimg::layer::BaseOptions o;
  o.crate_dir = dir.path();
  o.ca_bundle = "ca.pem";
  const auto listing = read_tar(tar_of(rustimg::layer::base_files("static", o)));
  std::map<std::string, rustimg::test::TarMember> by_name;
  for (const auto& m : listing.members) by_name[m.name] = m;
  BOOST_TEST(by_name.count("etc/passwd") == 1u);
  BOOST_TEST(by_name["etc/passwd"].data.find("nonroot:x:65532:65532:nonroot:/home/nonroot:") != std::string::npos);
  BOOST_TEST(by_name["etc/passwd"].data.find("root:x:0:0:") == 0u);
  BOOST_TEST(by_name["etc/group"].data.find("nonroot:x:65532:") != std::string::npos);
  BOOST_TEST(by_name["etc/nsswitch.conf"].data == "hosts: files dns\n");
  BOOST_TEST(by_name["home/nonroot/"].uid == 65532u);
  BOOST_TEST(by_name["home/nonroot/"].gid == 65532u);
  BOOST_TEST(by_name["tmp/"].mode == 01777u);
  BOOST_TEST(by_name["etc/ssl/certs/ca-certificates.crt"].data == pem);
  BOOST_TEST(by_name["etc/ssl/certs/ca-certificates.crt"].mode == 0644u);
  BOOST_TEST(by_name.count("usr/share/zoneinfo/") == 0u);

  o.ca_certificates = false;
  const auto without = read_tar(tar_of(rustimg::layer::base_files("static", o)));
  for (const auto& m : without.members) BOOST_TEST(m.name.find("ca-certificates") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(missing_ca_bundle_names_file_and_fix) {
  ScratchDir dir;
  rustimg::layer::BaseOptions o;
  o.crate_dir = dir.path();
  o.ca_bundle = "certs/nonexistent.pem";
  expect_error([&] { (void)rustimg::layer::base_files("static", o); }, ErrorCode::NotFound, "certs/nonexistent.pem");
  expect_error([&] { (void)rustimg::layer::base_files("static", o); }, ErrorCode::NotFound,
               "\"ca-certificates\": false");
}

// The spec's bundle is read from inside the crate only: an absolute path,
// "..", or a symlink (the file's or a directory's) that resolves outside is
// refused, naming the key and the fix; the file a symlink inside resolves to
// is taken.
BOOST_AUTO_TEST_CASE(ca_bundle_must_stay_inside_the_crate) {
  ScratchDir dir;
  const fs::path crate = dir / "crate";
  const std::string inside = rustimg::test::test_ca_file("test-ca-one.pem");
  write_file(dir / "outside.pem", rustimg::test::test_ca_file("test-ca-two.pem"));
  write_file(crate / "certs/ca.pem", inside);
  fs::create_symlink(dir / "outside.pem", crate / "abs.pem");
  fs::create_symlink("../outside.pem", crate / "rel.pem");
  fs::create_directory_symlink(dir.path(), crate / "up");
  fs::create_symlink("certs/ca.pem", crate / "ok.pem");
  rustimg::layer::BaseOptions o;
  o.crate_dir = crate;
  for (const std::string& bundle : std::vector<std::string>{"abs.pem", "rel.pem", "up/outside.pem", "../outside.pem",
                                                            (dir / "outside.pem").string()}) {
    BOOST_TEST_CONTEXT(bundle) {
      o.ca_bundle = bundle;
      expect_error([&] { (void)rustimg::layer::base_files("static", o); }, ErrorCode::InvalidArgument,
                   "\"ca-certificates\"");
      expect_error([&] { (void)rustimg::layer::base_files("static", o); }, ErrorCode::InvalidArgument,
                   "use true for the host's CA bundle");
    }
  }
  o.ca_bundle = "ok.pem";
  std::map<std::string, rustimg::test::TarMember> by_name;
  for (const auto& m : read_tar(tar_of(rustimg::layer::base_files("static", o))).members) by_name[m.name] = m;
  BOOST_TEST(by_name["etc/ssl/certs/ca-certificates.crt"].data == inside);
  BOOST_TEST(by_name["etc/ssl/certs/ca-certificates.crt"].type == '0');
}

BOOST_AUTO_TEST_CASE(tzdata_copies_files_and_keeps_symlinks) {
  ScratchDir dir;
  write_file(dir / "zi/Europe/Paris", "TZif-paris");
  fs::create_directory_symlink(".", dir / "zi/posix");
  fs::create_symlink("Europe/Paris", dir / "zi/CET");
  write_file(dir / "ca.pem", rustimg::test::test_ca_file("test-ca-one.pem"));
  rustimg::layer::BaseOptions o;
  o.crate_dir = dir.path();
  o.ca_bundle = "ca.pem";
  o.tzdata = true;
  o.zoneinfo = dir / "zi";
  const auto listing = read_tar(tar_of(rustimg::layer::base_files("static", o)));
  std::map<std::string, rustimg::test::TarMember> by_name;
  for (const auto& m : listing.members) by_name[m.name] = m;
  BOOST_TEST(by_name["usr/share/zoneinfo/Europe/Paris"].data == "TZif-paris");
  BOOST_TEST(by_name["usr/share/zoneinfo/CET"].type == '2');
  BOOST_TEST(by_name["usr/share/zoneinfo/CET"].link == "Europe/Paris");
  BOOST_TEST(by_name["usr/share/zoneinfo/posix"].type == '2');

  o.zoneinfo = dir / "no-such-zoneinfo";
  expect_error([&] { (void)rustimg::layer::base_files("static", o); }, ErrorCode::NotFound, "no-such-zoneinfo");
}

// "scratch" gets tzdata when asked, as it gets an asked-for CA bundle: never
// dropped silently. Alone: none of the static base's files come with it.
BOOST_AUTO_TEST_CASE(scratch_gets_tzdata_when_asked) {
  ScratchDir dir;
  write_file(dir / "zi/Europe/Paris", "TZif-paris");
  rustimg::layer::BaseOptions o;
  o.tzdata = true;
  o.zoneinfo = dir / "zi";
  const auto listing = read_tar(tar_of(rustimg::layer::base_files("scratch", o)));
  std::map<std::string, rustimg::test::TarMember> by_name;
  for (const auto& m : listing.members) by_name[m.name] = m;
  BOOST_TEST(by_name["usr/share/zoneinfo/Europe/Paris"].data == "TZif-paris");
  BOOST_TEST(by_name.count("etc/passwd") == 0u);
  BOOST_TEST(by_name.count(rustimg::layer::kCaBundlePath) == 0u);  // not asked for
  o.zoneinfo = dir / "no-such-zoneinfo";
  expect_error([&] { (void)rustimg::layer::base_files("scratch", o); }, ErrorCode::NotFound, "no-such-zoneinfo");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(assets)

namespace {

rustimg::oci::Asset asset(std::string source, std::string dest, std::optional<std::uint32_t> mode = std::nullopt) {
  rustimg::oci::Asset a;
  a.source = std::move(source);
  a.dest = std::move(dest);
  a.mode = mode;
  return a;
}

std::map<std::string, rustimg::test::TarMember> members(const FileTree& t) {
  std::map<std::string, rustimg::test::TarMember> out;
  for (auto& m : read_tar(tar_of(t)).members) out[m.name] = m;
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(globs_directories_modes_and_symlinks) {
  ScratchDir crate;
  write_file(crate / "static/css/site.css", "body{}");
  write_file(crate / "static/js/app.js", "1");
  write_file(crate / "static/top.css", "top");
  write_file(crate / "config/app.toml", "a=1");
  write_file(crate / "config/.hidden.toml", "h");
  write_file(crate / "scripts/run.sh", "#!/bin/sh\n");
  fs::permissions(crate / "scripts/run.sh", fs::perms::owner_exec, fs::perm_options::add);
  fs::create_symlink("app.toml", crate / "config/current.toml");

  FileTree t;
  rustimg::oci::Asset owned = asset("config/*.toml", "/etc/app/");
  owned.uid = 10;
  owned.gid = 20;
  rustimg::layer::add_assets(t,
                             {asset("static/**/*.css", "/srv/www/"), owned, asset("scripts", "/opt/"),
                              asset("static/js/app.js", "/srv/app.js", 0600)},
                             crate.path());
  auto m = members(t);
  BOOST_TEST(m.count("srv/www/css/site.css") == 1u);
  BOOST_TEST(m.count("srv/www/top.css") == 1u);
  BOOST_TEST(m.count("srv/www/js/app.js") == 0u);
  BOOST_TEST(m["etc/app/app.toml"].data == "a=1");
  BOOST_TEST(m["etc/app/app.toml"].uid == 10u);
  BOOST_TEST(m["etc/app/app.toml"].gid == 20u);
  BOOST_TEST(m["etc/app/app.toml"].mode == 0644u);
  BOOST_TEST(m.count("etc/app/.hidden.toml") == 0u);  // '*' skips dot files
  BOOST_TEST(m["etc/app/current.toml"].type == '2');
  BOOST_TEST(m["etc/app/current.toml"].link == "app.toml");
  BOOST_TEST(m["opt/scripts/"].type == '5');
  BOOST_TEST(m["opt/scripts/run.sh"].mode == 0755u);
  BOOST_TEST(m["srv/app.js"].mode == 0600u);
}

BOOST_AUTO_TEST_CASE(escapes_are_rejected) {
  ScratchDir root;
  write_file(root / "secret.txt", "secret");
  write_file(root / "crate/ok.txt", "ok");
  fs::create_symlink("../secret.txt", root / "crate/link-out");
  fs::create_symlink(root / "secret.txt", root / "crate/abs-out");
  fs::create_directory_symlink(root.path(), root / "crate/dir-out");
  const fs::path crate = root / "crate";

  FileTree t;
  expect_error([&] { rustimg::layer::add_assets(t, {asset("../secret.txt", "/x")}, crate); },
               ErrorCode::InvalidArgument, "points outside the crate directory");
  expect_error([&] { rustimg::layer::add_assets(t, {asset("a/../../secret.txt", "/x")}, crate); },
               ErrorCode::InvalidArgument, "points outside the crate directory");
  expect_error([&] { rustimg::layer::add_assets(t, {asset("/etc/passwd", "/x")}, crate); },
               ErrorCode::InvalidArgument, "relative");
  expect_error([&] { rustimg::layer::add_assets(t, {asset("link-out", "/x")}, crate); }, ErrorCode::InvalidArgument,
               "outside the crate");
  expect_error([&] { rustimg::layer::add_assets(t, {asset("abs-out", "/x")}, crate); }, ErrorCode::InvalidArgument,
               "outside the crate");
  expect_error([&] { rustimg::layer::add_assets(t, {asset("dir-out/secret.txt", "/x")}, crate); },
               ErrorCode::InvalidArgument, "outside the crate");
  expect_error([&] { rustimg::layer::add_assets(t, {asset("*", "/all/")}, crate); }, ErrorCode::InvalidArgument,
               "outside the crate");
  expect_error([&] { rustimg::layer::add_assets(t, {asset("*.nothing", "/x/")}, crate); }, ErrorCode::NotFound,
               "matches nothing");
  write_file(crate / "two.txt", "2");
  expect_error([&] { rustimg::layer::add_assets(t, {asset("*.txt", "/one")}, crate); }, ErrorCode::InvalidArgument,
               "end dest with '/'");
}

// The README's glob: "static/**" ("**" matching zero directories too) copies
// what static/ holds into dest, each entry once, though the glob matches
// static/ itself and every directory below it.
BOOST_AUTO_TEST_CASE(trailing_double_star_copies_the_directory_once) {
  ScratchDir crate;
  write_file(crate / "static/index.html", "<html>");
  write_file(crate / "static/css/site.css", "body{}");
  write_file(crate / "static/css/deep/more.css", "p{}");
  write_file(crate / "other.txt", "not an asset");

  FileTree t;
  rustimg::layer::add_assets(t, {asset("static/**", "/srv/static/", 0644)}, crate.path());
  const auto listing = read_tar(tar_of(t));
  std::map<std::string, int> seen;
  for (const auto& member : listing.members) ++seen[member.name];
  for (const auto& [name, count] : seen) BOOST_TEST(count == 1, name);
  auto m = members(t);
  BOOST_TEST(m["srv/static/index.html"].data == "<html>");
  BOOST_TEST(m["srv/static/index.html"].mode == 0644u);
  BOOST_TEST(m["srv/static/css/site.css"].data == "body{}");
  BOOST_TEST(m["srv/static/css/deep/more.css"].data == "p{}");
  BOOST_TEST(m["srv/static/css/"].type == '5');
  BOOST_TEST(m.count("srv/static/static/") == 0u);
  BOOST_TEST(m.count("srv/static/other.txt") == 0u);

  // Without a trailing '/' the glob is one directory: it becomes dest.
  FileTree one;
  rustimg::layer::add_assets(one, {asset("static/**", "/www")}, crate.path());
  auto w = members(one);
  BOOST_TEST(w["www/css/deep/more.css"].data == "p{}");
  BOOST_TEST(w["www/index.html"].data == "<html>");

  // A directory and files below it, matched by one glob, are added once.
  FileTree nested;
  rustimg::layer::add_assets(nested, {asset("static/**/*", "/n/")}, crate.path());
  auto n = members(nested);
  BOOST_TEST(n["n/css/deep/more.css"].data == "p{}");
  BOOST_TEST(n["n/index.html"].data == "<html>");
}

BOOST_AUTO_TEST_SUITE_END()

// --- parallel compression (more of the layer suite) ------------------------

BOOST_AUTO_TEST_SUITE(layer)

namespace {

/// Deterministic, compressible-but-not-trivial bytes: words from a small
/// vocabulary mixed with runs of pseudo-random bytes.
std::string synthetic_data(std::size_t size, std::uint32_t seed) {
  static const char* const words[] = {"layer ", "image ", "rust ", "deflate ", "block ", "\n", "0x7f454c46 ",
                                      "static ", "manifest ", "sha256 ", "tar ", "registry "};
  std::string out;
  out.reserve(size + 64);
  std::uint32_t x = seed;
  auto next = [&] {
    x = x * 1664525u + 1013904223u;
    return x >> 8;
  };
  while (out.size() < size) {
    if (next() % 8 == 0) {
      const std::uint32_t n = 16 + next() % 200;
      for (std::uint32_t i = 0; i < n; ++i) out += static_cast<char>(next() & 0xff);
    } else {
      out += words[next() % (sizeof words / sizeof *words)];
    }
  }
  out.resize(size);
  return out;
}

/// The same tar as one ordinary zlib gzip stream at level 6.
std::string single_stream_gzip(const std::string& in) {
  z_stream zs{};
  BOOST_REQUIRE(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&zs, static_cast<uLong>(in.size())), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  BOOST_REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

rustimg::layer::Layer layer_with_threads(const FileTree& t, Compression c, unsigned threads, std::string& bytes) {
  MemorySink sink;
  LayerOptions o{c};
  o.threads = threads;
  const auto l = rustimg::layer::write_layer(t, o, sink);
  bytes = sink.bytes;
  return l;
}

}  // namespace

BOOST_AUTO_TEST_CASE(gzip_same_bytes_for_any_thread_count_and_decompresses) {
  ScratchDir dir;
  // ~3 MiB: about 24 blocks of 128 KiB, more than the workers can hold in flight.
  write_file(dir.path() / "big", synthetic_data(3u << 20, 42));
  write_file(dir.path() / "small", "hello\n");
  FileTree t;
  t.add_file("/data/big", dir.path() / "big", 0644);
  t.add_file("/data/small", dir.path() / "small", 0644);
  const std::string tar = tar_of(t);
  BOOST_REQUIRE(tar.size() > 20 * 128 * 1024);

  std::string one, two, four, seven;
  const auto l1 = layer_with_threads(t, Compression::Gzip, 1, one);
  const auto l2 = layer_with_threads(t, Compression::Gzip, 2, two);
  const auto l4 = layer_with_threads(t, Compression::Gzip, 4, four);
  const auto l7 = layer_with_threads(t, Compression::Gzip, 7, seven);
  BOOST_TEST(one == two);
  BOOST_TEST(one == four);
  BOOST_TEST(one == seven);
  BOOST_TEST(l1.descriptor.digest == l4.descriptor.digest);
  BOOST_TEST(l1.descriptor.digest == rustimg::oci::sha256_digest(one));
  BOOST_TEST(l2.diff_id == rustimg::oci::sha256_digest(tar));

  // One valid gzip member (the helper checks the trailer's CRC and size
  // through zlib and that nothing follows), holding exactly the tar.
  BOOST_TEST(gunzip(one) == tar);
  const unsigned char want[10] = {0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff};
  for (std::size_t i = 0; i < 10; ++i) BOOST_TEST(static_cast<unsigned char>(one[i]) == want[i], "header byte " << i);

  // Independent blocks cost little: within 1% (+1 KiB) of one zlib stream.
  const std::size_t single = single_stream_gzip(tar).size();
  BOOST_TEST_MESSAGE("parallel gzip " << one.size() << " bytes, single stream " << single);
  BOOST_TEST(one.size() <= single + single / 100 + 1024);
}

BOOST_AUTO_TEST_CASE(gzip_block_boundaries_and_tiny_streams) {
  ScratchDir dir;
  // One file whose tar (512 header + data + 1024 end) is exactly 4 blocks,
  // then one byte less and one block more: the last-block logic at the edges.
  const std::size_t block = 128 * 1024;
  for (const std::size_t tar_size : {4 * block, 4 * block + 512, block, 2048ul}) {
    const std::size_t data = tar_size - 1536;
    write_file(dir.path() / "f", synthetic_data(data, static_cast<std::uint32_t>(tar_size)));
    FileTree t;
    t.add_file("f", dir.path() / "f", 0644);
    const std::string tar = tar_of(t);
    BOOST_REQUIRE(tar.size() == tar_size);
    std::string a, b;
    layer_with_threads(t, Compression::Gzip, 1, a);
    layer_with_threads(t, Compression::Gzip, 3, b);
    BOOST_TEST(a == b, "tar size " << tar_size);
    BOOST_TEST(gunzip(a) == tar, "tar size " << tar_size);
  }
  // The empty tree: 1024 zero bytes, one block.
  std::string a, b;
  layer_with_threads(FileTree{}, Compression::Gzip, 1, a);
  layer_with_threads(FileTree{}, Compression::Gzip, 8, b);
  BOOST_TEST(a == b);
  BOOST_TEST(gunzip(a) == std::string(1024, '\0'));
}

BOOST_AUTO_TEST_CASE(gzip_level_is_explicit_and_checked) {
  ScratchDir dir;
  write_file(dir.path() / "f", synthetic_data(600000, 3));
  FileTree t;
  t.add_file("f", dir.path() / "f", 0644);
  auto with_level = [&](int level, unsigned threads) {
    MemorySink sink;
    LayerOptions o{Compression::Gzip};
    o.level = level;
    o.threads = threads;
    rustimg::layer::write_layer(t, o, sink);
    return sink.bytes;
  };
  const std::string fast = with_level(1, 1), fast4 = with_level(1, 4), best = with_level(9, 2);
  const std::string def = with_level(6, 1);
  BOOST_TEST(fast == fast4);
  BOOST_TEST(fast != def);
  BOOST_TEST(gunzip(fast) == tar_of(t));
  BOOST_TEST(gunzip(best) == tar_of(t));
  BOOST_TEST(fast.size() > def.size());
  // XFL as zlib writes it: 4 for the fastest level, 2 for the slowest, else 0.
  BOOST_TEST(static_cast<unsigned char>(fast[8]) == 4u);
  BOOST_TEST(static_cast<unsigned char>(best[8]) == 2u);
  BOOST_TEST(static_cast<unsigned char>(def[8]) == 0u);
  BOOST_TEST(with_level(0, 2) == def);  // 0: the default level
  expect_error([&] { with_level(-1, 1); }, ErrorCode::InvalidArgument, "gzip level -1");
  expect_error([&] { with_level(10, 1); }, ErrorCode::InvalidArgument, "gzip level 10");
}

BOOST_AUTO_TEST_CASE(zstd_same_bytes_for_any_thread_count_and_decompresses) {
  ScratchDir dir;
  write_file(dir.path() / "big", synthetic_data(12u << 20, 7));
  FileTree t;
  t.add_file("/data/big", dir.path() / "big", 0644);
  std::string one, two, four;
  const auto l1 = layer_with_threads(t, Compression::Zstd, 1, one);
  layer_with_threads(t, Compression::Zstd, 2, two);
  layer_with_threads(t, Compression::Zstd, 4, four);
  BOOST_TEST(one == two);
  BOOST_TEST(one == four);
  BOOST_TEST(unzstd(one) == tar_of(t));
  BOOST_TEST(l1.diff_id == rustimg::oci::sha256_digest(tar_of(t)));
}

BOOST_AUTO_TEST_CASE(zstd_level_is_checked_and_shapes_the_bytes) {
  ScratchDir dir;
  write_file(dir.path() / "f", synthetic_data(600000, 5));
  FileTree t;
  t.add_file("f", dir.path() / "f", 0644);
  auto with_level = [&](int level) {
    MemorySink sink;
    LayerOptions o{Compression::Zstd};
    o.level = level;
    rustimg::layer::write_layer(t, o, sink);
    return sink.bytes;
  };
  const std::string def = with_level(0), three = with_level(3), fast = with_level(1), high = with_level(19);
  BOOST_TEST(def == three);  // 0: the default level, 3
  BOOST_TEST(fast != def);
  BOOST_TEST(high.size() < fast.size());
  BOOST_TEST(unzstd(fast) == tar_of(t));
  BOOST_TEST(unzstd(high) == tar_of(t));
  expect_error([&] { with_level(20); }, ErrorCode::InvalidArgument, "zstd level 20");
  expect_error([&] { with_level(-3); }, ErrorCode::InvalidArgument, "zstd level -3");
}

BOOST_AUTO_TEST_SUITE_END()
