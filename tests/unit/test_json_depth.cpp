// JSON read from outside (specs, registry replies, docker config.json, cargo
// metadata, layouts and archives) is parsed with a depth limit: deeply nested
// input is an error, never a stack overflow.
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "rustimg/cargo.hpp"
#include "rustimg/error.hpp"
#include "rustimg/json.hpp"
#include "rustimg/plan.hpp"
#include "rustimg/process.hpp"
#include "rustimg/registry.hpp"
#include "rustimg/spec.hpp"
#include "rustimg/store.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using rustimg::test::ScratchDir;
using rustimg::test::write_file;

namespace {

/// Far deeper than any stack allows a recursive walk to go.
constexpr std::size_t kHostile = 100000;

/// "[[[...]]]", `levels` arrays deep.
std::string deep_array(std::size_t levels) { return std::string(levels, '[') + std::string(levels, ']'); }

/// {"a":{"a":...1...}}, `levels` objects deep.
std::string deep_object(std::size_t levels) {
  std::string out;
  out.reserve(levels * 6 + 1);
  for (std::size_t i = 0; i < levels; ++i) out += "{\"a\":";
  out += '1';
  out += std::string(levels, '}');
  return out;
}

/// Runs `f`, which must throw rustimg::Error saying the input nests too deep.
template <class F>
void expect_too_deep(F&& f, const std::string& names) {
  try {
    f();
    BOOST_FAIL("expected a rustimg::Error for deeply nested JSON");
  } catch (const rustimg::Error& e) {
    const std::string msg = e.what();
    BOOST_TEST(msg.find("nested deeper than") != std::string::npos, "got: " << msg);
    BOOST_TEST(msg.find(names) != std::string::npos, "expected \"" << names << "\" in: " << msg);
  }
}

class FakeRunner final : public rustimg::ProcessRunner {
 public:
  explicit FakeRunner(std::string out) : out_(std::move(out)) {}
  rustimg::ProcessResult run(const rustimg::ProcessRequest&) override { return rustimg::ProcessResult{0, out_, ""}; }

 private:
  std::string out_;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(json_depth)

BOOST_AUTO_TEST_CASE(parse_json_accepts_the_limit_and_refuses_one_more) {
  using rustimg::kMaxJsonDepth;
  BOOST_TEST(rustimg::parse_json(deep_array(kMaxJsonDepth), "x").is_array());
  BOOST_TEST(rustimg::parse_json(deep_object(kMaxJsonDepth), "x").is_object());
  BOOST_TEST(rustimg::parse_json("[" + deep_object(kMaxJsonDepth - 1) + "]", "x").is_array());
  for (const std::string& text : {deep_array(kMaxJsonDepth + 1), deep_object(kMaxJsonDepth + 1),
                                  "[" + deep_object(kMaxJsonDepth) + "]", deep_array(kHostile), deep_object(kHostile),
                                  // Unterminated: refused for its depth before the parser reaches the end.
                                  std::string(kHostile, '[')}) {
    try {
      rustimg::parse_json(text, "manifest sha256:abc", rustimg::ErrorCode::Registry);
      BOOST_FAIL("expected a JsonError");
    } catch (const rustimg::JsonError& e) {
      BOOST_TEST(e.too_deep());
      BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(rustimg::ErrorCode::Registry));
      BOOST_TEST(std::string(e.what()) ==
                 "manifest sha256:abc: JSON nested deeper than 128 levels of arrays and objects, the most rustimg reads");
    }
    BOOST_TEST(!rustimg::try_parse_json(text).has_value());
  }
}

BOOST_AUTO_TEST_CASE(parse_json_syntax_errors_name_the_position_not_the_text) {
  try {
    rustimg::parse_json("{\n  \"auth\": \"c2VjcmV0\" x}", "config.json");
    BOOST_FAIL("expected a JsonError");
  } catch (const rustimg::JsonError& e) {
    const std::string msg = e.what();
    BOOST_TEST(!e.too_deep());
    BOOST_TEST(e.line() == 2u);
    BOOST_TEST(e.column() == 22u);
    BOOST_TEST(msg.substr(0, 35) == "config.json: line 2, column 22: inv", "got: " << msg);
    BOOST_TEST(msg.find("c2VjcmV0") == std::string::npos, "the input is quoted in: " << msg);
    BOOST_TEST(e.problem().substr(0, 14) == "invalid JSON: ");
  }
  BOOST_CHECK_THROW(rustimg::parse_json("1e999", "x"), rustimg::JsonError);
  BOOST_CHECK_THROW(rustimg::parse_json("", "x"), rustimg::JsonError);
  BOOST_TEST(!rustimg::try_parse_json("{").has_value());
  BOOST_TEST(rustimg::try_parse_json(R"({"a":[1,2]})").value() == nlohmann::json({{"a", {1, 2}}}));
  std::istringstream in(R"({"schemaVersion":2})");
  BOOST_TEST(rustimg::parse_json(in, "index.json")["schemaVersion"] == 2);
}

BOOST_AUTO_TEST_CASE(spec_file_nested_too_deep) {
  ScratchDir dir;
  for (const std::string& doc : {deep_array(kHostile), deep_object(kHostile), "{\"labels\":" + deep_object(kHostile) + "}",
                                 "{\"env\":{\"A\":" + deep_array(kHostile) + "}}"}) {
    const fs::path file = dir / "rustimg.json";
    write_file(file, doc);
    rustimg::SpecLoadOptions options;
    options.spec_file = file;
    options.use_cargo_metadata = false;
    expect_too_deep([&] { rustimg::pipeline::load_spec(options); }, file.string());
  }
}

BOOST_AUTO_TEST_CASE(registry_error_body_nested_too_deep) {
  namespace reg = rustimg::registry;
  // Not a usable error body: no entries, no crash (the caller shows the status).
  BOOST_TEST(reg::parse_error_body(deep_array(kHostile)).empty());
  BOOST_TEST(reg::parse_error_body(deep_object(kHostile)).empty());
  BOOST_TEST(reg::parse_error_body(R"({"errors":[{"code":"DENIED","message":"no","detail":)" + deep_array(kHostile) +
                                   "}]}")
                 .empty());
  BOOST_TEST(reg::parse_error_body(R"({"errors":[{"code":"DENIED","message":"no","detail":)" + deep_object(kHostile) +
                                   "}]}")
                 .empty());
  // A shallow structured detail is still shown.
  const auto entries = reg::parse_error_body(R"({"errors":[{"code":"DENIED","detail":{"a":[1]}}]})");
  BOOST_REQUIRE_EQUAL(entries.size(), 1u);
  BOOST_TEST(entries[0].detail == R"({"a":[1]})");
}

BOOST_AUTO_TEST_CASE(docker_config_nested_too_deep) {
  namespace reg = rustimg::registry;
  for (const std::string& doc : {deep_array(kHostile), deep_object(kHostile),
                                 "{\"auths\":{\"r.example\":" + deep_object(kHostile) + "}}",
                                 "{\"credHelpers\":" + deep_array(kHostile) + "}"})
    expect_too_deep([&] { reg::parse_auth_config(doc, "/home/u/.docker/config.json"); }, "/home/u/.docker/config.json");
}

BOOST_AUTO_TEST_CASE(layout_index_nested_too_deep) {
  for (const std::string& index : {deep_array(kHostile), deep_object(kHostile),
                                   "{\"schemaVersion\":2,\"manifests\":" + deep_array(kHostile) + "}",
                                   "{\"schemaVersion\":2,\"manifests\":[" + deep_object(kHostile) + "]}"}) {
    ScratchDir dir;
    write_file(dir / "oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
    write_file(dir / "index.json", index);
    write_file(dir / "blobs/sha256/.keep", "");
    rustimg::store::ImageLocation source;
    source.kind = rustimg::store::ImageLocation::Kind::OciLayout;
    source.path = dir.path();
    expect_too_deep([&] { rustimg::store::StoredImage image(source); }, "index.json");
  }
}

BOOST_AUTO_TEST_CASE(cargo_metadata_nested_too_deep) {
  ScratchDir crate;
  write_file(crate / "Cargo.toml", "[package]\nname = \"x\"\n");
  const std::string head = R"({"workspace_root":"/x","target_directory":"/x/target","workspace_members":["x"],)";
  for (const std::string& out :
       {deep_array(kHostile), head + R"("packages":[],"metadata":)" + deep_object(kHostile) + "}",
        head + R"("packages":[{"name":"x","version":"0.1.0","id":"x","manifest_path":"/x/Cargo.toml","targets":[],)" +
            R"("metadata":{"rustimg":)" + deep_array(kHostile) + "}}]}"}) {
    FakeRunner runner(out);
    expect_too_deep([&] { rustimg::cargo::read_metadata(crate.path(), runner); }, "cargo metadata");
  }
}

BOOST_AUTO_TEST_SUITE_END()
