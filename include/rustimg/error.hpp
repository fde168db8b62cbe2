// rustimg/error.hpp - the one exception type of the C++ API.
//
// Every fallible rustimg function throws rustimg::Error (or a subclass). The
// code() tells callers (and the C shim, which maps it to RUSTIMG_E* values)
// what kind of failure it was; what() is a complete, human-readable sentence
// that names the input at fault and, where possible, the fix.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace rustimg {

/// Failure classes. The numeric values are the C ABI's RUSTIMG_E* codes.
enum class ErrorCode : int {
  Generic = -1,          ///< anything without a more precise class
  InvalidArgument = -2,  ///< a malformed argument (reference, platform, flag...)
  NotFound = -3,         ///< a named file, package, bin or image does not exist
  Io = -4,               ///< reading or writing a file failed
  Spec = -5,             ///< the image spec is invalid (see SpecError)
  Elf = -6,              ///< the input is not a readable ELF file
  Verify = -7,           ///< the binary is not fit for the requested image
  Cargo = -8,            ///< running cargo failed
  Registry = -9,         ///< the registry refused or failed a request
  Auth = -10,            ///< authentication with a registry failed
  Cancelled = -11,       ///< a callback asked to stop
  Unsupported = -12,     ///< valid input that rustimg does not handle
};

/// Short stable name of a code ("spec", "elf", ...), used in JSON output.
const char* error_code_name(ErrorCode code) noexcept;

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

/// One problem found while validating a spec. `source` names where the value
/// came from (a file path, "Cargo.toml [package.metadata.rustimg]", "CLI"),
/// `path` is a JSON path such as "$.env.PORT".
struct SpecDiagnostic {
  std::string source;
  std::string path;
  std::string message;
  /// "rustimg.json: $.env.PORT: expected a string, got a number"
  std::string to_string() const;
};

/// Thrown when a spec does not validate; carries every problem found, not
/// just the first. what() joins them, one per line.
class SpecError : public Error {
 public:
  explicit SpecError(std::vector<SpecDiagnostic> diagnostics);
  const std::vector<SpecDiagnostic>& diagnostics() const noexcept { return diagnostics_; }

 private:
  std::vector<SpecDiagnostic> diagnostics_;
};

}  // namespace rustimg
