// Uses headers that need C++20 (elf.hpp: std::span) and prints
// "linux/arm64 <this program's OCI platform>".
#include <rustimg/elf.hpp>
#include <rustimg/platform.hpp>

#include <iostream>

int main(int, char** argv) {
  std::cout << rustimg::parse_platform("aarch64").to_string() << ' '
            << rustimg::elf::inspect_file(argv[0]).platform.to_string() << '\n';
}
