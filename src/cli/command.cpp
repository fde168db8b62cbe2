// The CLI11 plumbing every subcommand shares: its help layout, repeatable
// options, and unknown options with "did you mean".
#include <algorithm>
#include <memory>
#include <string_view>

#include "cli.hpp"
#include "rustimg/json.hpp"
#include "rustimg/suggest.hpp"

namespace rustimg::cli {
namespace {

/// Help as rustimg writes it: the command's own text (usage lines first),
/// then its options by group ("options:", "registry options:"), each with
/// what it means, then the footer.
class HelpFormatter : public CLI::Formatter {
 public:
  explicit HelpFormatter(std::string header) : header_(std::move(header)) { column_width(28); }

  std::string make_help(const CLI::App* app, std::string, CLI::AppFormatMode mode) const override {
    // make_groups() ends each group with a blank line.
    std::string out = header_ + "\n" + make_groups(app, mode);
    return out + app->get_footer();
  }
  std::string make_group(std::string group, bool is_positional, std::vector<const CLI::Option*> opts) const override {
    if (is_positional) return "";  // the usage lines name them
    std::string out = group + ":\n";
    for (const CLI::Option* opt : opts) out += make_option(opt, false);
    return out;
  }
  std::string make_option_name(const CLI::Option* opt, bool) const override {
    std::string names;
    for (const auto& s : opt->get_snames()) names += (names.empty() ? "-" : ", -") + s;
    for (const auto& l : opt->get_lnames()) names += (names.empty() ? "--" : ", --") + l;
    return names;
  }
  std::string make_option_opts(const CLI::Option* opt) const override {
    return opt->get_type_size() == 0 ? "" : " " + opt->get_type_name();
  }

 private:
  std::string header_;
};

/// Every name `app` takes an option by: "--output", "-o", ...
std::vector<std::string> option_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::Option* opt : app.get_options()) {
    for (const auto& l : opt->get_lnames()) names.push_back("--" + l);
    for (const auto& s : opt->get_snames()) names.push_back("-" + s);
  }
  return names;
}

}  // namespace

CLI::App* add_command(CLI::App& parent, const std::string& name, const std::string& summary,
                      const std::string& description, const std::string& footer) {
  CLI::App* app = parent.add_subcommand(name, summary);
  app->formatter(std::make_shared<HelpFormatter>(description));
  app->footer(footer);
  app->allow_extras();  // reported by reject_extras(), with "did you mean"
  app->option_defaults()->group("options")->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app->set_help_flag("-h,--help", "print this help");
  return app;
}

CLI::Option* add_repeatable(CLI::App& app, const std::string& name, std::vector<std::string>& into,
                            const std::string& description, const std::string& value_name) {
  return app.add_option(name, into, description)
      ->type_name(value_name)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

std::string did_you_mean(const std::string& typed, std::span<const std::string> names) {
  std::vector<std::string_view> views(names.begin(), names.end());
  const auto i = suggest::closest(typed, views);
  return i ? "; did you mean " + names[*i] + "?" : "";
}

/// "K=V" -> (K, V); `flag` names the option in the error.
std::pair<std::string, std::string> key_value(const std::string& flag, const std::string& s) {
  const auto eq = s.find('=');
  if (eq == std::string::npos || eq == 0) throw UsageError{flag + " expects KEY=VALUE, got \"" + s + "\""};
  return {s.substr(0, eq), s.substr(eq + 1)};
}

nlohmann::json command_value(const std::string& flag, const std::string& s) {
  if (!s.empty() && s.front() == '[') {
    try {
      return rustimg::parse_json(s, flag);
    } catch (const rustimg::JsonError&) {
      throw UsageError{flag + " looks like a JSON array but is not valid JSON: " + s};
    }
  }
  return nlohmann::json::array({s});
}

std::vector<std::string> join_option_values(const CLI::App& app, std::vector<std::string> args) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {  // the rest are positionals
      out.insert(out.end(), args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
      break;
    }
    const CLI::Option* opt = arg.size() > 1 && arg.front() == '-' && arg.find('=') == std::string::npos
                                 ? app.get_option_no_throw(arg)
                                 : nullptr;
    // Options that must have a value; flags and --push's optional REF are left to CLI11.
    const bool takes_value = opt != nullptr && opt->get_type_size() != 0 && opt->get_expected_min() > 0;
    if (!takes_value || i + 1 == args.size()) {
      out.push_back(arg);
      continue;
    }
    // "--cmd=-v"; "-o" by its long name, so an empty value stays one.
    const std::string name = arg.rfind("--", 0) == 0 || opt->get_lnames().empty() ? arg : "--" + opt->get_lnames()[0];
    out.push_back(name + (name.rfind("--", 0) == 0 ? "=" : "") + args[++i]);
  }
  return out;
}

void reject_extras(const CLI::App& app, const std::string& surplus) {
  for (const std::string& arg : app.remaining()) {
    if (arg == "--") continue;  // CLI11 keeps the positional mark among the extras
    if (arg.size() > 1 && arg.front() == '-') {
      const std::string name = arg.substr(0, arg.find('='));
      throw UsageError{"unknown option '" + name + "'" + did_you_mean(name, option_names(app))};
    }
    throw UsageError{(surplus.empty() ? "unexpected argument" : surplus) + " '" + arg + "'"};
  }
}

}  // namespace rustimg::cli
