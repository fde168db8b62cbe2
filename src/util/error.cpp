#include "rustimg/error.hpp"

namespace rustimg {

const char* error_code_name(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::Generic: return "generic";
    case ErrorCode::InvalidArgument: return "invalid_argument";
    case ErrorCode::NotFound: return "not_found";
    case ErrorCode::Io: return "io";
    case ErrorCode::Spec: return "spec";
    case ErrorCode::Elf: return "elf";
    case ErrorCode::Verify: return "verify";
    case ErrorCode::Cargo: return "cargo";
    case ErrorCode::Registry: return "registry";
    case ErrorCode::Auth: return "auth";
    case ErrorCode::Cancelled: return "cancelled";
    case ErrorCode::Unsupported: return "unsupported";
  }
  return "generic";
}

std::string SpecDiagnostic::to_string() const {
  std::string out;
  if (!source.empty()) out += source + ": ";
  if (!path.empty()) out += path + ": ";
  out += message;
  return out;
}

static std::string join_diagnostics(const std::vector<SpecDiagnostic>& diags) {
  std::string out;
  for (const auto& d : diags) {
    if (!out.empty()) out += '\n';
    out += d.to_string();
  }
  return out.empty() ? std::string("invalid spec") : out;
}

SpecError::SpecError(std::vector<SpecDiagnostic> diagnostics)
    : Error(ErrorCode::Spec, join_diagnostics(diagnostics)), diagnostics_(std::move(diagnostics)) {}

}  // namespace rustimg
