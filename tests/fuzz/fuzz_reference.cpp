// libFuzzer target for the names users and documents give: image references
// ("host:port/repo:tag@sha256:..."), platforms ("linux/arm/v7", "aarch64")
// and destinations ("oci:dir:tag", "docker-archive:file:name:tag").
// A parsed reference or platform prints to text that parses back to it.
#include "fuzz_support.hpp"
#include "rustimg/platform.hpp"
#include "rustimg/reference.hpp"
#include "rustimg/store.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace rustimg::fuzz;
  const std::string_view in = text(data, size);
  refusable([&] {
    const rustimg::Reference ref = rustimg::parse_reference(in);
    check(rustimg::parse_reference(ref.to_string()) == ref, "a reference survives to_string() and parsing");
    static_cast<void>(ref.name());
    static_cast<void>(ref.identifier());
  });
  refusable([&] {
    const rustimg::Platform p = rustimg::parse_platform(in);
    check(rustimg::parse_platform(p.to_string()) == p, "a platform survives to_string() and parsing");
    check(p.satisfies(p), "a platform satisfies itself");
    static_cast<void>(p.descriptor_variant());
  });
  refusable([&] { static_cast<void>(rustimg::store::parse_image_location(in).to_string()); });
  return 0;
}
