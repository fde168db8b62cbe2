// Internal to src/spec: the building blocks of the rules table. Each reader
// checks one JSON value and returns it converted, or records a diagnostic
// (layer, JSON path, message) and returns nullopt, so validation carries on
// and one SpecError lists every problem.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "rustimg/error.hpp"
#include "rustimg/spec.hpp"

namespace rustimg::spec_rules {

using nlohmann::json;
namespace fs = std::filesystem;

inline constexpr std::uint32_t kMaxId = 4294967294U;  // (uid_t)-1 means "no change" to the kernel
inline constexpr std::uint32_t kMaxMode = 07777;

// --- diagnostics ----------------------------------------------------------------

/// `text` as a JSON string literal, for echoing input in messages.
std::string quote(std::string_view text);
/// "a string", "a number", "a boolean", "an array", "an object", "null".
std::string type_phrase(const json& v);
/// `$.env.PORT`, or `$.labels["org.example.x"]` when the key needs quoting.
std::string child_path(const std::string& parent, std::string_view key);
std::string index_path(const std::string& parent, std::size_t i);

/// Where diagnostics go while one layer is applied.
struct Ctx {
  std::string source;
  std::vector<SpecDiagnostic>& diags;

  void error(const std::string& path, std::string message) {
    diags.push_back(SpecDiagnostic{source, path, std::move(message)});
  }
  /// Records "expected <what>, got <type of v>"; returns nullopt for chaining.
  std::nullopt_t type_error(const std::string& path, std::string_view what, const json& v) {
    error(path, "expected " + std::string(what) + ", got " + type_phrase(v));
    return std::nullopt;
  }
};

// --- unknown keys and "did you mean" ----------------------------------------------

/// Keys valid in one JSON object, plus names people are likely to type
/// instead (Docker/compose vocabulary) mapped to the key they mean.
struct KeySet {
  std::span<const std::string_view> keys;
  std::span<const std::pair<std::string_view, std::string_view>> aliases = {};
};

/// Records "unknown key" (with a suggestion when one is close) for every
/// key of `obj` not in `set`.
void check_keys(const json& obj, Ctx& c, const std::string& path, const KeySet& set);

// --- generic readers ------------------------------------------------------------

std::optional<std::string> read_string(const json& v, Ctx& c, const std::string& path);
std::optional<std::string> read_nonempty_string(const json& v, Ctx& c, const std::string& path);
std::optional<bool> read_bool(const json& v, Ctx& c, const std::string& path);
/// `&v` when it is an object, else a diagnostic and nullptr.
const json* read_object(const json& v, Ctx& c, const std::string& path);
std::optional<std::vector<std::string>> read_string_list(const json& v, Ctx& c, const std::string& path);
/// entrypoint/cmd: an array of strings, or one string meaning one element.
std::optional<std::vector<std::string>> read_command(const json& v, Ctx& c, const std::string& path);
/// An object of strings whose names are environment variable names.
std::optional<std::map<std::string, std::string>> read_env(const json& v, Ctx& c, const std::string& path);
/// An object of strings with non-empty names (labels, annotations).
std::optional<std::map<std::string, std::string>> read_labels(const json& v, Ctx& c, const std::string& path);
/// One of `choices`, e.g. compression or libc.
std::optional<std::string> read_choice(const json& v, Ctx& c, const std::string& path,
                                       const std::vector<std::string_view>& choices);
/// An integer in [0, max], or a diagnostic "expected <what> between 0 and max, got v".
std::optional<std::uint32_t> read_bounded_uint(const json& v, Ctx& c, const std::string& path, std::string_view what,
                                               std::uint32_t max, std::string_view max_text);

/// A string made only of decimal digits, as an unsigned value (nullopt on overflow).
std::optional<std::uint64_t> parse_digits(std::string_view text);
bool all_digits(std::string_view text);
/// A numeric uid or gid in range.
bool is_id(std::string_view text);

/// An array whose elements are each read by `read_one`; nullopt if any fails.
template <class T, class ReadOne>
std::optional<std::vector<T>> read_list(const json& v, Ctx& c, const std::string& path, ReadOne read_one) {
  if (!v.is_array()) return c.type_error(path, "an array", v);
  std::vector<T> out;
  bool ok = true;
  for (std::size_t i = 0; i < v.size(); ++i) {
    std::optional<T> item = read_one(v[i], c, index_path(path, i));
    if (item) out.push_back(std::move(*item));
    ok = ok && item.has_value();
  }
  if (!ok) return std::nullopt;
  return out;
}

/// An object whose values are each read by `read_one`; `key_problem(key)`
/// says what is wrong with a name (nullopt: nothing). nullopt if any fails.
template <class T, class KeyProblem, class ReadOne>
std::optional<std::map<std::string, T>> read_map(const json& v, Ctx& c, const std::string& path,
                                                 KeyProblem key_problem, ReadOne read_one) {
  if (!v.is_object()) return c.type_error(path, "an object", v);
  std::map<std::string, T> out;
  bool ok = true;
  for (const auto& [key, value] : v.items()) {
    const std::string item_path = child_path(path, key);
    if (const std::optional<std::string> problem = key_problem(key)) {
      c.error(item_path, *problem);
      ok = false;
    }
    std::optional<T> item = read_one(value, c, item_path);
    if (item) out[key] = std::move(*item);
    ok = ok && item.has_value();
  }
  if (!ok) return std::nullopt;
  return out;
}

// --- the key table ----------------------------------------------------------------

/// Checks one top-level key's value and, when valid, writes it into `spec`.
using Apply = void (*)(const json& value, Ctx& c, const std::string& path, Spec& spec);

struct Rule {
  std::string_view key;
  Apply apply;
};

/// One rule per top-level key, in schema order.
std::span<const Rule> rules();
/// The top-level keys and the aliases "did you mean" knows.
KeySet top_level_keys();

// --- per-key readers shared by the table and the serialisation -------------------

/// Parses a Go duration ("300ms", "1m30s", "1.5h"; no sign) into nanoseconds.
std::optional<std::int64_t> parse_go_duration(std::string_view text);
/// The inverse of parse_go_duration, compact: "1m30s", "500ms", "0s".
std::string format_go_duration(std::int64_t ns);

std::optional<std::string> read_base(const json& v, Ctx& c, const std::string& path);
/// "base-key": a PEM public key file inside the crate directory.
std::optional<std::string> read_base_key(const json& v, Ctx& c, const std::string& path);
std::optional<std::string> read_workdir(const json& v, Ctx& c, const std::string& path);
std::optional<std::string> read_user(const json& v, Ctx& c, const std::string& path);
std::optional<std::vector<std::string>> read_ports(const json& v, Ctx& c, const std::string& path);
std::optional<std::string> read_stop_signal(const json& v, Ctx& c, const std::string& path);
std::optional<std::vector<std::string>> read_tags(const json& v, Ctx& c, const std::string& path);
/// "repository": an image repository without tag or digest ("ghcr.io/org").
std::optional<std::string> read_repository(const json& v, Ctx& c, const std::string& path);
std::optional<oci::HealthConfig> read_healthcheck(const json& v, Ctx& c, const std::string& path);
std::optional<std::vector<Asset>> read_assets(const json& v, Ctx& c, const std::string& path);
/// true/false, or a path to a PEM bundle inside the crate directory.
void apply_ca_certificates(const json& v, Ctx& c, const std::string& path, Spec& s);
/// A path or a list of paths to PEM files inside the crate directory.
std::optional<std::vector<std::string>> read_extra_ca_certificates(const json& v, Ctx& c, const std::string& path);

}  // namespace rustimg::spec_rules
