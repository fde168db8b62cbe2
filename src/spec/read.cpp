// The generic half of the spec's validation: diagnostics with JSON paths,
// unknown keys with "did you mean", and readers for plain JSON values.
#include <cctype>
#include <charconv>
#include <climits>

#include "spec/rules.hpp"

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

/// Edit distance counting an adjacent transposition as one edit.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

/// The valid key `unknown` was probably meant to be, if one is close enough.
std::optional<std::string_view> suggest_key(std::string_view unknown, const KeySet& set) {
  const std::string wanted = kebab_case(unknown);
  std::optional<std::string_view> best;
  std::size_t best_distance = SIZE_MAX;
  auto consider = [&](std::string_view name, std::string_view meant) {
    const std::size_t distance = edit_distance(wanted, name);
    if (distance <= std::max<std::size_t>(1, name.size() / 3) && distance < best_distance) {
      best = meant;
      best_distance = distance;
    }
  };
  for (const auto key : set.keys) consider(key, key);
  for (const auto& [alias, key] : set.aliases) consider(alias, key);
  return best;
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
                                       std::initializer_list<std::string_view> choices) {
  auto s = read_string(v, c, path);
  if (!s) return std::nullopt;
  if (std::find(choices.begin(), choices.end(), *s) != choices.end()) return s;
  std::string expected;
  std::size_t i = 0;
  for (const auto choice : choices) {
    expected += (i == 0 ? "" : (i + 1 == choices.size() ? " or " : ", ")) + quote(choice);
    ++i;
  }
  c.error(path, "expected " + expected + ", got " + quote(*s));
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
