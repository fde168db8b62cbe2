// libFuzzer target for the spec as Cargo.toml gives it: rustimg reads
// [package.metadata.rustimg] (and [workspace.metadata.rustimg]) through the
// JSON of `cargo metadata`. The bytes are what a scripted cargo prints, and
// load_spec takes them all the way: cargo's document, the package and bin
// selection, the metadata layers and the resolved spec.
#include "fuzz_support.hpp"
#include "rustimg/cargo.hpp"
#include "rustimg/plan.hpp"
#include "rustimg/process.hpp"
#include "rustimg/spec.hpp"

namespace {

class ScriptedCargo final : public rustimg::ProcessRunner {
 public:
  std::string out;
  rustimg::ProcessResult run(const rustimg::ProcessRequest&) override { return rustimg::ProcessResult{0, out, ""}; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace rustimg::fuzz;
  // The seeds name this crate directory as "/fuzz/crate"; its Cargo.toml
  // only has to exist (rustimg looks for it before running cargo).
  static const std::filesystem::path crate = [] {
    const std::filesystem::path dir = scratch_dir() / "crate";
    std::filesystem::create_directories(dir);
    write_file(dir / "Cargo.toml", "[package]\nname = \"app\"\nversion = \"0.1.0\"\n");
    return dir;
  }();
  ScriptedCargo cargo;
  cargo.out.assign(reinterpret_cast<const char*>(data), size);
  refusable([&] {
    rustimg::SpecLoadOptions options;
    options.crate_dir = crate;
    const rustimg::Spec spec = rustimg::pipeline::make_plan(options, cargo).spec;
    static_cast<void>(spec.to_json().dump());
  });
  return 0;
}
