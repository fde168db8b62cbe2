// `rustimg spec`: print the resolved image spec, or every problem with it.
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

#include "cli.hpp"
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

options:
  --spec FILE        read the spec from FILE instead of CRATE_DIR/rustimg.json
  --set KEY=VALUE    override one key; VALUE is JSON, or else a plain string
                     (--set ports=[8080] --set bin=app); KEY.NAME=VALUE sets
                     one entry of a map (--set env.PORT=8080 sets "8080")
  --package NAME     the workspace package to use (same as --set package=NAME)
  --bin NAME         the bin target to use (same as --set bin=NAME)
  -h, --help         show this help
)";

struct Options {
  fs::path crate_dir;
  fs::path spec_file;
  json overrides;  // null until a --set
  bool help = false;
};

/// Thrown for bad usage; the message is printed with a pointer to --help.
struct UsageError {
  std::string message;
};

/// VALUE as JSON when it parses, else as a plain string.
json parse_set_value(const std::string& text) {
  return rustimg::try_parse_json(text).value_or(json(text));
}

/// KEY=VALUE into `overrides`; "env.NAME=V" sets one entry of a map key.
void add_override(json& overrides, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw UsageError{"--set expects KEY=VALUE, got '" + assignment + "'"};
  }
  const std::string key = assignment.substr(0, eq);
  const json value = parse_set_value(assignment.substr(eq + 1));
  if (!overrides.is_object()) overrides = json::object();
  const auto dot = key.find('.');
  if (dot == std::string::npos) {
    overrides[key] = value;
    return;
  }
  // Map entries (env, labels, annotations) are strings: "--set env.N=1"
  // means "1", not the number 1. Only an object (a target table) stays JSON.
  json& map = overrides[key.substr(0, dot)];
  if (!map.is_object()) map = json::object();
  map[key.substr(dot + 1)] = value.is_object() ? value : json(assignment.substr(eq + 1));
}

/// The value of option `name` at args[i + 1]; advances i.
const std::string& option_value(std::span<const std::string> args, std::size_t& i) {
  if (i + 1 >= args.size()) throw UsageError{args[i] + " needs a value"};
  return args[++i];
}

Options parse_args(std::span<const std::string> args) {
  Options o;
  bool have_crate_dir = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") {
      o.help = true;
    } else if (arg == "--spec") {
      o.spec_file = option_value(args, i);
    } else if (arg == "--set") {
      add_override(o.overrides, option_value(args, i));
    } else if (arg == "--package" || arg == "--bin") {
      const std::string key = arg.substr(2);
      add_override(o.overrides, key + "=" + json(option_value(args, i)).dump());
    } else if (arg.size() > 1 && arg.front() == '-') {
      throw UsageError{"unknown option '" + arg + "'"};
    } else if (have_crate_dir) {
      throw UsageError{"more than one CRATE_DIR given ('" + o.crate_dir.string() + "' and '" + arg + "')"};
    } else {
      o.crate_dir = arg;
      have_crate_dir = true;
    }
  }
  if (!have_crate_dir) {
    std::error_code ec;
    if (fs::is_regular_file("Cargo.toml", ec)) o.crate_dir = ".";
  }
  return o;
}

int run(const Options& o) {
  SpecLoadOptions load;
  load.crate_dir = o.crate_dir;
  load.spec_file = o.spec_file;
  load.overrides = o.overrides;
  const Spec spec = pipeline::load_spec(load);
  std::cout << spec.to_json().dump(2) << '\n';
  return kExitOk;
}

}  // namespace

int spec_main(std::span<const std::string> args) {
  try {
    const Options options = parse_args(args);
    if (options.help) {
      std::cout << kUsage;
      return kExitOk;
    }
    return run(options);
  } catch (const UsageError& e) {
    std::cerr << "rustimg spec: " << e.message << "\nRun 'rustimg spec --help' for usage.\n";
    return kExitBadInput;
  } catch (const SpecError& e) {
    // One problem per line, each already naming its source and JSON path.
    for (const auto& d : e.diagnostics()) std::cerr << d.to_string() << '\n';
    return kExitBadInput;
  } catch (const Error& e) {
    std::cerr << "rustimg spec: " << e.what() << '\n';
    return kExitBadInput;
  }
}

}  // namespace rustimg::cli
