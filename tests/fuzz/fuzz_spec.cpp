// libFuzzer target for the image spec read from a file (rustimg.json): the
// bytes go through load_spec as a spec file, are validated, merged over the
// defaults and resolved, and the result is printed back as JSON.
#include "fuzz_support.hpp"
#include "rustimg/plan.hpp"
#include "rustimg/spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace rustimg::fuzz;
  static const std::filesystem::path file = scratch_dir() / "rustimg.json";
  write_file(file, text(data, size));
  refusable([&] {
    rustimg::SpecLoadOptions options;
    options.spec_file = file;
    options.use_cargo_metadata = false;
    const rustimg::Spec spec = rustimg::pipeline::load_spec(options);
    static_cast<void>(spec.to_json().dump());
  });
  return 0;
}
