// rustimg/json.hpp - reading JSON that comes from outside.
//
// Specs, registry replies, docker config.json, cargo metadata, layouts and
// archives are untrusted: every one of them is parsed here, with a depth
// limit, so that no later walk, copy or dump of the value can overflow the
// stack (which would take down a Python or Go host program with it).
#pragma once

#include <cstddef>
#include <istream>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "rustimg/error.hpp"

namespace rustimg {

/// The deepest nesting of arrays and objects rustimg accepts in JSON it
/// reads: 128, the default recursion limit of serde_json (which cargo uses).
/// OCI manifests, indexes and configs, specs and docker config.json files
/// nest fewer than 10 levels.
inline constexpr std::size_t kMaxJsonDepth = 128;

/// JSON text that parse_json refused. what() is a whole sentence
/// ("<what>: invalid JSON at line 3, column 10: ..." or "<what>: JSON nested
/// deeper than 128 levels ..."); the parts are there for callers that format
/// their own diagnostics (the spec's "file:line:column: problem").
class JsonError : public Error {
 public:
  JsonError(ErrorCode code, const std::string& what, std::size_t line, std::size_t column, std::string problem,
            bool too_deep);
  /// 1-based position of the fault, 0 when the parser gives none.
  std::size_t line() const noexcept { return line_; }
  std::size_t column() const noexcept { return column_; }
  /// The problem without `what` or position: "invalid JSON: <detail>" or
  /// "JSON nested deeper than 128 levels ...".
  const std::string& problem() const noexcept { return problem_; }
  /// True when the text nests deeper than kMaxJsonDepth (it may be valid JSON).
  bool too_deep() const noexcept { return too_deep_; }

 private:
  std::size_t line_;
  std::size_t column_;
  std::string problem_;
  bool too_deep_;
};

/// Parses untrusted JSON text. Throws JsonError (a rustimg::Error with
/// `code`) naming `what` when the text is not JSON or nests deeper than
/// kMaxJsonDepth.
nlohmann::json parse_json(std::string_view text, const std::string& what, ErrorCode code = ErrorCode::InvalidArgument);
/// The same for the rest of a stream (a file the caller opened).
nlohmann::json parse_json(std::istream& in, const std::string& what, ErrorCode code = ErrorCode::InvalidArgument);

/// For callers with a fallback (a registry error body shown as text, a
/// command-line value taken as a string): the JSON value, or nullopt where
/// parse_json would throw.
std::optional<nlohmann::json> try_parse_json(std::string_view text);

}  // namespace rustimg
