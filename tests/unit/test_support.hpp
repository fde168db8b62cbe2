// Helpers shared by the unit tests (and, Boost-free, by the fuzz targets):
// temporary directories, files, in-memory sinks and a small, independent
// USTAR/PAX reader.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "rustimg/oci.hpp"

namespace rustimg::test {

/// An OCI image manifest naming `config` and each of `layers` (as gzip
/// layers) by digest and size.
inline nlohmann::json oci_manifest(const std::string& config, const std::vector<std::string>& layers = {}) {
  nlohmann::json l = nlohmann::json::array();
  for (const auto& layer : layers)
    l.push_back({{"mediaType", oci::media_type::kOciLayerGzip},
                 {"digest", oci::sha256_digest(layer)},
                 {"size", layer.size()}});
  return {{"schemaVersion", 2},
          {"mediaType", oci::media_type::kOciManifest},
          {"config",
           {{"mediaType", oci::media_type::kOciConfig}, {"digest", oci::sha256_digest(config)}, {"size", config.size()}}},
          {"layers", std::move(l)}};
}

/// A fresh directory under $TMPDIR, removed on destruction.
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "rustimg-unit-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& rel) const { return path_ / rel; }
  /// Writes `text` to the file `rel` inside the directory; returns its path.
  std::filesystem::path write(const std::string& rel, const std::string& text) const;

 private:
  std::filesystem::path path_;
};

/// Writes `content` to `p`, creating its directory; throws when it cannot.
inline void write_file(const std::filesystem::path& p, std::string_view content) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!out) throw std::runtime_error("cannot write " + p.string());
}

inline std::filesystem::path ScratchDir::write(const std::string& rel, const std::string& text) const {
  write_file(path_ / rel, text);
  return path_ / rel;
}

/// True when a temporary file of rustimg (".rustimg-*", see util/atomic_file)
/// is left anywhere under `dir`.
inline bool has_temp_files(const std::filesystem::path& dir) {
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.path().filename().string().rfind(".rustimg-", 0) == 0) return true;
  return false;
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// Collects everything written into a string.
class MemorySink final : public rustimg::ByteSink {
 public:
  using rustimg::ByteSink::write;
  void write(std::span<const std::byte> data) override {
    bytes.append(reinterpret_cast<const char*>(data.data()), data.size());
  }
  std::string bytes;
};

/// One tar member as the reader saw it.
struct TarMember {
  std::size_t header_offset = 0;
  char type = '0';
  std::string name;      ///< after applying a preceding PAX "path" record
  std::string link;
  std::uint32_t mode = 0;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::int64_t mtime = 0;
  std::string uname;
  std::string gname;
  std::string magic;     ///< 8 bytes at offset 257
  std::string data;
  bool had_pax = false;
};

struct TarListing {
  std::vector<TarMember> members;
  std::size_t end_of_entries = 0;  ///< offset of the first zero block
};

inline std::uint64_t octal(const std::string& s, std::size_t off, std::size_t len) {
  std::uint64_t v = 0;
  for (std::size_t i = off; i < off + len && s[i] >= '0' && s[i] <= '7'; ++i) v = v * 8 + static_cast<std::uint64_t>(s[i] - '0');
  return v;
}

inline std::string cstr(const std::string& s, std::size_t off, std::size_t len) {
  std::string out = s.substr(off, len);
  return out.substr(0, out.find('\0'));
}

/// Parses a tar stream (USTAR + PAX path records); throws on malformed input.
inline TarListing read_tar(const std::string& tar) {
  TarListing out;
  std::size_t off = 0;
  std::string pax_path;
  bool pax = false;
  while (off + 512 <= tar.size()) {
    if (tar.compare(off, 512, std::string(512, '\0')) == 0) {
      out.end_of_entries = off;
      return out;
    }
    TarMember m;
    m.header_offset = off;
    m.type = tar[off + 156];
    const std::string prefix = cstr(tar, off + 345, 155);
    m.name = cstr(tar, off, 100);
    if (!prefix.empty()) m.name = prefix + "/" + m.name;
    m.link = cstr(tar, off + 157, 100);
    m.mode = static_cast<std::uint32_t>(octal(tar, off + 100, 8));
    m.uid = static_cast<std::uint32_t>(octal(tar, off + 108, 8));
    m.gid = static_cast<std::uint32_t>(octal(tar, off + 116, 8));
    m.mtime = static_cast<std::int64_t>(octal(tar, off + 136, 12));
    m.magic = tar.substr(off + 257, 8);
    m.uname = cstr(tar, off + 265, 32);
    m.gname = cstr(tar, off + 297, 32);
    const std::size_t size = static_cast<std::size_t>(octal(tar, off + 124, 12));
    if (off + 512 + size > tar.size()) throw std::runtime_error("truncated tar member");
    m.data = tar.substr(off + 512, size);
    off += 512 + (size + 511) / 512 * 512;
    if (m.type == 'x') {  // PAX: "LEN key=value\n" records
      std::size_t p = 0;
      while (p < m.data.size()) {
        const std::size_t sp = m.data.find(' ', p);
        const std::size_t len = std::stoul(m.data.substr(p, sp - p));
        const std::string rec = m.data.substr(sp + 1, len - (sp - p) - 2);
        if (rec.rfind("path=", 0) == 0) pax_path = rec.substr(5);
        p += len;
      }
      pax = true;
      continue;
    }
    if (pax) {
      if (!pax_path.empty()) m.name = pax_path;
      m.had_pax = true;
      pax = false;
      pax_path.clear();
    }
    out.members.push_back(std::move(m));
  }
  throw std::runtime_error("tar stream has no end-of-archive block");
}

/// Sets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace rustimg::test
