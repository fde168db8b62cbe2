// Test CA certificates (tests/fixtures/ca: self-signed P-256, valid until
// 2126), shared with the integration tests.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

namespace rustimg::test {

/// The bytes of tests/fixtures/ca/NAME ("test-ca-one.pem", "test-ca-two.pem",
/// "test-ca-one.der").
inline std::string test_ca_file(const std::string& name) {
  std::ifstream in(std::string(RUSTIMG_SOURCE_DIR) + "/tests/fixtures/ca/" + name, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace rustimg::test
