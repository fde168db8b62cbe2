// rustimg_registry_tool - push an OCI image layout, or pull into one.
//
//   rustimg_registry_tool push LAYOUT REF [options]
//   rustimg_registry_tool pull REF OUTDIR [--platform P] [options]
//
// Options: --insecure HOST (repeatable), --ca-file FILE, --creds USER:PASS,
// --chunk-size BYTES, --retries N, --jobs N, --mount-from REPO,
// --tag TAG (extra tag, repeatable), --no-config, --verbose,
// --cancel-after-bytes N (the progress callback cancels once a transfer passes N bytes).
//
// The layout is read directly per the OCI image-layout spec: index.json names
// the root (the first entry, or the one whose org.opencontainers.image.ref.name
// equals --name), and blobs/<alg>/<hex> holds every blob and manifest.
//
// Exit status 0 on success; 1 with "error [<code>] (HTTP <status>): <message>"
// on stderr otherwise. A successful push prints "REF@sha256:..." as the last
// stdout line and a JSON summary line before it.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "rustimg/error.hpp"
#include "rustimg/reference.hpp"
#include "rustimg/registry.hpp"

namespace fs = std::filesystem;
namespace reg = rustimg::registry;

namespace {

fs::path blob_path(const fs::path& layout, const std::string& digest) {
  auto colon = digest.find(':');
  if (colon == std::string::npos || !rustimg::is_valid_digest(digest))
    throw rustimg::Error(rustimg::ErrorCode::InvalidArgument, "invalid digest " + digest);
  return layout / "blobs" / digest.substr(0, colon) / digest.substr(colon + 1);
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw rustimg::Error(rustimg::ErrorCode::NotFound, "cannot read " + p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class LayoutSource final : public reg::BlobSource {
 public:
  explicit LayoutSource(fs::path dir) : dir_(std::move(dir)) {}
  std::unique_ptr<std::istream> open(const std::string& digest) override {
    auto in = std::make_unique<std::ifstream>(blob_path(dir_, digest), std::ios::binary);
    if (!*in)
      throw rustimg::Error(rustimg::ErrorCode::NotFound, "layout " + dir_.string() + " has no blob " + digest);
    return in;
  }
  std::uint64_t size(const std::string& digest) override { return fs::file_size(blob_path(dir_, digest)); }

 private:
  fs::path dir_;
};

class LayoutSink final : public reg::BlobSink {
 public:
  explicit LayoutSink(fs::path dir) : dir_(std::move(dir)) {}
  void put(const std::string& digest, const std::string&, std::istream& data, std::uint64_t) override {
    fs::path p = blob_path(dir_, digest);
    fs::create_directories(p.parent_path());
    fs::path tmp = p;
    tmp += ".tmp";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out << data.rdbuf();
      if (!out) throw rustimg::Error(rustimg::ErrorCode::Io, "cannot write " + tmp.string());
    }
    fs::rename(tmp, p);
  }
  bool has(const std::string& digest) override { return fs::exists(blob_path(dir_, digest)); }

 private:
  fs::path dir_;
};

[[noreturn]] void usage() {
  std::cerr << "usage: rustimg_registry_tool push LAYOUT REF [options]\n"
               "       rustimg_registry_tool pull REF OUTDIR [--platform P] [options]\n";
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) usage();
  const std::string cmd = argv[1];
  std::vector<std::string> pos;
  reg::Options opt;
  reg::PushOptions popt;
  std::string mount_from, platform, name;
  bool verbose = false;
  std::uint64_t cancel_after = 0;
  std::uint64_t progress_done_bytes = 0;  // sum of bytes_total over Done events
  std::mutex log_mu;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage();
      return argv[++i];
    };
    if (a == "--insecure") opt.insecure_registries.push_back(next());
    else if (a == "--ca-file") opt.ca_file = next();
    else if (a == "--creds") {
      std::string c = next();
      auto colon = c.find(':');
      if (colon == std::string::npos) usage();
      opt.credentials["*"] = reg::Credentials{c.substr(0, colon), c.substr(colon + 1), {}, {}};
    } else if (a == "--chunk-size") opt.chunk_size = std::stoull(next());
    else if (a == "--retries") opt.retry.max_attempts = std::stoi(next());
    else if (a == "--retry-delay-ms") opt.retry.initial_delay = std::chrono::milliseconds(std::stoi(next()));
    else if (a == "--jobs") opt.jobs = static_cast<unsigned>(std::stoul(next()));
    else if (a == "--mount-from") mount_from = next();
    else if (a == "--tag") popt.extra_tags.push_back(next());
    else if (a == "--platform") platform = next();
    else if (a == "--name") name = next();
    else if (a == "--no-config") opt.use_config_files = false;
    else if (a == "--verbose") verbose = true;
    else if (a == "--cancel-after-bytes") cancel_after = std::stoull(next());
    else if (a.rfind("--", 0) == 0) usage();
    else pos.push_back(a);
  }
  if (pos.size() != 2) usage();
  // Progress events arrive serialised; sum what was transferred, and cancel on request.
  opt.progress = [&](const reg::Progress& p) {
    if (p.phase == reg::Progress::Phase::Done) progress_done_bytes += p.bytes_total;
    return cancel_after > 0 && p.bytes_done >= cancel_after;
  };
  if (verbose) {
    opt.log = [&](const std::string& line) {
      std::lock_guard lock(log_mu);
      std::cerr << "registry: " << line << "\n";
    };
  }
  try {
    reg::Client client(opt);
    if (cmd == "push") {
      fs::path layout = pos[0];
      auto ref = rustimg::parse_reference(pos[1]);
      auto index = nlohmann::json::parse(read_file(layout / "index.json"));
      const nlohmann::json* root = nullptr;
      for (const auto& m : index.at("manifests")) {
        std::string n = m.contains("annotations") ? m["annotations"].value("org.opencontainers.image.ref.name", "") : "";
        if (name.empty() || n == name) {
          root = &m;
          break;
        }
      }
      if (root == nullptr) throw rustimg::Error(rustimg::ErrorCode::NotFound, "no manifest named " + name + " in " + layout.string());
      const std::string digest = root->at("digest").get<std::string>();
      const std::string media_type = root->value("mediaType", "");
      std::string bytes = read_file(blob_path(layout, digest));
      if (!mount_from.empty()) {
        for (const auto& e : fs::recursive_directory_iterator(layout / "blobs"))
          if (e.is_regular_file())
            popt.mount_sources[e.path().parent_path().filename().string() + ":" + e.path().filename().string()] = mount_from;
      }
      LayoutSource source(layout);
      auto res = client.push(ref, media_type, bytes, source, popt);
      nlohmann::json summary = {{"digest", res.digest},           {"bytes_uploaded", res.bytes_uploaded},
                                {"blobs_uploaded", res.blobs_uploaded}, {"blobs_mounted", res.blobs_mounted},
                                {"blobs_existing", res.blobs_existing}, {"manifests_pushed", res.manifests_pushed},
                                {"progress_done_bytes", progress_done_bytes}};
      std::cout << summary.dump() << "\n" << res.reference << std::endl;
    } else if (cmd == "pull") {
      auto ref = rustimg::parse_reference(pos[0]);
      fs::path out = pos[1];
      fs::create_directories(out);
      reg::PullOptions pl;
      if (!platform.empty()) pl.platform = rustimg::parse_platform(platform);
      LayoutSink sink(out);
      auto res = client.pull(ref, sink, pl);
      nlohmann::json desc = {{"mediaType", res.root.media_type},
                             {"digest", res.root.digest},
                             {"size", res.root.bytes.size()}};
      if (!ref.tag.empty()) desc["annotations"] = {{"org.opencontainers.image.ref.name", ref.tag}};
      nlohmann::json idx = {{"schemaVersion", 2},
                            {"mediaType", "application/vnd.oci.image.index.v1+json"},
                            {"manifests", nlohmann::json::array({desc})}};
      std::ofstream(out / "index.json") << idx.dump();
      std::ofstream(out / "oci-layout") << R"({"imageLayoutVersion":"1.0.0"})";
      nlohmann::json summary = {{"digest", res.root.digest}, {"bytes_downloaded", res.bytes_downloaded},
                                {"manifests", res.manifests.size()}, {"progress_done_bytes", progress_done_bytes}};
      std::cout << summary.dump() << "\n" << ref.name() << "@" << res.root.digest << std::endl;
    } else {
      usage();
    }
  } catch (const reg::RegistryError& e) {
    std::cerr << "error [" << rustimg::error_code_name(e.code()) << "] (HTTP " << e.http_status() << "): " << e.what()
              << "\n";
    return 1;
  } catch (const rustimg::Error& e) {
    std::cerr << "error [" << rustimg::error_code_name(e.code()) << "]: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "error [generic]: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
