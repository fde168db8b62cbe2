// libFuzzer target for the ELF reader and the cargo-auditable section reader
// over it: any input must either inspect cleanly or throw rustimg::Error. Any other exception, a crash, or a sanitizer
// report is a finding.
#include <cstddef>
#include <cstdint>
#include <span>

#include "rustimg/auditable.hpp"
#include "rustimg/elf.hpp"
#include "rustimg/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto report = rustimg::elf::inspect(std::as_bytes(std::span(data, size)));
    // Touch the derived verdict so the whole report is computed and used.
    static_cast<void>(report.fit_for_scratch());
  } catch (const rustimg::Error&) {
    // Rejected input, as designed.
  }
  try {
    const auto packages = rustimg::elf::read_auditable_dependencies(std::as_bytes(std::span(data, size)), "fuzz");
    if (packages && packages->size() > rustimg::elf::kMaxAuditablePackages) __builtin_trap();
  } catch (const rustimg::Error&) {
  }
  return 0;
}
