// --json and --quiet: see output.hpp.
#include "output.hpp"

#include <cstdio>
#include <exception>

#include "rustimg/cargo.hpp"
#include "rustimg/error.hpp"

namespace rustimg::cli {

void OutputFlags::add_to(CLI::App& app) {
  app.add_flag("--json", json, "print one JSON document with the result on stdout (nothing else goes there)");
  app.add_flag("-q,--quiet", quiet, "print nothing on stderr but errors (a build runs cargo with --quiet;\n"
                                    "its errors are still shown)");
}

std::unique_ptr<ProgressView> OutputFlags::view(const std::string& command) const {
  return std::make_unique<ProgressView>(ProgressView::Options{stderr, is_terminal(stderr), quiet, command, {}});
}

ProgressCallback progress_to(ProgressView& view) {
  return [&view](const ProgressEvent& e) {
    view.show(e);
    return interrupted();
  };
}

void print_json(const nlohmann::json& doc) {
  std::printf("%s\n", doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  std::fflush(stdout);
}

void print_error_json(const std::string& code, const std::string& message, int exit_code,
                      const std::string& diagnostics) {
  nlohmann::json error = {{"code", code}, {"message", message}, {"exit_code", exit_code}};
  if (!diagnostics.empty()) error["diagnostics"] = diagnostics;
  print_json({{"error", std::move(error)}});
}

int run_with_json_errors(bool json, const std::function<int()>& body) {
  try {
    return body();
  } catch (const UsageError& e) {
    if (json) print_error_json("usage", e.message, kExitBadInput);
    throw;
  } catch (const cargo::CargoError& e) {
    if (json) print_error_json(error_code_name(e.code()), e.what(), exit_code_for(e), e.diagnostics());
    throw;
  } catch (const Error& e) {
    if (json) print_error_json(error_code_name(e.code()), e.what(), exit_code_for(e));
    throw;
  } catch (const std::exception& e) {
    // main() reports it with exit status 2 (a filesystem or JSON error).
    if (json) print_error_json("internal", e.what(), kExitBadInput);
    throw;
  }
}

}  // namespace rustimg::cli
