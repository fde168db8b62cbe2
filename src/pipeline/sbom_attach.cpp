// SBOMs for build_image (attachments.hpp): what went into one platform
// image, from cargo's resolution or the binary's cargo-auditable data, as
// an OCI 1.1 artifact.
#include "attachments.hpp"

#include <algorithm>
#include <fstream>
#include <map>

#include "rustimg/auditable.hpp"
#include "rustimg/error.hpp"
#include "rustimg/pipeline.hpp"
#include "rustimg/platform.hpp"
#include "rustimg/reference.hpp"
#include "rustimg/registry.hpp"
#include "rustimg/store.hpp"
#include "rustimg/version.hpp"

namespace rustimg::pipeline {
namespace {

namespace fs = std::filesystem;

bool is_crates_io(const std::string& index_url) {
  return index_url == "https://github.com/rust-lang/crates.io-index" || index_url == "sparse+https://index.crates.io/";
}

std::string crates_io_download(const std::string& name, const std::string& version) {
  return "https://crates.io/api/v1/crates/" + name + "/" + version + "/download";
}

/// Lowercase hex sha256 of a host file.
std::string file_sha256(const fs::path& file) { return oci::digest_hex(oci::sha256_file(file).digest); }

std::string entry_sha256(const layer::Entry& e) {
  return e.content ? oci::digest_hex(oci::sha256_digest(*e.content)) : file_sha256(e.source);
}

/// The packages of `cargo auditable` data: what was compiled into the
/// binary ("build" dependencies ran on the build host only and are left out).
std::vector<attest::SbomPackage> auditable_packages(const std::vector<elf::AuditablePackage>& list) {
  std::vector<attest::SbomPackage> out;
  for (const elf::AuditablePackage& p : list) {
    if (p.kind == "build") continue;
    attest::SbomPackage s;
    s.name = p.name;
    s.version = p.version;
    s.root = p.root;
    if (p.source == "crates.io") {
      s.download_location = crates_io_download(p.name, p.version);
      s.source_description = "crates.io";
    } else {
      s.download_location = "NOASSERTION";
      s.source_description = p.source + " (from the binary's cargo-auditable data)";
    }
    for (const std::size_t i : p.dependencies)
      if (list[i].kind != "build") s.depends_on.push_back(list[i].name + "@" + list[i].version);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

ArtifactPlace artifact_place(oci::Format format, const store::ImageLocation& output) {
  using Kind = store::ImageLocation::Kind;
  if (output.kind == Kind::OciArchive || output.kind == Kind::DockerArchive) return ArtifactPlace::BesideArchive;
  return format == oci::Format::Oci ? ArtifactPlace::Attached : ArtifactPlace::Nowhere;
}

fs::path beside_archive(const store::ImageLocation& output, const std::string& platform, bool several_platforms,
                        const std::string& kind) {
  std::string name = output.path.filename().string();
  if (several_platforms) {
    std::string p = platform;
    std::replace(p.begin(), p.end(), '/', '-');
    name += "." + p;
  }
  return output.path.parent_path() / (name + "." + kind);
}

std::vector<fs::path> files_beside_archive(const store::ImageLocation& output, const std::vector<std::string>& kinds) {
  const std::string archive = output.path.filename().string();
  const fs::path dir = output.path.parent_path().empty() ? fs::path(".") : output.path.parent_path();
  // "<archive>.<kind>" or "<archive>.<os>-<arch>[-<variant>].<kind>".
  const auto ours = [&](const std::string& name) {
    if (name.size() <= archive.size() + 1 || name.compare(0, archive.size() + 1, archive + ".") != 0) return false;
    const std::string rest = name.substr(archive.size() + 1);
    for (const std::string& k : kinds) {
      if (rest == k) return true;
      if (rest.size() > k.size() + 1 && rest.compare(rest.size() - k.size() - 1, std::string::npos, "." + k) == 0) {
        // Only a platform beside_archive() writes: "linux-arm64-v8", not
        // another file's "v2-rc".
        std::string platform = rest.substr(0, rest.size() - k.size() - 1);
        std::replace(platform.begin(), platform.end(), '-', '/');
        try {
          if (parse_platform(platform).to_string() == platform) return true;
        } catch (const Error&) {
        }
      }
    }
    return false;
  };
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code type_ec;
    if (!ours(name) || it->is_symlink(type_ec) || !it->is_regular_file(type_ec)) continue;
    out.push_back(output.path.parent_path() / name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<fs::path> remove_stale_beside_archive(const store::ImageLocation& output,
                                                  const std::vector<fs::path>& keep) {
  std::vector<fs::path> removed;
  for (const fs::path& file : files_beside_archive(output, {std::begin(kBesideArchiveKinds),
                                                            std::end(kBesideArchiveKinds)})) {
    if (std::any_of(keep.begin(), keep.end(), [&](const fs::path& k) { return k.filename() == file.filename(); }))
      continue;
    std::error_code rm_ec;
    if (fs::remove(file, rm_ec)) removed.push_back(file);
  }
  return removed;
}

bool sbom_attached(const Spec& spec, oci::Format format, const store::ImageLocation& output) {
  return !spec.sbom.empty() && artifact_place(format, output) != ArtifactPlace::Nowhere;
}

bool sbom_optional(const Spec& spec) { return spec.given.count("sbom") == 0; }

void report_sbom_skipped(const ProgressCallback& progress, const Error& why) {
  report_progress(progress, ProgressEvent{"sbom", std::string("warning: writing the image without an SBOM: ") +
                                                      why.what() + " (set \"sbom\" to make this an error)"});
}

std::vector<attest::SbomPackage> sbom_packages(const std::vector<cargo::ResolvedPackage>& packages) {
  using Source = cargo::ResolvedPackage::Source;
  std::map<std::string, std::string> by_id;  // id -> NAME@VERSION
  for (const auto& p : packages) by_id[p.id] = p.name + "@" + p.version;
  std::vector<attest::SbomPackage> out;
  for (const cargo::ResolvedPackage& p : packages) {
    attest::SbomPackage s;
    s.name = p.name;
    s.version = p.version;
    s.sha256 = p.checksum;
    s.license = p.license;
    s.root = p.root;
    s.download_location = "NOASSERTION";
    switch (p.source) {
      case Source::Registry:
        if (is_crates_io(p.source_url)) {
          s.download_location = crates_io_download(p.name, p.version);
          s.source_description = "crates.io";
        } else {
          s.source_description = "registry " + p.source_url;
        }
        break;
      case Source::Git:
        s.download_location = "git+" + p.source_url + "@" + p.git_revision;
        s.source_description = "git " + p.source_url + " at " + p.git_revision;
        break;
      case Source::Path:
        // Relative to the workspace; a path outside it is not named (it
        // differs from one checkout to the next, and the SBOM must not).
        s.source_description = !p.path.empty() && p.path.front() == '/' ? "path outside the workspace" : "path " + p.path;
        break;
      case Source::Unknown:
        s.source_description = p.source_url;
        break;
    }
    for (const std::string& id : p.dependencies)
      if (const auto it = by_id.find(id); it != by_id.end()) s.depends_on.push_back(it->second);
    out.push_back(std::move(s));
  }
  return out;
}

attest::SbomInput sbom_input(const ImageFacts& f) {
  attest::SbomInput in;
  const std::string what = f.plan.package ? f.plan.package->name + " " + f.plan.package->version
                                          : f.binary.prebuilt.filename().string();
  in.name = what + " " + f.platform;
  in.platform = f.platform;
  in.binary.path = f.binary_path;
  in.binary.sha256 = file_sha256(f.binary.prebuilt);
  in.base_reference = f.base_reference;
  in.base_digest = f.base_digest;
  if (f.binary.packages) {
    in.packages = sbom_packages(*f.binary.packages);
    in.binary.origin = "built by cargo from " + what + " for " + f.binary.triple;
  } else if (const auto audit = elf::read_auditable_file(f.binary.prebuilt)) {
    in.packages = auditable_packages(*audit);
    in.binary.origin = "prebuilt binary " + f.binary.prebuilt.filename().string() +
                       " (crates from its cargo-auditable data)";
  } else {
    in.dependencies_known = false;
    in.binary.origin = "prebuilt binary " + f.binary.prebuilt.filename().string() +
                       " (no cargo-auditable data: its crates are unknown)";
  }
  // The files as the image has them: an asset replaces the base's file of
  // the same path, and the binary any file at its own path (later layers win).
  std::map<std::string, attest::SbomFile> files;
  const auto add_files = [&](const layer::FileTree& tree, const std::string& origin) {
    for (const layer::Entry& e : tree.entries()) {
      const std::string path = "/" + e.path;
      files.erase(path);  // a directory, link or file of an upper layer hides the lower one
      if (e.type == layer::EntryType::File) files.emplace(path, attest::SbomFile{path, entry_sha256(e), origin});
    }
  };
  add_files(f.base_files, "rustimg's built-in \"" + f.plan.spec.base + "\" base");
  add_files(f.assets, "an asset of the spec");
  files.erase(f.binary_path);
  for (auto& [path, file] : files) in.files.push_back(std::move(file));
  in.created = f.created;
  in.tool = std::string("rustimg-") + version_string();
  return in;
}

oci::Artifact sbom_artifact(const ImageFacts& facts, attest::SbomFormat format, const oci::Descriptor& subject) {
  const char* type = format == attest::SbomFormat::Spdx ? attest::kSpdxMediaType : attest::kCycloneDxMediaType;
  return oci::make_artifact(attest::sbom_json(sbom_input(facts), format), type, type, subject);
}

AttachedSbom read_attached_sbom(const store::ImageLocation& source, const std::optional<Platform>& platform,
                                const registry::Options& registry_options) {
  using Kind = store::ImageLocation::Kind;
  const std::string name = source.to_string();
  std::optional<store::StoredImage> image;
  std::optional<registry::Client> client;
  std::optional<ArtifactReader> reader;
  oci::Descriptor manifest;
  std::string root;  // the top document's bytes
  if (source.kind == Kind::OciLayout) {
    image.emplace(source);
    reader = layout_artifact_reader(*image, source.path);
    manifest = image->top();
    root = reader->manifest(manifest);
  } else if (source.kind == Kind::Registry) {
    const Reference ref = parse_reference(source.reference);
    client.emplace(registry_options);
    const registry::RawManifest raw = client->get_manifest(ref);  // digest verified
    reader = registry_artifact_reader(*client, ref);
    manifest = {raw.media_type, raw.digest, static_cast<std::int64_t>(raw.bytes.size()), {}, {}, {}};
    root = raw.bytes;
  } else {
    // An archive cannot carry one: point at the file rustimg build wrote beside it.
    std::string beside;
    for (const fs::path& file : files_beside_archive(source, {kBesideSpdx, kBesideCycloneDx}))
      beside += (beside.empty() ? "" : ", ") + file.string();
    throw Error(ErrorCode::InvalidArgument,
                "an archive cannot carry an SBOM, so " + name + " has none attached; " +
                    (beside.empty() ? "rustimg build writes an archive's SBOM beside it, as ARCHIVE.spdx.json "
                                      "(ARCHIVE.<os>-<arch>.spdx.json for each platform of several) or .cdx.json"
                                    : "rustimg build wrote it beside the archive: " + beside) +
                    ". SBOMs are read from oci: layouts and registries (--output oci:DIR, or push the image)");
  }
  if (oci::is_index_media_type(manifest.media_type)) {
    const oci::Index index = oci::parse_index(root, oci::ParseMode::Lenient, name + " index " + manifest.digest);
    std::vector<oci::Descriptor> matching;
    std::string platforms;
    for (const oci::Descriptor& d : index.manifests) {
      if (!d.platform) continue;
      platforms += (platforms.empty() ? "" : ", ") + d.platform->to_string();
      if (!platform || *d.platform == *platform) matching.push_back(d);
    }
    if (matching.empty())
      throw Error(ErrorCode::NotFound, name + " has no image for " + (platform ? platform->to_string() : "any platform") +
                                           " (platforms: " + platforms + ")");
    if (matching.size() > 1)
      throw Error(ErrorCode::InvalidArgument, name + " is a multi-platform image (" + platforms +
                                                  "): each platform has its own SBOM; choose one with --platform");
    manifest = matching.front();
  }
  // Several (a registry's tag schema keeps each SBOM pushed for the image):
  // the last one listed, the newest there.
  const std::vector<FoundArtifact> sboms =
      find_artifacts(*reader, manifest.digest, [](const std::string& t) { return attest::is_sbom_media_type(t); });
  if (sboms.empty())
    throw Error(ErrorCode::NotFound, "no SBOM is attached to " + name + " (" + manifest.digest +
                                         "); rebuild it with --sbom spdx or --sbom cyclonedx");
  const FoundArtifact& sbom = sboms.back();
  return {sbom.manifest.artifact_type, manifest.digest, sbom.descriptor.digest,
          reader->content(sbom.manifest.layers.front(), kMaxSbomBytes)};
}

}  // namespace rustimg::pipeline
