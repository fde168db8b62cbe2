// What cargo compiled into a binary: normal_dependencies over recorded
// `cargo metadata` + Cargo.lock (tests/fixtures/dependencies, from the crate
// in sbomfix/ there), and cargo-auditable's .dep-v0 section.
#include <boost/test/unit_test.hpp>

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <unistd.h>
#include <vector>

#include "expect_error.hpp"
#include "rustimg/auditable.hpp"
#include "rustimg/dependencies.hpp"
#include "rustimg/error.hpp"
#include "rustimg/process.hpp"

using nlohmann::json;
using rustimg::ErrorCode;
using rustimg::test::expect_error;
namespace cargo = rustimg::cargo;
namespace fs = std::filesystem;

namespace {

const fs::path kFixtures = fs::path(RUSTIMG_SOURCE_DIR) / "tests" / "fixtures" / "dependencies";
const std::string kRoot = "path+file:///ws/sbomfix#0.1.0";
const std::string kLocal = "path+file:///ws/sbomfix/localdep#0.3.0";
const std::string kCratesIo = "registry+https://github.com/rust-lang/crates.io-index";

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  BOOST_REQUIRE_MESSAGE(in, "cannot open " << p);
  return {std::istreambuf_iterator<char>(in), {}};
}

json fixture_json(const char* name) { return json::parse(read_file(kFixtures / name)); }

std::vector<std::string> names(const std::vector<cargo::ResolvedPackage>& pkgs) {
  std::vector<std::string> out;
  for (const auto& p : pkgs) out.push_back(p.name + " " + p.version);
  return out;
}

const cargo::ResolvedPackage& find(const std::vector<cargo::ResolvedPackage>& pkgs, const std::string& name) {
  const auto it = std::find_if(pkgs.begin(), pkgs.end(), [&](const auto& p) { return p.name == name; });
  BOOST_REQUIRE_MESSAGE(it != pkgs.end(), name << " is missing");
  return *it;
}

/// The checksum Cargo.lock's text gives `name`.
std::string lock_checksum(const std::string& lock, const std::string& name) {
  const auto at = lock.find("name = \"" + name + "\"");
  BOOST_REQUIRE(at != std::string::npos);
  const auto sum = lock.find("checksum = \"", at);
  BOOST_REQUIRE(sum != std::string::npos);
  return lock.substr(sum + 12, 64);
}

// --- a small synthetic metadata document for the feature rules ----------------

json declared(const std::string& name, bool optional = false, json features = json::array(),
              const json& kind = nullptr, const json& target = nullptr, const json& rename = nullptr,
              bool default_features = true) {
  return {{"name", name},         {"source", "registry+https://github.com/rust-lang/crates.io-index"},
          {"req", "*"},           {"kind", kind},
          {"rename", rename},     {"optional", optional},
          {"uses_default_features", default_features},
          {"features", std::move(features)},
          {"target", target},     {"registry", nullptr}};
}

json package(const std::string& name, const std::string& source, json deps, json features = json::object(),
             const json& license = nullptr) {
  const std::string id = source.empty() ? "path+file:///w/" + name + "#1.0.0" : source + "#" + name + "@1.0.0";
  return {{"name", name},
          {"version", "1.0.0"},
          {"id", id},
          {"source", source.empty() ? json(nullptr) : json(source)},
          {"license", license},
          {"manifest_path", source.empty() ? "/w/" + name + "/Cargo.toml" : "/reg/" + name + "/Cargo.toml"},
          {"dependencies", std::move(deps)},
          {"features", std::move(features)}};
}

json node(const json& pkg, json features, json deps) {
  return {{"id", pkg["id"]}, {"features", std::move(features)}, {"deps", std::move(deps)}};
}

json edge(const json& pkg, json kinds) {
  return {{"name", pkg["name"]}, {"pkg", pkg["id"]}, {"dep_kinds", std::move(kinds)}};
}

json normal_kind(const json& target = nullptr) { return {{"kind", nullptr}, {"target", target}}; }

/// A checksum in Cargo.lock's form (64 lower-case hex digits), distinct per
/// name: the hex of the name's bytes, repeated.
std::string fake_checksum(const std::string& name) {
  static const char* const kHex = "0123456789abcdef";
  std::string out;
  while (out.size() < 64)
    for (const unsigned char c : name) out += {kHex[c >> 4], kHex[c & 0xf]};
  out.resize(64);
  return out;
}

std::string lock_for(const std::vector<json>& pkgs) {
  std::string out = "version = 4\n";
  for (const auto& p : pkgs) {
    out += "\n[[package]]\nname = \"" + p["name"].get<std::string>() + "\"\nversion = \"1.0.0\"\n";
    if (p["source"].is_string()) {
      out += "source = \"" + p["source"].get<std::string>() + "\"\n";
      if (p["source"].get<std::string>().rfind("git+", 0) != 0)  // registry+ and sparse+ sources have one
        out += "checksum = \"" + fake_checksum(p["name"].get<std::string>()) + "\"\n";
    }
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cargo_dependencies)

BOOST_AUTO_TEST_CASE(recorded_crate_lists_what_cargo_tree_lists) {
  const json meta = fixture_json("metadata.json");
  const std::string lock = read_file(kFixtures / "Cargo.lock");
  const auto pkgs = cargo::normal_dependencies(meta, lock, kRoot);
  // `cargo tree -e normal --target x86_64-unknown-linux-gnu -p sbomfix`: no
  // dev (hex), build (autocfg), windows-only (widestring) or optional (fnv)
  // crate, and not ryu, which only the dev-dependency's feature enables.
  BOOST_TEST(names(pkgs) == (std::vector<std::string>{"cfg-if 1.0.5", "itoa 1.0.19", "localdep 0.3.0",
                                                      "sbomfix 0.1.0"}),
             boost::test_tools::per_element());
  // ... although the metadata's resolve graph has the edge localdep -> ryu.
  bool graph_has_ryu = false;
  for (const auto& n : meta["resolve"]["nodes"])
    if (n["id"] == kLocal)
      for (const auto& d : n["deps"]) graph_has_ryu |= d["name"] == "ryu";
  BOOST_TEST(graph_has_ryu);

  const auto& root = find(pkgs, "sbomfix");
  BOOST_TEST(root.root);
  BOOST_TEST(root.id == kRoot);
  BOOST_TEST(std::string(cargo::to_string(root.source)) == "path");
  BOOST_TEST(root.path == ".");
  BOOST_TEST(root.license == "Apache-2.0");
  BOOST_TEST(root.checksum.empty());
  BOOST_TEST(root.dependencies == (std::vector<std::string>{kCratesIo + "#cfg-if@1.0.5", kCratesIo + "#itoa@1.0.19", kLocal}),
             boost::test_tools::per_element());

  const auto& local = find(pkgs, "localdep");
  BOOST_TEST(!local.root);
  BOOST_TEST(local.path == "localdep");
  BOOST_TEST(local.license == "MIT OR Apache-2.0");
  BOOST_TEST(local.dependencies == std::vector<std::string>{kCratesIo + "#cfg-if@1.0.5"}, boost::test_tools::per_element());

  const auto& itoa = find(pkgs, "itoa");
  BOOST_TEST(std::string(cargo::to_string(itoa.source)) == "registry");
  BOOST_TEST(itoa.source_url == "https://github.com/rust-lang/crates.io-index");
  BOOST_TEST(itoa.checksum == lock_checksum(lock, "itoa"));
  BOOST_TEST(itoa.checksum == "3bd1574e617a9a6c1f8f8181bd7e841e1f20e4277607ef28945765188d6284d4");
  BOOST_TEST(itoa.license == "MIT OR Apache-2.0");
  BOOST_TEST(find(pkgs, "cfg-if").checksum == lock_checksum(lock, "cfg-if"));
}

BOOST_AUTO_TEST_CASE(feature_flag_adds_the_optional_dependency) {
  const auto pkgs = cargo::normal_dependencies(fixture_json("metadata-hash.json"), read_file(kFixtures / "Cargo.lock"), kRoot);
  BOOST_TEST(names(pkgs) == (std::vector<std::string>{"cfg-if 1.0.5", "fnv 1.0.7", "itoa 1.0.19", "localdep 0.3.0",
                                                      "sbomfix 0.1.0"}),
             boost::test_tools::per_element());
  BOOST_TEST(find(pkgs, "fnv").checksum == lock_checksum(read_file(kFixtures / "Cargo.lock"), "fnv"));
}

BOOST_AUTO_TEST_CASE(same_inputs_same_result) {
  const json meta = fixture_json("metadata-hash.json");
  const std::string lock = read_file(kFixtures / "Cargo.lock");
  const auto a = cargo::normal_dependencies(meta, lock, kRoot);
  const auto b = cargo::normal_dependencies(meta, lock, kRoot);
  BOOST_REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    BOOST_TEST(a[i].id == b[i].id);
    BOOST_TEST(a[i].dependencies == b[i].dependencies, boost::test_tools::per_element());
  }
}

BOOST_AUTO_TEST_CASE(feature_rules_of_the_resolver) {
  // app -> a (default features: "default" = ["x"], x = ["b/y"] turns on
  // optional b and its feature y); b's y enables "dep:c"; app's weak
  // "d?/z" must not switch on optional d; e is only for windows; f is renamed
  // and non-default, so its default's optional g stays off; app's second
  // declaration of a, for windows only, would turn on a's optional e.
  const std::string reg = "registry+https://github.com/rust-lang/crates.io-index";
  // A git source with credentials in its URL (as Cargo.toml may name it): the SBOM publishes it without them.
  const std::string git =
      "git+https://ci:t0ken@example.com/org/repo.git?branch=main#0123456789abcdef0123456789abcdef01234567";
  const json c = package("c", git, json::array());
  const json b = package("b", reg, json::array({declared("c", true)}), {{"y", {"dep:c"}}});
  const json a = package("a", reg, json::array({declared("b", true), declared("e", true)}),
                         {{"default", {"x"}}, {"x", {"b/y"}}, {"winfeat", {"dep:e"}}});
  const json d = package("d", reg, json::array(), {{"z", json::array()}});
  const json e = package("e", reg, json::array());
  // f declares g, as cargo metadata lists every dependency a package declares
  // (an edge with no declaration is kept, so an undeclared g would be in).
  // A sparse registry with credentials in its URL: published without them too.
  const json f = package("f", "sparse+https://reader:s3cret@index.example.com/", json::array({declared("g", true)}),
                         {{"default", {"big"}}, {"big", {"dep:g"}}}, "MIT");
  const json g = package("g", reg, json::array());
  const json app = package(
      "app", "",
      json::array({declared("a"), declared("d", true), declared("e", false, json::array(), nullptr, "cfg(windows)"),
                   declared("f", false, json::array(), nullptr, nullptr, "eff", false),
                   declared("a", false, {"winfeat"}, nullptr, "cfg(windows)")}),
      {{"w", {"d?/z"}}});
  json meta = {{"packages", json::array({app, a, b, c, d, e, f, g})},
               {"workspace_root", "/w"},
               {"resolve",
                {{"root", app["id"]},
                 {"nodes", json::array({node(app, {"w"}, json::array({edge(a, json::array({normal_kind()})),
                                                                       edge(d, json::array({normal_kind()})),
                                                                       edge(f, json::array({normal_kind()}))})),
                                        node(a, {"default", "winfeat", "x"},
                                             json::array({edge(b, json::array({normal_kind()})),
                                                          edge(e, json::array({normal_kind()}))})),
                                        node(b, {"y"}, json::array({edge(c, json::array({normal_kind()}))})),
                                        node(c, json::array(), json::array()), node(d, {"z"}, json::array()),
                                        node(e, json::array(), json::array()),
                                        node(f, {"big", "default"}, json::array({edge(g, json::array({normal_kind()}))})),
                                        node(g, json::array(), json::array())})}}}};
  // (A resolve node keeps every edge cargo resolved, here also d and f -> g:
  // the walk decides which the build uses.)
  const std::string lock = lock_for({app, a, b, c, d, e, f, g});
  const auto pkgs = cargo::normal_dependencies(meta, lock, app["id"].get<std::string>());
  BOOST_TEST(names(pkgs) == (std::vector<std::string>{"a 1.0.0", "app 1.0.0", "b 1.0.0", "c 1.0.0", "f 1.0.0"}),
             boost::test_tools::per_element());
  const auto& gc = find(pkgs, "c");
  BOOST_TEST(std::string(cargo::to_string(gc.source)) == "git");
  BOOST_TEST(gc.source_url == "https://example.com/org/repo.git");
  BOOST_TEST(gc.git_revision == "0123456789abcdef0123456789abcdef01234567");
  BOOST_TEST(gc.checksum.empty());
  BOOST_TEST(find(pkgs, "f").source_url == "sparse+https://index.example.com/");
  BOOST_TEST(find(pkgs, "f").license == "MIT");
  BOOST_TEST(find(pkgs, "a").checksum == fake_checksum("a"));
  BOOST_TEST(find(pkgs, "a").checksum == lock_checksum(lock, "a"));
  BOOST_TEST(find(pkgs, "f").checksum == lock_checksum(lock, "f"));

  // With f's default features on, g comes in; with app's own feature "w" off
  // nothing changes for d (weak); turning d on makes "d?/z" apply.
  meta["packages"][0]["dependencies"][3]["uses_default_features"] = true;
  meta["resolve"]["nodes"][0]["features"] = json::array({"w", "d"});
  meta["packages"][0]["features"]["d"] = json::array({"dep:d"});
  const auto more = cargo::normal_dependencies(meta, lock, app["id"].get<std::string>());
  BOOST_TEST(names(more) == (std::vector<std::string>{"a 1.0.0", "app 1.0.0", "b 1.0.0", "c 1.0.0", "d 1.0.0",
                                                      "f 1.0.0", "g 1.0.0"}),
             boost::test_tools::per_element());
  BOOST_TEST(find(more, "g").checksum == lock_checksum(lock, "g"));
  // d is now an edge of app's too.
  BOOST_TEST(find(more, "app").dependencies == (std::vector<std::string>{a["id"], d["id"], f["id"]}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(lock_format_1_checksums) {
  const json meta = fixture_json("metadata.json");
  // Format 1 keeps checksums in [metadata]; sources on the [[package]] entries.
  const std::string lock = std::string("[[package]]\nname = \"sbomfix\"\nversion = \"0.1.0\"\n\n") +
                           "[[package]]\nname = \"localdep\"\nversion = \"0.3.0\"\n\n" +
                           "[[package]]\nname = \"itoa\"\nversion = \"1.0.19\"\nsource = \"" + kCratesIo + "\"\n\n" +
                           "[[package]]\nname = \"cfg-if\"\nversion = \"1.0.5\"\nsource = \"" + kCratesIo + "\"\n\n" +
                           "[metadata]\n\"checksum itoa 1.0.19 (" + kCratesIo + ")\" = \"" + std::string(64, 'e') +
                           "\"\n";
  const auto pkgs = cargo::normal_dependencies(meta, lock, kRoot);
  BOOST_TEST(find(pkgs, "itoa").checksum == std::string(64, 'e'));
  BOOST_TEST(find(pkgs, "cfg-if").checksum.empty());
}

BOOST_AUTO_TEST_CASE(refuses_inputs_it_cannot_trust) {
  const json meta = fixture_json("metadata.json");
  const std::string lock = read_file(kFixtures / "Cargo.lock");
  json no_deps = meta;
  no_deps.erase("resolve");
  expect_error([&] { cargo::normal_dependencies(no_deps, lock, kRoot); }, ErrorCode::Cargo, "--no-deps");
  expect_error([&] { cargo::normal_dependencies(meta, lock, "path+file:///elsewhere#1.0.0"); }, ErrorCode::Cargo,
               "path+file:///elsewhere#1.0.0");
  // A lock of another workspace: itoa is not in it.
  std::string other = lock;
  other.replace(other.find("name = \"itoa\""), 13, "name = \"itoz\"");
  expect_error([&] { cargo::normal_dependencies(meta, other, kRoot); }, ErrorCode::Cargo, "no entry for itoa 1.0.19");
  expect_error([&] { cargo::normal_dependencies(meta, "[[package]\nname =", kRoot); }, ErrorCode::InvalidArgument,
               "Cargo.lock is not TOML");
  std::string bad_sum = lock;
  bad_sum.replace(bad_sum.find("3bd1574e"), 8, "3BD1574E");
  expect_error([&] { cargo::normal_dependencies(meta, bad_sum, kRoot); }, ErrorCode::InvalidArgument,
               "checksum of itoa 1.0.19");
  expect_error([&] { cargo::normal_dependencies(meta, std::string(cargo::kMaxCargoLockBytes + 1, ' '), kRoot); },
               ErrorCode::InvalidArgument, "larger than");
  json bad_kinds = meta;
  bad_kinds["resolve"]["nodes"][0]["deps"] = json::array({{{"name", "x"}, {"pkg", "x"}, {"dep_kinds", 7}}});
  expect_error([&] { cargo::normal_dependencies(bad_kinds, lock, kRoot); }, ErrorCode::Cargo, "dep_kinds");
  json dangling = meta;
  for (auto& n : dangling["resolve"]["nodes"])
    if (n["id"] == kRoot) n["deps"].push_back({{"name", "ghost"}, {"pkg", "ghost#1"}, {"dep_kinds", {normal_kind()}}});
  expect_error([&] { cargo::normal_dependencies(dangling, lock, kRoot); }, ErrorCode::Cargo, "ghost#1");
}

/// A runner that answers `cargo metadata` with a recording and keeps the request.
class RecordedMetadata : public rustimg::ProcessRunner {
 public:
  explicit RecordedMetadata(std::string out) : out_(std::move(out)) {}
  rustimg::ProcessResult run(const rustimg::ProcessRequest& request) override {
    requests.push_back(request);
    return {0, out_, ""};
  }
  std::vector<rustimg::ProcessRequest> requests;

 private:
  std::string out_;
};

BOOST_AUTO_TEST_CASE(read_runs_cargo_metadata_with_the_build_flags) {
  const fs::path dir = fs::temp_directory_path() / ("rustimg-deps-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "Cargo.toml") << "[package]\n";
  json meta = fixture_json("metadata-hash.json");
  meta["workspace_root"] = dir.string();
  RecordedMetadata runner(meta.dump());
  cargo::BuildSettings settings;
  settings.features = {"hash", "other"};
  settings.default_features = false;
  expect_error([&] { cargo::read_normal_dependencies(runner, dir, settings, "aarch64-unknown-linux-musl", kRoot); },
               ErrorCode::NotFound, "cargo generate-lockfile");
  fs::copy_file(kFixtures / "Cargo.lock", dir / "Cargo.lock");
  const auto pkgs = cargo::read_normal_dependencies(runner, dir, settings, "aarch64-unknown-linux-musl", kRoot);
  BOOST_TEST(pkgs.size() == 5u);
  // The recording's crate sits at /ws/sbomfix, outside the workspace root
  // given above: its path is absolute, not "../"-relative to that root.
  BOOST_TEST(find(pkgs, "sbomfix").path == "/ws/sbomfix");
  BOOST_TEST(find(pkgs, "localdep").path == "/ws/sbomfix/localdep");
  const std::vector<std::string> want = {"cargo", "metadata", "--format-version", "1", "--filter-platform",
                                         "aarch64-unknown-linux-musl", "--locked", "--no-default-features",
                                         "--features", "hash,other"};
  BOOST_TEST(runner.requests.back().argv == want, boost::test_tools::per_element());
  BOOST_TEST(runner.requests.back().cwd == dir.string());
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_SUITE_END()

// --- cargo-auditable's .dep-v0 ---------------------------------------------------

namespace {

std::vector<std::byte> to_bytes(const std::string& s) {
  std::vector<std::byte> out(s.size());
  std::transform(s.begin(), s.end(), out.begin(), [](char c) { return std::byte(static_cast<unsigned char>(c)); });
  return out;
}

std::string zlib(const std::string& text) {
  uLongf size = compressBound(static_cast<uLong>(text.size()));
  std::string out(size, '\0');
  BOOST_REQUIRE(compress2(reinterpret_cast<Bytef*>(out.data()), &size, reinterpret_cast<const Bytef*>(text.data()),
                          static_cast<uLong>(text.size()), 9) == Z_OK);
  out.resize(size);
  return out;
}

void put(std::string& s, std::size_t at, std::uint64_t v, unsigned width) {
  for (unsigned i = 0; i < width; ++i) s[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

/// A minimal ELF64 LSB relocatable file: sections null, `name` (when
/// `contents` is given; SHT_PROGBITS or `type`), .shstrtab.
std::string make_elf(const std::optional<std::string>& contents, const std::string& name = ".dep-v0",
                     std::uint32_t type = 1, std::uint64_t size_override = 0) {
  std::string file(64, '\0');
  file.replace(0, 4, "\x7f" "ELF");
  file[4] = 2;  // ELFCLASS64
  file[5] = 1;  // little-endian
  file[6] = 1;
  put(file, 16, 1, 2);   // ET_REL
  put(file, 18, 62, 2);  // x86-64
  put(file, 20, 1, 4);
  const std::size_t data_at = file.size();
  file += contents.value_or("");
  const std::size_t names_at = file.size();
  const std::string names = std::string("\0", 1) + name + std::string("\0", 1) + ".shstrtab" + std::string("\0", 1);
  file += names;
  const std::size_t shoff = file.size();
  const std::uint64_t count = contents ? 3 : 2;
  file += std::string(64 * count, '\0');
  auto section = [&](std::uint64_t i, std::uint32_t name_off, std::uint32_t t, std::uint64_t off, std::uint64_t sz) {
    const std::size_t at = shoff + 64 * i;
    put(file, at, name_off, 4);
    put(file, at + 4, t, 4);
    put(file, at + 24, off, 8);
    put(file, at + 32, sz, 8);
  };
  if (contents) section(1, 1, type, data_at, size_override ? size_override : contents->size());
  section(count - 1, static_cast<std::uint32_t>(name.size() + 2), 3, names_at, names.size());
  put(file, 40, shoff, 8);
  put(file, 52, 64, 2);
  put(file, 58, 64, 2);
  put(file, 60, count, 2);
  put(file, 62, count - 1, 2);
  return file;
}

std::optional<std::vector<rustimg::elf::AuditablePackage>> read_dep(const std::string& elf) {
  const auto bytes = to_bytes(elf);
  return rustimg::elf::read_auditable_dependencies(bytes, "app.bin");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(elf_auditable)

BOOST_AUTO_TEST_CASE(reads_what_cargo_auditable_embedded) {
  // auditable.o: a small object with the .dep-v0 section that `cargo
  // auditable build --release --features hash` (cargo-auditable 0.7.7) wrote
  // into the sbomfix binary, added with objcopy --add-section.
  const auto list = rustimg::elf::read_auditable_dependencies(to_bytes(read_file(kFixtures / "auditable.o")), "auditable.o");
  BOOST_REQUIRE(list.has_value());
  BOOST_REQUIRE(list->size() == 7u);
  const auto& pkgs = *list;
  BOOST_TEST(pkgs[0].name == "autocfg");
  BOOST_TEST(pkgs[0].kind == "build");
  BOOST_TEST(pkgs[1].name == "cfg-if");
  BOOST_TEST(pkgs[1].version == "1.0.5");
  BOOST_TEST(pkgs[1].source == "crates.io");
  BOOST_TEST(pkgs[1].kind == "runtime");
  BOOST_TEST(pkgs[4].name == "localdep");
  BOOST_TEST(pkgs[4].source == "local");
  BOOST_TEST(pkgs[4].dependencies == (std::vector<std::size_t>{1, 5}), boost::test_tools::per_element());
  BOOST_TEST(pkgs[6].name == "sbomfix");
  BOOST_TEST(pkgs[6].root);
  BOOST_TEST(!pkgs[4].root);
  BOOST_TEST(pkgs[6].dependencies == (std::vector<std::size_t>{0, 1, 2, 3, 4}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(no_section_is_nullopt) {
  BOOST_TEST(!read_dep(make_elf(std::nullopt)).has_value());
  BOOST_TEST(!read_dep(make_elf(zlib(R"({"packages":[]})"), ".dep-v1")).has_value());
  const auto empty = read_dep(make_elf(zlib(R"({"packages":[]})")));
  BOOST_REQUIRE(empty.has_value());
  BOOST_TEST(empty->empty());
}

BOOST_AUTO_TEST_CASE(refuses_hostile_sections) {
  const auto fails = [](const std::string& elf, const std::string& needle) {
    expect_error([&] { read_dep(elf); }, ErrorCode::Elf, needle);
    expect_error([&] { read_dep(elf); }, ErrorCode::Elf, "app.bin");
  };
  fails("not an elf at all", "not an ELF file");
  fails(make_elf(std::string("this is not zlib")), "not valid zlib data");
  fails(make_elf(zlib(R"({"packages":[]})").substr(0, 8)), "not valid zlib data");
  // 9 MiB of JSON whitespace compresses to a few KiB.
  fails(make_elf(zlib(std::string(9 * 1024 * 1024, ' ') + R"({"packages":[]})")), "inflates to more than 8388608");
  fails(make_elf(zlib(R"({"packages":[{"name":"a","version":"1","source":"local","dependencies":[1]}]})")),
        "dependency index 1, past the end of its 1 packages");
  fails(make_elf(zlib(R"({"packages":[{"name":"a","version":"1","source":"local","dependencies":[-1]}]})")),
        "not an index");
  fails(make_elf(zlib(R"({"packages":[{"name":"a","version":"1","source":"local","dependencies":[0]}]})")),
        "depends on itself");
  fails(make_elf(zlib(R"({"packages":[{"name":"a","version":"1","source":"local","dependencies":[1]},)"
                      R"({"name":"b","version":"1","source":"local","dependencies":[0]}]})")),
        "cycle");
  fails(make_elf(zlib(R"({"packages":[{"name":"a","version":"1","source":"local","root":true},)"
                      R"({"name":"b","version":"1","source":"local","root":true}]})")),
        "more than one package is marked root");
  fails(make_elf(zlib(R"({"packages":[{"name":"a","version":1,"source":"local"}]})")), "no string \"version\"");
  fails(make_elf(zlib(R"({"pkgs":[]})")), "no array \"packages\"");
  fails(make_elf(zlib(std::string(200, '[') + std::string(200, ']'))), "nested deeper");
  std::string many = R"({"packages":[)";
  for (std::size_t i = 0; i <= rustimg::elf::kMaxAuditablePackages; ++i) many += i ? ",{}" : "{}";
  fails(make_elf(zlib(many + "]}")), "more than the 100000");
  fails(make_elf(zlib(R"({"packages":[]})"), ".dep-v0", 8), "SHT_NOBITS");
  fails(make_elf(zlib(R"({"packages":[]})"), ".dep-v0", 1, 1u << 30), "extends past the end");
}

BOOST_AUTO_TEST_SUITE_END()
