// `rustimg spec`: print the resolved image spec, or every problem with it.
#include <filesystem>
#include <iostream>
#include <memory>
#include <vector>
#include <optional>
#include <string>

#include "cli.hpp"
#include "spec_flags.hpp"
#include "rustimg/error.hpp"
#include "rustimg/json.hpp"
#include "rustimg/plan.hpp"
#include "rustimg/spec.hpp"

namespace rustimg::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kUsage = R"(usage: rustimg spec [options] [CRATE_DIR]

Print the resolved image spec as JSON: the spec file, [package.metadata.rustimg],
[workspace.metadata.rustimg] and the defaults, merged. Every problem found is
printed on stderr, one per line (exit status 2).

CRATE_DIR defaults to the current directory when it holds a Cargo.toml.
)";

struct Options {
  CLI::App* app = nullptr;
  std::string crate_dir;
  std::string spec_file;
  SpecFlags flags;  ///< --set KEY=VALUE and cargo's flags
  std::string package, bin;
};

int run(const Options& o) {
  reject_extras(*o.app, "more than one CRATE_DIR given");
  SpecLoadOptions load;
  load.crate_dir = o.crate_dir;
  if (o.crate_dir.empty()) {
    std::error_code ec;
    if (fs::is_regular_file("Cargo.toml", ec)) load.crate_dir = ".";
  }
  load.spec_file = o.spec_file;
  json overrides;  // null until a --set
  o.flags.apply(overrides);
  if (!o.package.empty()) add_override(overrides, "package=" + json(o.package).dump());
  if (!o.bin.empty()) add_override(overrides, "bin=" + json(o.bin).dump());
  load.overrides = overrides;
  try {
    const Spec spec = pipeline::load_spec(load);
    std::cout << spec.to_json().dump(2) << '\n';
    return kExitOk;
  } catch (const SpecError& e) {
    // One problem per line, each already naming its source and JSON path.
    for (const auto& d : e.diagnostics()) std::cerr << d.to_string() << '\n';
    return kExitBadInput;
  } catch (const Error& e) {
    std::cerr << "rustimg spec: " << e.what() << '\n';
    return kExitBadInput;
  }
}

}  // namespace

Command add_spec(CLI::App& parent) {
  auto o = std::make_shared<Options>();
  o->app = add_command(parent, "spec", "print the resolved image spec as JSON", kUsage);
  o->app->add_option("--spec", o->spec_file, "read the spec from FILE instead of CRATE_DIR/rustimg.json")
      ->type_name("FILE");
  o->flags.add_to(*o->app);
  o->app->add_option("--package", o->package, "the workspace package to use (same as --set package=NAME)")
      ->type_name("NAME");
  o->app->add_option("--bin", o->bin, "the bin target to use (same as --set bin=NAME)")->type_name("NAME");
  o->app->add_option("CRATE_DIR", o->crate_dir, "the crate");
  return {o->app, [o] { return run(*o); }};
}

}  // namespace rustimg::cli
