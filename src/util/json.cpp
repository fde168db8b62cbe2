// The one parser of untrusted JSON: nlohmann's, with a depth limit.
#include "rustimg/json.hpp"

#include <algorithm>
#include <iterator>
#include <utility>

namespace rustimg {
namespace {

using nlohmann::json;

/// Whether arrays and objects in `text` nest deeper than kMaxJsonDepth
/// (strings skipped). Linear, and done before parsing: nlohmann's parser
/// with a callback, which could stop at the limit itself, is quadratic in
/// the length of an array of objects (after each element it searches the
/// parent for a discarded value), so a 4 MiB manifest of empty objects
/// would take hours. For text that is valid JSON the count is exact; text
/// that is not fails the parse anyway.
bool nests_too_deep(std::string_view text) {
  std::size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}

/// Line and column (1-based) of byte offset `offset` in `text`.
std::pair<std::size_t, std::size_t> line_column(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  const std::string_view before = text.substr(0, offset);
  const std::size_t line = 1 + static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n'));
  const auto last_newline = before.rfind('\n');
  const std::size_t column = last_newline == std::string_view::npos ? offset : offset - last_newline - 1;
  return {line, column + 1};
}

/// nlohmann's message without its "[json.exception...] parse error at line
/// L, column C: " prefix, and without the "; last read: '...'" that quotes
/// the input: the text may hold a password or a token, and errors never
/// carry secrets. The position says where the fault is.
std::string parse_error_detail(const json::parse_error& e) {
  std::string what = e.what();
  const auto at = what.find("column ");
  const auto colon = at == std::string::npos ? std::string::npos : what.find(": ", at);
  if (colon != std::string::npos) what = what.substr(colon + 2);
  constexpr std::string_view kQuote = "; last read: '";
  if (const auto quote = what.find(kQuote); quote != std::string::npos) {
    // What follows the quoted token, if anything, is "; expected <token kind>".
    const auto expected = what.rfind("'; expected ");
    what = what.substr(0, quote) + (expected != std::string::npos && expected >= quote + kQuote.size()
                                        ? what.substr(expected + 1)
                                        : std::string());
  }
  return what;
}

std::string message(const std::string& what, std::size_t line, std::size_t column, const std::string& problem) {
  std::string out = what + ": ";
  if (line != 0) out += "line " + std::to_string(line) + ", column " + std::to_string(column) + ": ";
  return out + problem;
}

}  // namespace

JsonError::JsonError(ErrorCode code, const std::string& what, std::size_t line, std::size_t column,
                     std::string problem, bool too_deep)
    : Error(code, message(what, line, column, problem)),
      line_(line),
      column_(column),
      problem_(std::move(problem)),
      too_deep_(too_deep) {}

json parse_json(std::string_view text, const std::string& what, ErrorCode code) {
  if (nests_too_deep(text))
    throw JsonError(code, what, 0, 0,
                    "JSON nested deeper than " + std::to_string(kMaxJsonDepth) +
                        " levels of arrays and objects, the most rustimg reads",
                    true);
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    // e.byte is 1-based: the position of the character that failed.
    const auto [line, column] = line_column(text, e.byte == 0 ? 0 : e.byte - 1);
    throw JsonError(code, what, line, column, "invalid JSON: " + parse_error_detail(e), false);
  } catch (const json::exception& e) {
    // out_of_range 406: a number too large for a double.
    throw JsonError(code, what, 0, 0,
                    e.id == 406 ? "invalid JSON: a number is out of range" : "invalid JSON", false);
  }
}

json parse_json(std::istream& in, const std::string& what, ErrorCode code) {
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  return parse_json(text, what, code);
}

std::optional<json> try_parse_json(std::string_view text) {
  try {
    return parse_json(text, "");
  } catch (const JsonError&) {
    return std::nullopt;
  }
}

}  // namespace rustimg
