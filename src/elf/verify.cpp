// Verification against a wanted platform: the one home of what `rustimg
// verify`, the C API and the Python module do with an ELF file.
#include <algorithm>
#include <utility>

#include "rustimg/elf.hpp"

namespace rustimg::elf {

bool Report::platform_match() const noexcept {
  return std::none_of(problems.begin(), problems.end(),
                      [](const Problem& p) { return p.kind == ProblemKind::PlatformMismatch; });
}

bool check_platform(Report& report, const Platform& wanted) {
  report.wanted_platform = wanted;
  for (auto& message : platform_mismatch(report, wanted))
    report.problems.push_back({ProblemKind::PlatformMismatch, std::move(message)});
  return report.platform_match();
}

Report verify_file(const std::filesystem::path& path, const std::optional<Platform>& wanted) {
  Report report = inspect_file(path);
  if (wanted) check_platform(report, *wanted);
  return report;
}

Report verify(std::span<const std::byte> data, const std::optional<Platform>& wanted) {
  Report report = inspect(data);
  if (wanted) check_platform(report, *wanted);
  return report;
}

}  // namespace rustimg::elf
