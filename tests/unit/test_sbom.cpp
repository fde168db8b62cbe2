// Unit tests for the SBOM writer (attest module): the structure of the SPDX
// 2.3 and CycloneDX 1.5 documents, determinism, unknown dependencies, and
// hostile names. The real consumers (pyspdxtools, cyclonedx-python-lib's
// validator) check the same documents in tests/integration/test_sbom_formats.py.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cctype>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "expect_error.hpp"
#include "rustimg/error.hpp"
#include "rustimg/sbom.hpp"

namespace ra = rustimg::attest;
using nlohmann::json;
using rustimg::ErrorCode;
using rustimg::test::expect_error;

namespace {

const std::string kHexA(64, 'a');
const std::string kHexB(64, 'b');
const std::string kHexC(64, 'c');
const std::string kBaseDigest = "sha256:" + std::string(64, 'd');

ra::SbomPackage crate(std::string name, std::string version, std::vector<std::string> deps = {}, bool root = false) {
  ra::SbomPackage p;
  p.name = std::move(name);
  p.version = std::move(version);
  p.download_location = "https://crates.io/api/v1/crates/" + p.name + "/" + p.version + "/download";
  p.source_description = "crates.io";
  p.sha256 = root ? "" : kHexB;
  p.license = "MIT OR Apache-2.0";
  p.depends_on = std::move(deps);
  p.root = root;
  return p;
}

ra::SbomInput sample() {
  ra::SbomInput in;
  in.name = "hello 0.1.0 linux/amd64";
  in.platform = "linux/amd64";
  in.binary = {"/usr/local/bin/hello", kHexA, "built by cargo from hello 0.1.0"};
  in.base_reference = "debian:bookworm-slim";
  in.base_digest = kBaseDigest;
  in.packages = {crate("hello", "0.1.0", {"itoa@1.0.11", "cfg-if@1.0.0"}, true), crate("itoa", "1.0.11"),
                 crate("cfg-if", "1.0.0")};
  in.packages[0].download_location = "NOASSERTION";
  in.packages[0].source_description = "path";
  in.files = {{"/etc/ssl/certs/ca-certificates.crt", kHexC, "Debian ca-certificates from the host"}};
  in.created = 1700000000;
  in.tool = "rustimg-0.5.0";
  return in;
}

const json* find_by(const json& array, const std::string& key, const std::string& value) {
  for (const auto& e : array)
    if (e.contains(key) && e[key] == value) return &e;
  return nullptr;
}

bool has_relationship(const json& doc, const std::string& a, const std::string& type, const std::string& b) {
  for (const auto& r : doc["relationships"])
    if (r["spdxElementId"] == a && r["relationshipType"] == type && r["relatedSpdxElement"] == b) return true;
  return false;
}

/// The SPDXID of the crate named `name`.
std::string id_of(const json& doc, const std::string& name) {
  for (const auto& p : doc["packages"])
    if (p["name"] == name && p["SPDXID"].get<std::string>().rfind("SPDXRef-Crate-", 0) == 0)
      return p["SPDXID"].get<std::string>();
  BOOST_FAIL("no crate named " << name);
  return {};
}

bool valid_spdx_id(const std::string& id) {
  if (id.rfind("SPDXRef-", 0) != 0 || id.size() == 8) return false;
  return std::all_of(id.begin() + 8, id.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-'; });
}

}  // namespace

BOOST_AUTO_TEST_SUITE(attest)

BOOST_AUTO_TEST_CASE(spdx_structure) {
  json doc = json::parse(ra::spdx_json(sample()));
  BOOST_TEST(doc["spdxVersion"] == "SPDX-2.3");
  BOOST_TEST(doc["dataLicense"] == "CC0-1.0");
  BOOST_TEST(doc["creationInfo"]["created"] == "2023-11-14T22:13:20Z");
  BOOST_TEST(doc["creationInfo"]["creators"][0] == "Tool: rustimg-0.5.0");
  const std::string ns = doc["documentNamespace"];
  BOOST_TEST(ns.rfind("https://spdx.org/spdxdocs/hello-0.1.0-linux-amd64-", 0) == 0);
  BOOST_TEST(doc["packages"].size() == 7u);  // image, binary, 3 crates, CA file, base

  const json* binary = find_by(doc["packages"], "SPDXID", "SPDXRef-Binary");
  BOOST_REQUIRE(binary);
  BOOST_TEST((*binary)["name"] == "hello");
  BOOST_TEST((*binary)["packageFileName"] == "/usr/local/bin/hello");
  BOOST_TEST((*binary)["versionInfo"] == "0.1.0");
  BOOST_TEST((*binary)["checksums"] == json::parse(R"([{"algorithm":"SHA256","checksumValue":")" + kHexA + "\"}]"));
  BOOST_TEST(has_relationship(doc, "SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Image"));
  BOOST_TEST(has_relationship(doc, "SPDXRef-Image", "CONTAINS", "SPDXRef-Binary"));

  const std::string itoa = id_of(doc, "itoa"), cfg = id_of(doc, "cfg-if"), hello = id_of(doc, "hello");
  BOOST_TEST(itoa == "SPDXRef-Crate-itoa-1.0.11");
  const json& p = *find_by(doc["packages"], "SPDXID", itoa);
  BOOST_TEST(p["versionInfo"] == "1.0.11");
  BOOST_TEST(p["externalRefs"][0]["referenceLocator"] == "pkg:cargo/itoa@1.0.11");
  BOOST_TEST(p["externalRefs"][0]["referenceCategory"] == "PACKAGE-MANAGER");
  BOOST_TEST(p["checksums"][0]["checksumValue"] == kHexB);
  BOOST_TEST(p["licenseDeclared"] == "MIT OR Apache-2.0");
  BOOST_TEST(p["licenseConcluded"] == "NOASSERTION");
  BOOST_TEST(p["supplier"] == "NOASSERTION");
  BOOST_TEST(p["filesAnalyzed"] == false);
  BOOST_TEST(p["downloadLocation"] == "https://crates.io/api/v1/crates/itoa/1.0.11/download");
  const json& root = *find_by(doc["packages"], "SPDXID", hello);
  BOOST_TEST(!root.contains("checksums"));  // a path crate has no Cargo.lock checksum
  BOOST_TEST(root["downloadLocation"] == "NOASSERTION");

  BOOST_TEST(has_relationship(doc, hello, "GENERATES", "SPDXRef-Binary"));
  BOOST_TEST(has_relationship(doc, "SPDXRef-Binary", "CONTAINS", itoa));
  BOOST_TEST(has_relationship(doc, hello, "DEPENDS_ON", itoa));
  BOOST_TEST(has_relationship(doc, hello, "DEPENDS_ON", cfg));
  BOOST_TEST(!has_relationship(doc, itoa, "DEPENDS_ON", cfg));
  BOOST_TEST(!has_relationship(doc, "SPDXRef-Binary", "CONTAINS", "NOASSERTION"));

  const json& ca = *find_by(doc["packages"], "name", "/etc/ssl/certs/ca-certificates.crt");
  BOOST_TEST(ca["primaryPackagePurpose"] == "FILE");
  BOOST_TEST(ca["checksums"][0]["checksumValue"] == kHexC);
  BOOST_TEST(ca["sourceInfo"] == "Debian ca-certificates from the host");
  BOOST_TEST(ca["SPDXID"] == "SPDXRef-File-etc-ssl-certs-ca-certificates.crt");
  BOOST_TEST(has_relationship(doc, "SPDXRef-Image", "CONTAINS", ca["SPDXID"].get<std::string>()));

  const json& base = *find_by(doc["packages"], "SPDXID", "SPDXRef-BaseImage");
  BOOST_TEST(base["name"] == "docker.io/library/debian");
  BOOST_TEST(base["versionInfo"] == kBaseDigest);
  BOOST_TEST(base["externalRefs"][0]["referenceLocator"] ==
             "pkg:oci/debian@sha256%3A" + std::string(64, 'd') +
                 "?repository_url=docker.io/library/debian&tag=bookworm-slim");
  BOOST_TEST(has_relationship(doc, "SPDXRef-Image", "DESCENDANT_OF", "SPDXRef-BaseImage"));

  std::set<std::string> ids;
  for (const auto& pk : doc["packages"]) {
    BOOST_TEST(valid_spdx_id(pk["SPDXID"].get<std::string>()), pk["SPDXID"]);
    BOOST_TEST(ids.insert(pk["SPDXID"].get<std::string>()).second);
  }
}

BOOST_AUTO_TEST_CASE(spdx_ids_stay_unique_after_sanitising) {
  auto in = sample();
  in.packages.push_back(crate("serde_derive", "1.0.0"));
  in.packages.push_back(crate("serde-derive", "1.0.0"));  // the same id once '_' is read as '-'
  in.packages.push_back(crate("serde+derive", "1.0.0"));
  json doc = json::parse(ra::spdx_json(in));
  const std::string dash = id_of(doc, "serde-derive"), under = id_of(doc, "serde_derive");
  const std::string plus = id_of(doc, "serde+derive");
  BOOST_TEST(dash == "SPDXRef-Crate-serde-derive-1.0.0");  // sorted first, so it keeps the plain id
  BOOST_TEST(under.rfind("SPDXRef-Crate-serde-derive-1.0.0-", 0) == 0);
  BOOST_TEST(plus.rfind("SPDXRef-Crate-serde-derive-1.0.0-", 0) == 0);
  BOOST_TEST(under != plus);
  for (const auto& id : {dash, under, plus}) BOOST_TEST(valid_spdx_id(id), id);
}

BOOST_AUTO_TEST_CASE(cyclonedx_structure) {
  json doc = json::parse(ra::cyclonedx_json(sample()));
  BOOST_TEST(doc["bomFormat"] == "CycloneDX");
  BOOST_TEST(doc["specVersion"] == "1.5");
  BOOST_TEST(doc["version"] == 1);
  const std::string serial = doc["serialNumber"];
  BOOST_TEST(serial.size() == 45u);
  BOOST_TEST(serial.rfind("urn:uuid:", 0) == 0);
  BOOST_TEST(serial[23] == '5');  // version nibble
  BOOST_TEST(std::string("89ab").find(serial[28]) != std::string::npos);  // RFC 4122 variant
  BOOST_TEST(doc["metadata"]["timestamp"] == "2023-11-14T22:13:20Z");
  BOOST_TEST(doc["metadata"]["tools"]["components"][0]["name"] == "rustimg");
  BOOST_TEST(doc["metadata"]["tools"]["components"][0]["version"] == "0.5.0");
  const json& app = doc["metadata"]["component"];
  BOOST_TEST(app["type"] == "application");
  BOOST_TEST(app["name"] == "hello");
  BOOST_TEST(app["hashes"][0]["alg"] == "SHA-256");
  BOOST_TEST(app["hashes"][0]["content"] == kHexA);

  const json* itoa = find_by(doc["components"], "name", "itoa");
  BOOST_REQUIRE(itoa);
  BOOST_TEST((*itoa)["type"] == "library");
  BOOST_TEST((*itoa)["purl"] == "pkg:cargo/itoa@1.0.11");
  BOOST_TEST((*itoa)["hashes"][0]["content"] == kHexB);
  BOOST_TEST((*itoa)["licenses"][0]["expression"] == "MIT OR Apache-2.0");
  const json* ca = find_by(doc["components"], "name", "/etc/ssl/certs/ca-certificates.crt");
  BOOST_REQUIRE(ca);
  BOOST_TEST((*ca)["type"] == "file");
  BOOST_TEST((*ca)["hashes"][0]["content"] == kHexC);
  const json* base = find_by(doc["components"], "type", "container");
  BOOST_REQUIRE(base);
  BOOST_TEST((*base)["purl"].get<std::string>().rfind("pkg:oci/debian@sha256%3A", 0) == 0);

  const json* app_deps = find_by(doc["dependencies"], "ref", app["bom-ref"].get<std::string>());
  BOOST_REQUIRE(app_deps);
  BOOST_TEST((*app_deps)["dependsOn"] == json::array({"crate:hello@0.1.0"}));
  const json* hello_deps = find_by(doc["dependencies"], "ref", "crate:hello@0.1.0");
  BOOST_REQUIRE(hello_deps);
  BOOST_TEST((*hello_deps)["dependsOn"] == json::array({"crate:cfg-if@1.0.0", "crate:itoa@1.0.11"}));
  BOOST_TEST(!doc.contains("compositions"));

  std::set<std::string> refs{app["bom-ref"].get<std::string>()};
  for (const auto& c : doc["components"]) BOOST_TEST(refs.insert(c["bom-ref"].get<std::string>()).second);
  for (const auto& d : doc["dependencies"]) {
    BOOST_TEST(refs.count(d["ref"].get<std::string>()) == 1u);
    for (const auto& r : d["dependsOn"]) BOOST_TEST(refs.count(r.get<std::string>()) == 1u);
  }
}

BOOST_AUTO_TEST_CASE(deterministic) {
  for (auto format : {ra::SbomFormat::Spdx, ra::SbomFormat::CycloneDx}) {
    const std::string first = ra::sbom_json(sample(), format);
    BOOST_TEST(first == ra::sbom_json(sample(), format));
    // the input's order does not matter
    auto shuffled = sample();
    std::reverse(shuffled.packages.begin(), shuffled.packages.end());
    std::reverse(shuffled.packages[0].depends_on.begin(), shuffled.packages[0].depends_on.end());
    BOOST_TEST(first == ra::sbom_json(shuffled, format));
    // any change of content changes the document's identity
    auto later = sample();
    later.packages[1].sha256 = kHexC;
    const json a = json::parse(first), b = json::parse(ra::sbom_json(later, format));
    const char* id = format == ra::SbomFormat::Spdx ? "documentNamespace" : "serialNumber";
    BOOST_TEST(a[id] != b[id]);
  }
}

BOOST_AUTO_TEST_CASE(unknown_dependencies) {
  auto in = sample();
  in.packages.clear();
  in.dependencies_known = false;
  in.base_reference.reset();
  in.base_digest.reset();
  json spdx = json::parse(ra::spdx_json(in));
  BOOST_TEST(spdx["packages"].size() == 3u);  // image, binary, CA file: no invented crates
  BOOST_TEST(has_relationship(spdx, "SPDXRef-Binary", "CONTAINS", "NOASSERTION"));
  const json& binary = *find_by(spdx["packages"], "SPDXID", "SPDXRef-Binary");
  BOOST_TEST(binary["annotations"][0]["comment"].get<std::string>().find("unknown") != std::string::npos);
  BOOST_TEST(binary["annotations"][0]["annotator"] == "Tool: rustimg-0.5.0");
  BOOST_TEST(!binary.contains("versionInfo"));
  BOOST_TEST(spdx["comment"].get<std::string>().find(".dep-v0") != std::string::npos);

  json cdx = json::parse(ra::cyclonedx_json(in));
  const std::string app = cdx["metadata"]["component"]["bom-ref"];
  BOOST_TEST(cdx["compositions"][0]["aggregate"] == "unknown");
  BOOST_TEST(cdx["compositions"][0]["assemblies"] == json::array({app}));
  BOOST_TEST(!find_by(cdx["dependencies"], "ref", app));  // absent: unknown, not "none"
  BOOST_TEST(cdx["components"].size() == 1u);

  in.packages.push_back(crate("itoa", "1.0.11"));
  expect_error([&] { ra::spdx_json(in); }, ErrorCode::InvalidArgument, "dependencies_known is false");
}

BOOST_AUTO_TEST_CASE(hostile_names_are_escaped) {
  auto in = sample();
  const std::string evil = "evil\"}],\n\"x\":\u00e9/../<a>%20\x01";
  in.name = evil + " doc";
  in.packages.push_back(crate(evil, "1.0.0+build/1"));
  in.packages.push_back(crate("evil_\"}],\n\"x\":\u00e9/../<a>%20\x01", "1.0.0+build/1"));  // same sanitised id
  in.packages[0].depends_on.push_back(evil + "@1.0.0+build/1");
  in.files.push_back({"/etc/\"quoted\"\nfile", kHexA, "origin with \"quotes\""});

  for (auto format : {ra::SbomFormat::Spdx, ra::SbomFormat::CycloneDx}) {
    const std::string text = ra::sbom_json(in, format);
    json doc = json::parse(text);  // still one valid JSON document
    BOOST_TEST(text.find('\x01') == std::string::npos);  // control characters escaped
    if (format == ra::SbomFormat::Spdx) {
      BOOST_TEST(doc["name"] == in.name);
      const json* p = find_by(doc["packages"], "SPDXID", id_of(doc, evil));
      BOOST_REQUIRE(p);
      BOOST_TEST((*p)["externalRefs"][0]["referenceLocator"] ==
                 "pkg:cargo/evil%22%7D%5D%2C%0A%22x%22%3A%C3%A9%2F..%2F%3Ca%3E%2520%01@1.0.0%2Bbuild%2F1");
      std::set<std::string> ids;
      for (const auto& pk : doc["packages"]) {
        BOOST_TEST(valid_spdx_id(pk["SPDXID"].get<std::string>()), pk["SPDXID"]);
        BOOST_TEST(ids.insert(pk["SPDXID"].get<std::string>()).second);
      }
      BOOST_TEST(has_relationship(doc, id_of(doc, "hello"), "DEPENDS_ON", (*p)["SPDXID"].get<std::string>()));
      BOOST_TEST(find_by(doc["packages"], "name", "/etc/\"quoted\"\nfile"));
    } else {
      BOOST_TEST(find_by(doc["components"], "name", evil));
      BOOST_TEST(find_by(doc["components"], "name", "/etc/\"quoted\"\nfile"));
    }
  }
}

BOOST_AUTO_TEST_CASE(licenses_and_locations_are_normalised) {
  auto in = sample();
  in.packages[1].license = "MIT/Apache-2.0";                      // cargo's legacy form
  in.packages[2].license = "see LICENSE file; \"all rights\"";   // no expression
  in.packages[2].download_location = "git+file:///home/me/evil repo@abc";  // not a download location SPDX accepts
  json spdx = json::parse(ra::spdx_json(in));
  const json& itoa = *find_by(spdx["packages"], "name", "itoa");
  BOOST_TEST(itoa["licenseDeclared"] == "MIT OR Apache-2.0");
  const json& cfg = *find_by(spdx["packages"], "name", "cfg-if");
  BOOST_TEST(cfg["licenseDeclared"] == "NOASSERTION");
  BOOST_TEST(cfg["comment"].get<std::string>().find("see LICENSE file") != std::string::npos);
  BOOST_TEST(cfg["downloadLocation"] == "NOASSERTION");
  BOOST_TEST(cfg["sourceInfo"].get<std::string>().find("git+file:///home/me/evil repo@abc") != std::string::npos);

  json cdx = json::parse(ra::cyclonedx_json(in));
  BOOST_TEST((*find_by(cdx["components"], "name", "itoa"))["licenses"][0]["expression"] == "MIT OR Apache-2.0");
  const json& c = *find_by(cdx["components"], "name", "cfg-if");
  BOOST_TEST(c["licenses"][0]["license"]["name"] == "see LICENSE file; \"all rights\"");
  BOOST_TEST(!c.contains("externalReferences"));

  in.packages[1].license = "(MIT OR Apache-2.0) AND Unicode-DFS-2016";
  in.packages[2].license = "Apache-2.0 WITH LLVM-exception";
  spdx = json::parse(ra::spdx_json(in));
  BOOST_TEST((*find_by(spdx["packages"], "name", "itoa"))["licenseDeclared"] ==
             "(MIT OR Apache-2.0) AND Unicode-DFS-2016");
  BOOST_TEST((*find_by(spdx["packages"], "name", "cfg-if"))["licenseDeclared"] == "Apache-2.0 WITH LLVM-exception");
  for (const char* bad : {"MIT OR", "(MIT", "MIT AND AND GPL-2.0", "MIT) OR (X", "MIT/(X)"}) {
    in.packages[1].license = bad;
    spdx = json::parse(ra::spdx_json(in));
    BOOST_TEST((*find_by(spdx["packages"], "name", "itoa"))["licenseDeclared"] == "NOASSERTION", bad);
  }
}

BOOST_AUTO_TEST_CASE(malformed_input_is_refused) {
  auto with = [](auto change) {
    auto in = sample();
    change(in);
    return in;
  };
  using In = ra::SbomInput;
  expect_error([&] { ra::spdx_json(with([](In& in) { in.binary.sha256 = "abc"; })); }, ErrorCode::InvalidArgument,
               "binary.sha256 \"abc\" is not a sha256");
  expect_error([&] { ra::spdx_json(with([](In& in) { in.binary.sha256.clear(); })); }, ErrorCode::InvalidArgument,
               "binary.sha256 is empty");
  expect_error([&] { ra::spdx_json(with([](In& in) { in.packages[1].sha256 = std::string(64, 'g'); })); },
               ErrorCode::InvalidArgument, "is not a sha256");
  expect_error([&] { ra::spdx_json(with([](In& in) { in.packages[0].depends_on.push_back("serde@1.0.0"); })); },
               ErrorCode::InvalidArgument, "depends on \"serde@1.0.0\", which is not in the package list");
  expect_error([&] { ra::spdx_json(with([](In& in) { in.packages.push_back(crate("itoa", "1.0.11")); })); },
               ErrorCode::InvalidArgument, "\"itoa@1.0.11\" is listed twice");
  expect_error([&] { ra::cyclonedx_json(with([](In& in) { in.packages[1].name = "bad\xff\xfe"; })); },
               ErrorCode::InvalidArgument, "packages[1].name \"bad??\" is not valid UTF-8");
  expect_error([&] { ra::cyclonedx_json(with([](In& in) { in.packages[1].name = "\xe0\x80\xaf"; })); },
               ErrorCode::InvalidArgument, "not valid UTF-8");  // overlong encoding
  expect_error([&] { ra::cyclonedx_json(with([](In& in) { in.packages[1].name = std::string(5000, 'x'); })); },
               ErrorCode::InvalidArgument, "more than the 1024 allowed");
  expect_error([&] { ra::spdx_json(with([](In& in) { in.packages[1].name.clear(); })); },
               ErrorCode::InvalidArgument, "packages[1].name is empty");
  expect_error([&] { ra::spdx_json(with([](In& in) { in.files.push_back(in.files[0]); })); },
               ErrorCode::InvalidArgument, "is listed twice");
  expect_error([&] { ra::spdx_json(with([](In& in) { in.base_digest = "sha256:xyz"; })); },
               ErrorCode::InvalidArgument, "base_digest \"sha256:xyz\" is not a sha256 digest");
  expect_error([&] { ra::spdx_json(with([](In& in) { in.base_reference = "Not A Reference!"; })); },
               ErrorCode::InvalidArgument, "base_reference");
  expect_error([&] { ra::spdx_json(with([](In& in) { in.created = -1; })); }, ErrorCode::InvalidArgument,
               "SOURCE_DATE_EPOCH");
  expect_error([&] { ra::spdx_json(with([](In& in) { in.packages[1].purl = "pkg:cargo"; })); },
               ErrorCode::InvalidArgument, "is not a package URL");
}

BOOST_AUTO_TEST_CASE(base_without_digest_and_digest_without_reference) {
  auto in = sample();
  in.base_digest.reset();
  in.base_reference = "localhost:5000/team/base:v1";
  json spdx = json::parse(ra::spdx_json(in));
  const json& base = *find_by(spdx["packages"], "SPDXID", "SPDXRef-BaseImage");
  BOOST_TEST(base["versionInfo"] == "v1");
  BOOST_TEST(base["externalRefs"][0]["referenceLocator"] ==
             "pkg:oci/base?repository_url=localhost:5000/team/base&tag=v1");

  in.base_reference.reset();
  in.base_digest = kBaseDigest;
  json cdx = json::parse(ra::cyclonedx_json(in));
  const json& c = *find_by(cdx["components"], "type", "container");
  BOOST_TEST(c["version"] == kBaseDigest);
  BOOST_TEST(!c.contains("purl"));
  BOOST_TEST(c["hashes"][0]["content"] == std::string(64, 'd'));
}

BOOST_AUTO_TEST_SUITE_END()
