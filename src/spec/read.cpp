// The generic half of the spec's validation: diagnostics with JSON paths,
// unknown keys with "did you mean", and readers for plain JSON values.
#include <cctype>
#include <charconv>
#include <climits>

#include "spec/rules.hpp"
#include "rustimg/suggest.hpp"

namespace rustimg::spec_rules {

/// `text` as a JSON string literal, for echoing input in messages.
std::string quote(std::string_view text) {
  return json(std::string(text)).dump(-1, ' ', false, json::error_handler_t::replace);
}

/// "a string", "a number", "a boolean", "an array", "an object", "null".
std::string type_phrase(const json& v) {
  switch (v.type()) {
    case json::value_t::string: return "a string";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float: return "a number";
    case json::value_t::array: return "an array";
    case json::value_t::object: return "an object";
    default: return "null";
  }
}

/// `$.env.PORT`, or `$.labels["org.example.x"]` when the key needs quoting.
std::string child_path(const std::string& parent, std::string_view key) {
  const bool plain = !key.empty() && std::all_of(key.begin(), key.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-';
  });
  return plain ? parent + "." + std::string(key) : parent + "[" + quote(key) + "]";
}

std::string index_path(const std::string& parent, std::size_t i) {
  return parent + "[" + std::to_string(i) + "]";
}


namespace {

/// "size_optimize", "sizeOptimize", "Size-Optimize" -> "size-optimize".
std::string kebab_case(std::string_view key) {
  std::string out;
  for (std::size_t i = 0; i < key.size(); ++i) {
    const auto ch = static_cast<unsigned char>(key[i]);
    if (std::isupper(ch) && i > 0 && std::islower(static_cast<unsigned char>(key[i - 1]))) out += '-';
    out += ch == '_' ? '-' : static_cast<char>(std::tolower(ch));
  }
  return out;
}

/// The valid key `unknown` was probably meant to be, if one is close enough.
std::optional<std::string_view> suggest_key(std::string_view unknown, const KeySet& set) {
  std::vector<std::string_view> names;
  std::vector<std::string_view> meant;
  for (const auto key : set.keys) {
    names.push_back(key);
    meant.push_back(key);
  }
  for (const auto& [alias, key] : set.aliases) {
    names.push_back(alias);
    meant.push_back(key);
  }
  const auto i = suggest::closest(kebab_case(unknown), names);
  if (!i) return std::nullopt;
  return meant[*i];
}

}  // namespace

void check_keys(const json& obj, Ctx& c, const std::string& path, const KeySet& set) {
  for (const auto& [key, value] : obj.items()) {
    if (std::find(set.keys.begin(), set.keys.end(), key) != set.keys.end()) continue;
    std::string message = "unknown key";
    if (const auto meant = suggest_key(key, set)) {
      message += "; did you mean " + quote(*meant) + "?";
    } else if (set.keys.size() <= 6) {
      message += "; expected one of:";
      for (const auto k : set.keys) message += " " + std::string(k);
    }
    c.error(child_path(path, key), message);
  }
}

std::optional<std::string> read_string(const json& v, Ctx& c, const std::string& path) {
  if (!v.is_string()) return c.type_error(path, "a string", v);
  return v.get<std::string>();
}

std::optional<std::string> read_nonempty_string(const json& v, Ctx& c, const std::string& path) {
  auto s = read_string(v, c, path);
  if (s && s->empty()) {
    c.error(path, "must not be empty");
    return std::nullopt;
  }
  return s;
}

std::optional<bool> read_bool(const json& v, Ctx& c, const std::string& path) {
  if (!v.is_boolean()) return c.type_error(path, "a boolean", v);
  return v.get<bool>();
}

const json* read_object(const json& v, Ctx& c, const std::string& path) {
  if (!v.is_object()) {
    c.type_error(path, "an object", v);
    return nullptr;
  }
  return &v;
}


std::optional<std::vector<std::string>> read_string_list(const json& v, Ctx& c, const std::string& path) {
  return read_list<std::string>(v, c, path, read_string);
}

/// entrypoint/cmd: an array of strings, or one string meaning one element.
std::optional<std::vector<std::string>> read_command(const json& v, Ctx& c, const std::string& path) {
  if (v.is_string()) return std::vector<std::string>{v.get<std::string>()};
  if (!v.is_array()) return c.type_error(path, "an array of strings or a string", v);
  return read_string_list(v, c, path);
}

namespace {

bool is_env_name(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name.front()))) return false;
  return std::all_of(name.begin(), name.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_';
  });
}

constexpr std::string_view kBadEnvName = "invalid variable name; use letters, digits and '_', not starting with a digit";

}  // namespace

std::optional<std::map<std::string, std::string>> read_env(const json& v, Ctx& c, const std::string& path) {
  return read_map<std::string>(
      v, c, path,
      [](std::string_view key) { return is_env_name(key) ? std::nullopt : std::optional<std::string>(kBadEnvName); },
      read_string);
}

std::optional<std::map<std::string, std::string>> read_labels(const json& v, Ctx& c, const std::string& path) {
  return read_map<std::string>(
      v, c, path,
      [](std::string_view key) {
        return key.empty() ? std::optional<std::string>("the name must not be empty") : std::nullopt;
      },
      read_string);
}


/// One of `choices`, e.g. compression or libc.
std::optional<std::string> read_choice(const json& v, Ctx& c, const std::string& path,
                                       const std::vector<std::string_view>& choices) {
  auto s = read_string(v, c, path);
  if (!s) return std::nullopt;
  if (std::find(choices.begin(), choices.end(), *s) != choices.end()) return s;
  std::string expected;
  std::size_t i = 0;
  for (const auto choice : choices) {
    expected += (i == 0 ? "" : (i + 1 == choices.size() ? " or " : ", ")) + quote(choice);
    ++i;
  }
  std::string message = "expected " + expected + ", got " + quote(*s);
  if (const auto meant = suggest::closest(*s, choices)) message += "; did you mean " + quote(choices[*meant]) + "?";
  c.error(path, message);
  return std::nullopt;
}

/// A string made only of decimal digits, as an unsigned value (nullopt on overflow).
std::optional<std::uint64_t> parse_digits(std::string_view text) {
  if (text.empty() || !std::all_of(text.begin(), text.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
}

bool is_id(std::string_view text) {
  const auto n = parse_digits(text);
  return n && *n <= kMaxId;
}

/// An integer in [0, max], or a diagnostic "expected <what> between 0 and max, got v".
std::optional<std::uint32_t> read_bounded_uint(const json& v, Ctx& c, const std::string& path, std::string_view what,
                                               std::uint32_t max, std::string_view max_text) {
  if (v.is_number_unsigned() && v.get<std::uint64_t>() <= max) return static_cast<std::uint32_t>(v.get<std::uint64_t>());
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0 && v.get<std::int64_t>() <= max) {
    return static_cast<std::uint32_t>(v.get<std::int64_t>());
  }
  c.error(path, "expected " + std::string(what) + " between 0 and " + std::string(max_text) + ", got " + v.dump());
  return std::nullopt;
}

}  // namespace rustimg::spec_rules
