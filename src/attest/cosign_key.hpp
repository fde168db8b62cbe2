// cosign's own encrypted private key format (cosign.key), internal to the
// attest module: sign.cpp reads the key inside.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rustimg::attest::detail {

/// The PEM labels of cosign.key: cosign 2 writes the first, older releases
/// wrote the second.
inline constexpr std::string_view kCosignKeyLabels[] = {"ENCRYPTED SIGSTORE PRIVATE KEY",
                                                        "ENCRYPTED COSIGN PRIVATE KEY"};

/// Bounds on what a cosign.key may ask of this process (cosign 2.6
/// writes N = 2^16, r = 8, p = 1: 64 MiB of scrypt memory).
/// The memory scrypt needs is 128 * r * (N + 2 + p) bytes; its work grows
/// with N * r * p.
inline constexpr unsigned long long kMaxScryptN = 1ull << 20;
inline constexpr unsigned long long kMaxScryptR = 32;
inline constexpr unsigned long long kMaxScryptP = 16;
inline constexpr unsigned long long kMaxScryptMemory = 256ull << 20;  ///< bytes
inline constexpr unsigned long long kMaxScryptWork = 1ull << 22;      ///< N * r * p, 8x cosign's

/// Bytes wiped (OPENSSL_cleanse) when destroyed; never resized after construction.
class SecretBytes {
 public:
  explicit SecretBytes(std::size_t size) : bytes_(size) {}
  SecretBytes(SecretBytes&& other) noexcept = default;
  SecretBytes& operator=(SecretBytes&&) = delete;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes();

  unsigned char* data() noexcept { return bytes_.data(); }
  const unsigned char* data() const noexcept { return bytes_.data(); }
  std::size_t size() const noexcept { return bytes_.size(); }

 private:
  std::vector<unsigned char> bytes_;
};

/// Opens the cosign.key in `pem` (a PEM block with one of kCosignKeyLabels
/// whose body is go-securesystemslib's JSON: scrypt, then NaCl secretbox)
/// with `passphrase`, and returns the DER PKCS#8 private key inside; nullopt
/// when the box does not open (a wrong passphrase, or a damaged file: the two
/// are indistinguishable). Throws rustimg::Error (InvalidArgument) naming
/// `what`, never the passphrase, for a file that is no such key or asks for
/// more than the kMaxScrypt* bounds.
std::optional<SecretBytes> open_cosign_key(std::string_view pem, std::string_view passphrase, const std::string& what);

}  // namespace rustimg::attest::detail
