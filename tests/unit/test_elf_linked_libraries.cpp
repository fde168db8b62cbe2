// Unit tests for recognising statically linked C libraries by the strings
// they embed. The byte buffers imitate .rodata: C strings separated by NULs
// among binary noise. The marker strings are the ones found in binaries
// linked with Debian 12's static libcrypto, libz, libsqlite3, libcurl, libbz2.
#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "rustimg/elf.hpp"

namespace relf = rustimg::elf;
using relf::LinkedLibrary;

namespace {

/// The strings as NUL-terminated C strings, between bytes of binary noise.
std::vector<std::byte> rodata(std::initializer_list<std::string_view> strings) {
  std::string out("\x7f\x45\x4c\x46\x02\x01\x01\x00\x90\xc3", 10);
  for (auto s : strings) {
    out += s;
    out += '\0';
  }
  out += std::string("\xff\xfe\x01\x02", 4);
  std::vector<std::byte> bytes(out.size());
  for (std::size_t i = 0; i < out.size(); ++i) bytes[i] = static_cast<std::byte>(out[i]);
  return bytes;
}

std::vector<LinkedLibrary> found(std::initializer_list<std::string_view> strings) {
  return relf::linked_libraries(rodata(strings));
}

std::string names(const std::vector<LinkedLibrary>& libs) {
  std::string out;
  for (const auto& l : libs) out += (out.empty() ? "" : ", ") + relf::to_string(l);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(elf_linked_libraries)

BOOST_AUTO_TEST_CASE(openssl_version_text) {
  BOOST_TEST(names(found({"hello", "OpenSSL 3.0.19 27 Jan 2026", "built on: unknown"})) == "OpenSSL 3.0.19");
  // 1.x: letter releases and two spaces before the date; the "part of" texts.
  BOOST_TEST(names(found({"OpenSSL 1.1.1w  11 Sep 2023"})) == "OpenSSL 1.1.1w");
  BOOST_TEST(names(found({"SSL part of OpenSSL 1.0.2u  20 Dec 2019"})) == "OpenSSL 1.0.2u");
  BOOST_TEST(names(found({"OpenSSL 3.2.0-alpha1 7 Sep 2023"})) == "OpenSSL 3.2.0-alpha1");
}

BOOST_AUTO_TEST_CASE(openssl_3_without_its_version_text) {
  // A binary that only calls SSL_CTX_new keeps no version text, but has the
  // default provider's name and the core's "openssl-version" parameter.
  BOOST_TEST(names(found({"OSSL_provider_init", "openssl-version", "3.0.19", "provider-name",
                          "OpenSSL Default Provider"})) == "OpenSSL 3.0.19");
  BOOST_TEST(names(found({"OpenSSL Default Provider"})) == "OpenSSL");
  // The parameter name alone is no marker.
  BOOST_TEST(found({"openssl-version", "3.0.19"}).empty());
}

BOOST_AUTO_TEST_CASE(other_tls_libraries) {
  BOOST_TEST(names(found({"OpenSSL 1.1.1 (compatible; BoringSSL)"})) == "BoringSSL");
  BOOST_TEST(names(found({"OpenSSL 1.1.1 (compatible; AWS-LC 1.21.0)"})) == "AWS-LC 1.21.0");
  BOOST_TEST(names(found({"LibreSSL 3.8.2"})) == "LibreSSL 3.8.2");
}

BOOST_AUTO_TEST_CASE(mentions_of_openssl_are_not_openssl) {
  // rustls, the openssl crate's messages and docs: no version with a date.
  BOOST_TEST(found({"rustls is a modern TLS library; unlike OpenSSL it is memory safe",
                    "OpenSSL 3.0.0 or newer is required", "OpenSSL 3", "error:OpenSSL internal error",
                    "OpenSSL 1.1.1 (compatible)", "OpenSSL 3.0.19 on Jan 2026", "OpenSSL 3.0.19 27 Foo 2026",
                    "LibreSSL 3.8.2 or newer", "uses libcurl/ for downloads", "uses libcurl/8"})
                 .empty());
  // The CRYPTOGAMS banners are also in ring (rustls' crypto): no marker.
  BOOST_TEST(found({"GHASH for x86_64, CRYPTOGAMS by <appro@openssl.org>"}).empty());
}

BOOST_AUTO_TEST_CASE(zlib_copyright) {
  BOOST_TEST(names(found({" inflate 1.2.13 Copyright 1995-2022 Mark Adler "})) == "zlib 1.2.13");
  BOOST_TEST(names(found({" deflate 1.3.1 Copyright 1995-2024 Jean-loup Gailly and Mark Adler "})) == "zlib 1.3.1");
  // A bare version, a description of inflate, no copyright holder: no marker.
  BOOST_TEST(found({"1.2.13", "inflate the stream", "inflate 1.2.13 Copyright someone else"}).empty());
}

BOOST_AUTO_TEST_CASE(sqlite_magic_and_source_id) {
  const std::string_view source_id =
      "2022-12-28 14:03:47 df5c253c0b3dd24916e4ec7cf77d3db5294cc9fd45ae7b9c5e82ad8197f3alt1";
  BOOST_TEST(names(found({source_id, "3.40.1", "SQLite format 3"})) == "SQLite 3.40.1");
  // Two bare 3.x.y strings: which is SQLite's cannot be told.
  BOOST_TEST(names(found({source_id, "3.40.1", "3.1.0", "SQLite format 3"})) == "SQLite");
  // OpenSSL's own 3.x.y is set aside.
  BOOST_TEST(names(found({"openssl-version", "3.0.19", "OpenSSL Default Provider", source_id, "3.40.1",
                          "SQLite format 3"})) == "OpenSSL 3.0.19, SQLite 3.40.1");
  // A file-type sniffer knows SQLite's magic without linking SQLite.
  BOOST_TEST(found({"SQLite format 3", "3.40.1"}).empty());
  BOOST_TEST(found({source_id}).empty());
}

BOOST_AUTO_TEST_CASE(curl_and_bzip2) {
  BOOST_TEST(names(found({"libcurl/7.88.1"})) == "libcurl 7.88.1");
  BOOST_TEST(names(found({"1.0.8, 13-Jul-2019", "bzip2/libbzip2: internal error number %d."})) == "bzip2 1.0.8");
  BOOST_TEST(found({"1.0.8, 13-Jul-2019"}).empty());
  BOOST_TEST(found({"the bzip2/libbzip2 format"}).empty());
}

BOOST_AUTO_TEST_CASE(several_libraries_in_a_fixed_order) {
  const auto libs = found({" inflate 1.2.13 Copyright 1995-2022 Mark Adler ", "libcurl/7.88.1",
                           "OpenSSL 3.0.19 27 Jan 2026"});
  BOOST_TEST(names(libs) == "OpenSSL 3.0.19, zlib 1.2.13, libcurl 7.88.1");
  BOOST_TEST((libs.front() == LinkedLibrary{"OpenSSL", "3.0.19"}));
}

BOOST_AUTO_TEST_CASE(empty_and_noise) {
  BOOST_TEST(relf::linked_libraries({}).empty());
  // A marker cut off by the end of the data.
  const std::string cut = "OpenSSL 3.0.19 27 Jan 20";
  std::vector<std::byte> bytes;
  for (char c : cut) bytes.push_back(static_cast<std::byte>(c));
  BOOST_TEST(relf::linked_libraries(bytes).empty());
}

BOOST_AUTO_TEST_CASE(report_json_lists_them) {
  relf::Report r;
  r.linked_libraries = {{"OpenSSL", "3.0.19"}, {"BoringSSL", ""}};
  const auto j = relf::to_json(r);
  BOOST_TEST(j.at("linked_libraries").size() == 2U);
  BOOST_TEST(j.at("linked_libraries")[0].at("name").get<std::string>() == "OpenSSL");
  BOOST_TEST(j.at("linked_libraries")[0].at("version").get<std::string>() == "3.0.19");
  BOOST_TEST(j.at("linked_libraries")[1].at("version").is_null());
  BOOST_TEST(relf::to_json(relf::Report{}).at("linked_libraries").is_array());
}

BOOST_AUTO_TEST_SUITE_END()
