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
// The layout is read with store::StoredImage (the entry tagged --name, else
// "latest", else the only one) and pulled into with the same blob store
// adapters rustimg push/pull use.
//
// Exit status 0 on success; 1 with "error [<code>] (HTTP <status>): <message>"
// on stderr otherwise. A successful push prints "REF@sha256:..." as the last
// stdout line and a JSON summary line before it.
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>

#include <nlohmann/json.hpp>

#include "rustimg/error.hpp"
#include "rustimg/transfer.hpp"
#include "rustimg/reference.hpp"
#include "rustimg/registry.hpp"
#include "rustimg/store.hpp"

namespace fs = std::filesystem;
namespace reg = rustimg::registry;

namespace {

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
  reg::Credentials creds;
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
      creds = reg::Credentials{c.substr(0, colon), c.substr(colon + 1), {}, {}};
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
  opt.progress = [&](const rustimg::ProgressEvent& p) {
    if (p.stage == reg::stage::kDone) progress_done_bytes += p.bytes_total;
    return cancel_after > 0 && p.bytes_done >= cancel_after;
  };
  if (verbose) {
    opt.log = [&](const std::string& line) {
      std::lock_guard lock(log_mu);
      std::cerr << "registry: " << line << "\n";
    };
  }
  try {
    // --creds are for the registry of the reference pushed to or pulled from.
    if (!creds.empty())
      opt.credentials[rustimg::parse_reference(cmd == "pull" ? pos[0] : pos[1]).registry] = creds;
    reg::Client client(opt);
    if (cmd == "push") {
      fs::path layout = pos[0];
      auto ref = rustimg::parse_reference(pos[1]);
      rustimg::store::ImageLocation src;
      src.path = layout;
      src.tag = name;
      const rustimg::store::StoredImage image(src);
      const std::string bytes = image.blobs().read(image.top().digest);
      if (!mount_from.empty()) {
        for (const auto& e : fs::recursive_directory_iterator(layout / "blobs"))
          if (e.is_regular_file())
            popt.mount_sources[e.path().parent_path().filename().string() + ":" + e.path().filename().string()] = mount_from;
      }
      rustimg::transfer::BlobStoreSource source(image.blobs());
      auto res = client.push(ref, image.top().media_type, bytes, source, popt);
      nlohmann::json summary = {{"digest", res.digest},           {"bytes_uploaded", res.bytes_uploaded},
                                {"blobs_uploaded", res.blobs_uploaded}, {"blobs_mounted", res.blobs_mounted},
                                {"blobs_existing", res.blobs_existing}, {"manifests_pushed", res.manifests_pushed},
                                {"progress_done_bytes", progress_done_bytes}};
      std::cout << summary.dump() << "\n" << res.reference << std::endl;
    } else if (cmd == "pull") {
      auto ref = rustimg::parse_reference(pos[0]);
      fs::path out = pos[1];
      reg::PullOptions pl;
      if (!platform.empty()) pl.platform = rustimg::parse_platform(platform);
      const rustimg::store::TempDir staging(fs::absolute(out).parent_path());
      const rustimg::store::BlobStore blobs(staging.path());
      rustimg::transfer::BlobStoreSink sink(blobs);
      auto res = client.pull(ref, sink, pl);
      // With a platform picked from an index, the layout holds that image.
      const reg::RawManifest& top =
          pl.platform && res.manifests.size() == 1 ? res.manifests.front() : res.root;
      rustimg::oci::Descriptor root;
      root.media_type = top.media_type;
      root.digest = top.digest;
      root.size = static_cast<std::int64_t>(top.bytes.size());
      rustimg::store::write_oci_layout(out, blobs, root, ref.tag.empty() ? "latest" : ref.tag);
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
