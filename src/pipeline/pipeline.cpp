// build_image: the pipeline from prebuilt binaries to an image in a sink.
#include "rustimg/pipeline.hpp"

#include <map>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <system_error>
#include <utility>

#include "base_image.hpp"
#include "blob_target.hpp"
#include "build_image.hpp"
#include "builtin_base.hpp"
#include "compose_build.hpp"
#include "attachments.hpp"
#include "rustimg/compose.hpp"
#include "rustimg/error.hpp"
#include "rustimg/image.hpp"
#include "rustimg/layer.hpp"
#include "rustimg/signing.hpp"
#include "util/atomic_file.hpp"
#include "util/crate_path.hpp"
#include "util/source_date_epoch.hpp"

namespace rustimg::pipeline {
namespace {

namespace fs = std::filesystem;

/// The build's progress callback, bound for report_progress().
class Reporter {
 public:
  explicit Reporter(const ProgressCallback& cb) : cb_(cb) {}
  const ProgressCallback& callback() const { return cb_; }
  void operator()(const std::string& stage, const std::string& message) const {
    report_progress(cb_, ProgressEvent{stage, message});
  }
  /// An event about `d` (a layer written, a manifest made), with its size.
  void operator()(const std::string& stage, const std::string& message, const oci::Descriptor& d) const {
    const auto size = static_cast<std::uint64_t>(d.size);
    report_progress(cb_, ProgressEvent{stage, message, d.digest, size, size});
  }

 private:
  const ProgressCallback& cb_;
};

std::string join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : sep) + s;
  return out;
}

/// The /etc/nsswitch.conf the image will have, for the NSS verdict: the
/// one the assets place there (`assets` is the assets layer, so a glob or a
/// directory asset counts as it will in the image), else the built-in
/// base's (none on scratch); a pulled base's own file is not read here.
elf::NssSwitch image_nsswitch(const Spec& spec, const layer::FileTree& assets) {
  if (assets.contains("etc/nsswitch.conf")) {
    for (const layer::Entry& e : assets.entries()) {
      if (e.path != "etc/nsswitch.conf") continue;
      const std::string origin = "the assets' /etc/nsswitch.conf";
      if (e.type != layer::EntryType::File)
        return {std::nullopt, origin + " (not a regular file, so not checked: judged as glibc's defaults)"};
      if (e.content) return {*e.content, origin};
      return elf::read_nsswitch(e.source, origin + " (" + e.source.string() + ")");
    }
  }
  if (const auto text = layer::builtin_nsswitch_conf(spec.base))
    return {std::string(*text), "the " + spec.base + " base's /etc/nsswitch.conf"};
  if (layer::is_builtin_base(spec.base))
    return {std::nullopt, "no /etc/nsswitch.conf (the " + spec.base + " base: glibc's defaults)"};
  return {std::nullopt, "glibc's defaults (the " + spec.base + " base's own /etc/nsswitch.conf was not checked)"};
}

/// Checks one binary against the base and its platform; returns its report.
elf::Report verify_binary(const PlatformPlan& pb, Platform& platform, const Spec& spec, const BuildOptions& o,
                          const layer::FileTree& assets, const Reporter& report) {
  elf::Report rep = elf::inspect_file(pb.prebuilt);
  if (!rep.nss_evidence.empty()) elf::judge_nss(rep, image_nsswitch(spec, assets));
  const std::string path = pb.prebuilt.string();
  if (pb.platform.architecture.empty()) {
    if (rep.platform.architecture.empty())
      throw Error(ErrorCode::Verify, path + " is for " + rep.machine_name + ", which has no OCI platform name; pass " +
                                         o.option_names.platform + " explicitly");
    platform = rep.platform;
  } else {
    platform = pb.platform;
    const std::vector<std::string> mismatch = elf::platform_mismatch(rep, platform);
    if (!mismatch.empty())
      throw Error(ErrorCode::Verify, path + " does not match platform " + platform.to_string() + ": " +
                                         join(mismatch, "; ") + ". Build it for that platform or pass the right " +
                                         o.option_names.platform);
  }
  report("verify", path + ": " + platform.to_string() + ", " + elf::to_string(rep.linkage) +
                       (rep.fit_for_scratch() ? ", fit for scratch" : ", NOT fit for scratch"));
  if (!rep.linked_libraries.empty()) {
    std::vector<std::string> libraries;
    for (const auto& l : rep.linked_libraries) libraries.push_back(elf::to_string(l));
    report("verify", path + ": statically linked C libraries: " + join(libraries, ", "));
  }
  for (const auto& w : rep.warnings) report("verify", "warning: " + path + ": " + w);
  if (!rep.nss_evidence.empty() && !rep.nss_risk && !layer::is_builtin_base(spec.base))
    report("verify", path + ": NSS lookups judged against " + rep.nss_checked_against);

  // Dynamic linking is what an image base provides for, and what
  // --allow-dynamic waives on the built-in bases; every other problem (not
  // an executable, not for Linux, no OCI architecture) is refused anywhere.
  const bool builtin = layer::is_builtin_base(spec.base);
  const bool waive_dynamic = !builtin || o.allow_dynamic;
  std::vector<std::string> refused;
  bool dynamic = false;
  for (const auto& p : rep.problems) {
    if (p.kind == elf::ProblemKind::Dynamic) {
      dynamic = true;
      if (waive_dynamic) continue;
    }
    refused.push_back(p.message);
  }
  const std::string& allow = o.option_names.allow_dynamic;
  if (!refused.empty()) {
    std::string message = path + " cannot run " +
                          (builtin ? "on the \"" + spec.base + "\" base" : std::string("in an image")) + ": " +
                          join(refused, "; ");
    if (dynamic && !waive_dynamic)
      message += refused.size() == 1 ? ". To build the image anyway, providing the loader and libraries yourself, "
                                       "pass " + allow
                                     : ". " + allow + " would waive only the dynamic linking";
    else if (dynamic && o.allow_dynamic)
      message += ". " + allow + " waives only the dynamic linking";
    throw Error(ErrorCode::Verify, message);
  }
  if (dynamic && builtin) report("verify", "warning: " + path + " is not static; building anyway (" + allow + ")");
  return rep;
}

/// Writes a layer to the target as it is made; large layers report
/// progress (and can be cancelled) as they go.
layer::Layer put_layer(const layer::FileTree& tree, const std::string& what, const Spec& spec, const BuildOptions& o,
                       BlobTarget& blobs, const Reporter& report) {
  auto writer = blobs.begin_blob();
  layer::LayerOptions options{spec.compression, o.format, *o.created, {}};
  options.level = spec.compression_level;
  options.on_progress = [&](const ProgressEvent& e) {
    // "WHAT: N MiB so far", with the bytes for a progress display.
    report_progress(report.callback(), ProgressEvent{"layer", what + ": " + e.message, "", e.bytes_done, 0});
    return false;
  };
  const layer::Layer l = layer::write_layer(tree, options, *writer);
  writer->commit(l.descriptor.digest);
  return l;
}

std::string short_digest(const std::string& d) { return d.substr(0, 19); }

/// The registry options for pulling the base from `host`: the caller's,
/// with the base's credentials for that registry, and pull progress also
/// reported as "pull" events (serialised: the client calls from several
/// threads, the build's callback need not be thread-safe). A cancelling
/// answer from either callback stops the pull.
registry::Options pull_options(const BuildOptions& o, const std::string& host, std::mutex& mu) {
  registry::Options options = o.registry;
  if (!o.base_credentials.empty()) options.credentials[host] = o.base_credentials;
  ProgressCallback theirs = o.registry.progress;
  const ProgressCallback& ours = o.progress;
  options.progress = [theirs, &ours, &mu](const ProgressEvent& e) {
    if (theirs && theirs(e)) return true;
    if (!ours || (e.stage != registry::stage::kDone && e.stage != registry::stage::kSkipped)) return false;
    const std::lock_guard<std::mutex> lock(mu);
    const std::string what = e.stage == registry::stage::kDone ? "downloaded " : "have ";
    return ours(ProgressEvent{"pull", what + short_digest(e.digest) + " (" + std::to_string(e.bytes_total) + " bytes)",
                              e.digest, e.bytes_done, e.bytes_total});
  };
  return options;
}

}  // namespace

fs::path default_base_cache() {
  if (const char* dir = std::getenv("RUSTIMG_CACHE_DIR")) return dir;  // "" turns the cache off
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg == '/') return fs::path(xdg) / "rustimg";
  if (const char* home = std::getenv("HOME"); home != nullptr && *home == '/')
    return fs::path(home) / ".cache" / "rustimg";
  return {};
}

std::optional<std::pair<attest::VerifyingKey, std::string>> base_signing_key(const Plan& plan,
                                                                             const BuildOptions& o) {
  if (o.base_key.empty() && plan.spec.base_key.empty()) return std::nullopt;
  if (layer::is_builtin_base(plan.spec.base))
    throw Error(ErrorCode::InvalidArgument, "\"base-key\" checks the signature of an image base, and \"" +
                                                plan.spec.base + "\" is built into rustimg: drop the key, or build "
                                                                 "on an image (\"base\": \"REGISTRY/REPO:TAG\")");
  if (!o.base_key.empty()) return std::pair{read_verifying_key(o.base_key), o.base_key.string()};
  const fs::path file = crate_path::resolve(crate_path::canonical_root(plan.crate_dir), plan.spec.base_key,
                                            "base-key", crate_path::kBaseKeyFix);
  return std::pair{read_verifying_key(file), "base-key " + plan.spec.base_key};
}

std::int64_t source_date_epoch() { return util::source_date_epoch_from_environment(); }

BuildResult build_image(const BuildOptions& options) {
  Plan plan = plan_spec(options.spec, options.crate_dir);
  plan_prebuilt(plan, options.binaries);
  return build_image(plan, options);
}

BuildResult build_image(const Plan& plan, const BuildOptions& options) {
  return build_image(plan, options, nullptr);
}

BuildResult build_image(const Plan& plan, const BuildOptions& options, const layer::CaBundle* checked_ca) {
  // Every timestamp: the caller's, else SOURCE_DATE_EPOCH's (read once, first).
  BuildOptions o = options;
  if (!o.created) o.created = source_date_epoch();
  const Spec& spec = plan.spec;
  const std::vector<PlatformPlan>& binaries = plan.platforms;
  const Reporter report(o.progress);
  if (binaries.empty()) throw Error(ErrorCode::InvalidArgument, "no binary to put in the image");
  if (o.output.kind == store::ImageLocation::Kind::DockerArchive && binaries.size() > 1)
    throw Error(ErrorCode::InvalidArgument,
                "a docker-archive holds one platform, but " + std::to_string(binaries.size()) +
                    " binaries were given; write an oci: or oci-archive: output for a multi-platform image");

  if (o.format == oci::Format::Docker && (o.output.kind == store::ImageLocation::Kind::OciLayout ||
                                          o.output.kind == store::ImageLocation::Kind::OciArchive))
    throw Error(ErrorCode::InvalidArgument,
                "Docker media types in an OCI layout or OCI archive are ignored by skopeo and podman (they only "
                "look up OCI manifests there); use the oci format for " + o.output.to_string() +
                    ", or write a docker-archive:");

  store::check_output_location(o.output);

  // The CA bundle is checked before anything is written (by the caller
  // before cargo ran, or here).
  const bool image_base = !layer::is_builtin_base(spec.base);
  const layer::CaBundle ca = checked_ca != nullptr ? *checked_ca : read_ca_bundle(plan);

  // The assets layer's files, placed once: the NSS verdict reads the
  // image's /etc/nsswitch.conf from them, and step 4 writes them.
  layer::FileTree assets;
  layer::add_assets(assets, spec.assets, plan.crate_dir);

  // 1. Verify every binary before writing anything.
  BuildResult result;
  result.tags = spec.tags;
  std::vector<Platform> platforms(binaries.size());
  for (std::size_t i = 0; i < binaries.size(); ++i) {
    result.reports.push_back(verify_binary(binaries[i], platforms[i], spec, o, assets, report));
    for (std::size_t j = 0; j < i; ++j)
      if (platforms[j] == platforms[i])
        throw Error(ErrorCode::InvalidArgument, "two binaries are for " + platforms[i].to_string() +
                                                    ": give one binary per platform");
  }

  // 2. Where blobs go: staged beside the destination (same file system:
  //    publishing is a rename or hard link) and removed when done, or for a
  //    registry, uploaded as they are written.
  const std::unique_ptr<BlobTarget> blobs = make_blob_target(o, spec.tags);

  // 3. An image base: pulled for every platform into the staging store.
  std::vector<PulledBase> bases;
  const auto signer = base_signing_key(plan, o);
  if (image_base) {
    const Reference ref = parse_reference(spec.base);
    std::mutex progress_mu;
    // A signature required: checked before anything of the base is pulled,
    // and the base pulled is the manifest checked.
    std::string verified;
    if (signer) {
      try {
        verified =
            verify_image(ref.to_string(), signer->first, pull_options(o, ref.registry, progress_mu)).front().digest;
      } catch (const Error& e) {
        if (e.code() == ErrorCode::Verify)
          throw Error(ErrorCode::Verify, "the base image " + ref.to_string() + " is not signed by " +
                                             signer->second + ": " + e.what() +
                                             ". Build on a base signed by that key (rustimg sign, cosign sign), or "
                                             "drop the key");
        // A malformed signature image: said to be the base's. (A registry
        // error names the image already and keeps its status.)
        if (e.code() == ErrorCode::InvalidArgument)
          throw Error(ErrorCode::InvalidArgument, "the signature of the base image " + ref.to_string() +
                                                      " cannot be checked against " + signer->second + ": " +
                                                      e.what());
        throw;
      }
      report("pull", "base " + ref.to_string() + " is signed by " + signer->second + " (" + verified + ")");
    }
    registry::Client client(pull_options(o, ref.registry, progress_mu));
    std::optional<store::BlobStore> cache;
    if (!o.base_cache.empty()) {
      try {
        cache.emplace(o.base_cache);
      } catch (const Error& e) {
        report("pull", std::string("warning: not caching base blobs: ") + e.what());
      }
    }
    BaseBlobSink sink(blobs->base_store(), cache ? &*cache : nullptr);
    for (const Platform& platform : platforms) {
      report("pull", "base " + ref.to_string() + " for " + platform.to_string());
      // Pulled by the digest that was checked: a tag moved since is not followed.
      bases.push_back(pull_base(client, ref, platform, sink, o.option_names, false, verified));
      report("pull", "base " + ref.to_string() + " for " + platform.to_string() + ": " + bases.back().image.digest +
                         " (" + std::to_string(bases.back().image.layers.size()) + " layers)");
    }
    for (const char* key : {"ca-certificates", "extra-ca-certificates", "tzdata"})
      if (spec.given.count(key) != 0)
        report("layer", std::string("warning: \"") + key + "\" applies to the built-in bases only; " +
                            ref.to_string() + " provides its own files");
  }

  // 4. Layers shared by every platform, written once: the built-in base,
  //    then the assets (with their history lines).
  std::vector<std::pair<compose::Layer, std::string>> shared;
  const layer::FileTree base = image_base ? layer::FileTree{} : layer::base_files(spec.base, base_options(plan), ca);
  for (const std::string& note : base_file_notes(plan, ca)) report("layer", note);
  if (!base.empty()) {
    const layer::Layer l = put_layer(base, "base", spec, o, *blobs, report);
    report("layer", "base \"" + spec.base + "\": " + short_digest(l.descriptor.digest) + " (" +
                        std::to_string(l.descriptor.size) + " bytes)", l.descriptor);
    shared.emplace_back(compose::BuildAccess::written(l), base_history(plan, ca));
  }
  if (!spec.assets.empty()) {
    const layer::Layer l = put_layer(assets, "assets", spec, o, *blobs, report);
    report("layer", "assets: " + short_digest(l.descriptor.digest) + " (" + std::to_string(l.descriptor.size) +
                        " bytes)", l.descriptor);
    std::vector<std::string> sources;
    for (const auto& a : spec.assets) sources.push_back(a.source + " -> " + a.dest);
    shared.emplace_back(compose::BuildAccess::written(l), "rustimg: assets " + join(sources, ", "));
  }

  // 5. Per platform, as compose values (one path: base + layers + config +
  //    annotations -> manifest): scratch or the pulled base, created set
  //    first (the history entries of the appended layers carry it), the
  //    shared layers and the app layer appended, then the build's own config
  //    rules and annotations, which with_config() deliberately does not
  //    apply. Every platform's binary goes to the same path (named after
  //    the spec's bin, else the first binary's file name).
  const bool has_certificates = !ca.pem.empty();
  const image::ImageOptions image_options{o.format, *o.created, has_certificates};
  const std::string name = binaries.front().prebuilt.filename().string();
  std::vector<compose::Image> images;
  const ArtifactPlace place = artifact_place(o.format, o.output);
  bool attach_sbom = sbom_attached(spec, o.format, o.output);
  bool attach_provenance = provenance_attached(spec, o.format, o.output);
  if ((!spec.sbom.empty() || (spec.provenance && spec.given.count("provenance") != 0)) &&
      place == ArtifactPlace::Nowhere)
    report("sbom", "note: an image in Docker media types carries no OCI 1.1 artifacts; " + o.output.to_string() +
                       " gets no SBOM or provenance (build with --format oci)");
  if (spec.provenance && spec.given.count("provenance") != 0 && attach_provenance && !binaries.front().cargo_run)
    report("provenance", "note: provenance is recorded for images cargo built from a crate; a prebuilt binary "
                         "gets none");
  std::vector<oci::Descriptor> referrers;
  // Beside an archive, which cannot carry them: each artifact's content as
  // a file, written once the archive is.
  struct BesideFile {
    fs::path path;
    std::string bytes;
    bool sbom;
  };
  std::vector<BesideFile> beside;
  // An artifact about image `subject`: listed in index.json under cosign's
  // tag for its kind (sha256-<hex>.<suffix>), or a file beside the archive.
  const auto attach = [&](const oci::Artifact& a, const std::string& subject, const char* suffix,
                          const Platform& platform, const std::string& file_kind) {
    if (place == ArtifactPlace::BesideArchive) {
      beside.push_back({beside_archive(o.output, platform.to_string(), binaries.size() > 1, file_kind),
                        a.content.bytes, std::string(suffix) == "sbom"});
      return;
    }
    for (const oci::Blob* b : {&a.config, &a.content, &a.manifest}) blobs->put(*b);
    oci::Descriptor entry = a.manifest.descriptor;
    entry.annotations[oci::annotation::kRefName] = oci::referrer_tag(subject, suffix);
    referrers.push_back(std::move(entry));
  };
  std::map<std::string, std::string> documents;  // digest -> bytes of the configs, manifests and index (the summary)
  for (std::size_t i = 0; i < binaries.size(); ++i) {
    const std::string dest = image::binary_path(image::entrypoint(plan.config, name));
    layer::FileTree app;
    app.add_file(dest, binaries[i].prebuilt, 0755);
    const layer::Layer l = put_layer(app, platforms[i].to_string() + " app", spec, o, *blobs, report);
    report("layer", platforms[i].to_string() + " app " + dest + ": " + short_digest(l.descriptor.digest) + " (" +
                        std::to_string(l.descriptor.size) + " bytes)", l.descriptor);
    compose::Image img = image_base
                             ? compose::BuildAccess::on_base(bases[i].image, platforms[i], o.format).with_created(*o.created)
                             : compose::BuildAccess::scratch(platforms[i], o.format, *o.created);
    for (const auto& [layer, created_by] : shared) img = img.append(layer, created_by);
    img = img.append(compose::BuildAccess::written(l), "rustimg: app " + dest);
    img = compose::BuildAccess::with_config_document(
        img, image::apply_build_config(img.config_json(), plan.config, platforms[i], name, image_options, image_base));
    // Docker manifests carry no annotations (with_annotations refuses them).
    if (o.format == oci::Format::Oci)
      img = img.with_annotations(image_base ? image::manifest_annotations_on_base(plan.config, name, image_options,
                                                                                  bases[i].image.name,
                                                                                  bases[i].image.digest)
                                            : image::manifest_annotations(plan.config, name, image_options));
    blobs->put(img.config());
    blobs->put(img.manifest());
    documents[img.config().descriptor.digest] = img.config().bytes;
    documents[img.digest()] = img.manifest().bytes;
    report("image", platforms[i].to_string() + " manifest " + img.digest());
    ImageFacts facts{plan, binaries[i], platforms[i].to_string(), dest, base, assets, std::nullopt, std::nullopt,
                     *o.created};
    if (image_base) {
      facts.base_reference = spec.base;
      facts.base_digest = bases[i].image.digest;
    }
    if (attach_sbom) {
      const auto format = spec.sbom == "cyclonedx" ? attest::SbomFormat::CycloneDx : attest::SbomFormat::Spdx;
      try {
        const oci::Artifact sbom = sbom_artifact(facts, format, img.manifest().descriptor);
        attach(sbom, img.digest(), "sbom", platforms[i], beside_sbom_kind(format));
        report("sbom", platforms[i].to_string() + " " + sbom.content.descriptor.media_type + " " +
                           sbom.manifest.descriptor.digest, sbom.manifest.descriptor);
      } catch (const Error& e) {
        if (!sbom_optional(spec))
          throw Error(e.code(), "the SBOM of the " + platforms[i].to_string() + " image cannot be made: " + e.what() +
                                    " (\"sbom\": \"none\", --sbom none, writes the image without one)");
        report_sbom_skipped(o.progress, e);
        attach_sbom = false;
        std::erase_if(referrers, [](const oci::Descriptor& d) { return d.artifact_type != attest::media_type::kInToto; });
        std::erase_if(beside, [](const BesideFile& f) { return f.sbom; });
      }
    }
    if (attach_provenance && binaries[i].cargo_run) {
      try {
        const oci::Artifact provenance = provenance_artifact(facts, img.manifest().descriptor);
        attach(provenance, img.digest(), "provenance", platforms[i], kBesideProvenance);
        report("provenance", platforms[i].to_string() + " " + attest::kSlsaProvenanceV1 + " " +
                                 provenance.manifest.descriptor.digest, provenance.manifest.descriptor);
      } catch (const Error& e) {
        if (!provenance_optional(spec))
          throw Error(e.code(), "the provenance of the " + platforms[i].to_string() + " image cannot be made: " +
                                    e.what() + " (--no-provenance writes the image without it)");
        report("provenance", std::string("warning: writing the image without provenance: ") + e.what() +
                                 " (set \"provenance\" to make this an error)");
        attach_provenance = false;
        std::erase_if(referrers, [](const oci::Descriptor& d) { return d.artifact_type == attest::media_type::kInToto; });
        std::erase_if(beside, [](const BesideFile& f) { return !f.sbom; });
      }
    }
    images.push_back(std::move(img));
  }

  // 6. One platform: the manifest is the image; several: an index.
  if (images.size() == 1) {
    result.descriptor = images.front().manifest().descriptor;
  } else {
    std::map<std::string, std::string> annotations;
    if (o.format == oci::Format::Oci)  // a Docker manifest list carries none
      annotations = image_base ? image::manifest_annotations_on_base(plan.config, name, image_options,
                                                                     bases.front().image.name,
                                                                     bases.front().root_digest)
                               : image::manifest_annotations(plan.config, name, image_options);
    const compose::Index index(std::move(images), std::move(annotations));
    blobs->put(index.index());
    result.descriptor = index.index().descriptor;
    documents[index.digest()] = index.index().bytes;
    report("image", "index " + index.digest());
  }
  result.descriptor.platform.reset();
  result.image = transfer::summarize(result.descriptor, [&](const oci::Descriptor& d) { return documents.at(d.digest); });

  // 7. Publish.
  report("write", o.output.to_string());
  result.pushed = blobs->publish(result.descriptor, bases, referrers);
  for (const BesideFile& f : beside) {
    util::AtomicFile file(f.path.parent_path().empty() ? fs::path(".") : f.path.parent_path());
    file.write(f.bytes);
    file.commit(f.path);
    result.beside.push_back(f.path);
    report(f.sbom ? "sbom" : "provenance",
           "wrote " + f.path.string() + " beside " + o.output.to_string() + ", which cannot carry it");
  }
  // What an earlier build left beside the archive no longer describes it.
  if (place == ArtifactPlace::BesideArchive)
    for (const fs::path& stale : remove_stale_beside_archive(o.output, result.beside))
      report("write", "removed " + stale.string() + ", left beside " + o.output.to_string() + " by an earlier build");
  return result;
}

}  // namespace rustimg::pipeline
