// Descriptors and the config / manifest / index documents as canonical JSON.
#include <cstdint>

#include "rustimg/error.hpp"
#include "rustimg/oci.hpp"
#include "rustimg/reference.hpp"

namespace rustimg::oci {
namespace {

using nlohmann::json;

json string_map(const std::map<std::string, std::string>& m) {
  json out = json::object();
  for (const auto& [k, v] : m) out[k] = v;
  return out;
}

json history_json(const HistoryEntry& h) {
  json e = json::object();
  if (!h.created.empty()) e["created"] = h.created;
  if (!h.created_by.empty()) e["created_by"] = h.created_by;
  if (!h.comment.empty()) e["comment"] = h.comment;
  if (h.empty_layer) e["empty_layer"] = true;
  return e;
}

/// The runtime keys of a config's "config" object that ImageConfig models.
constexpr const char* kRuntimeKeys[] = {"User",         "Env",    "Entrypoint", "Cmd",        "WorkingDir",
                                        "ExposedPorts", "Labels", "StopSignal", "Healthcheck"};

[[noreturn]] void bad_descriptor(const std::string& why) {
  throw Error(ErrorCode::InvalidArgument, "invalid OCI descriptor: " + why);
}

}  // namespace

json Descriptor::to_json() const {
  json j = {{"mediaType", media_type}, {"digest", digest}, {"size", size}};
  if (!annotations.empty()) j["annotations"] = string_map(annotations);
  if (!artifact_type.empty()) j["artifactType"] = artifact_type;
  if (platform) {
    json p = {{"architecture", platform->architecture}, {"os", platform->os}};
    if (const std::string v = platform->descriptor_variant(); !v.empty()) p["variant"] = v;
    j["platform"] = std::move(p);
  }
  return j;
}

Descriptor Descriptor::from_json(const json& j) {
  if (!j.is_object()) bad_descriptor("expected a JSON object, got " + std::string(j.type_name()));
  Descriptor d;
  auto str = [&](const char* key) -> std::string {
    const auto it = j.find(key);
    if (it == j.end() || !it->is_string()) bad_descriptor(std::string("\"") + key + "\" is missing or not a string");
    return it->get<std::string>();
  };
  d.media_type = str("mediaType");
  d.digest = str("digest");
  if (!is_valid_digest(d.digest)) bad_descriptor("bad digest \"" + d.digest + "\"");
  const auto size = j.find("size");
  if (size == j.end()) bad_descriptor("\"size\" is missing");
  check_descriptor_size(*size, d.digest, "invalid OCI descriptor");
  d.size = size->get<std::int64_t>();
  if (const auto a = j.find("annotations"); a != j.end() && a->is_object())
    for (const auto& [k, v] : a->items())
      if (v.is_string()) d.annotations[k] = v.get<std::string>();
  if (const auto t = j.find("artifactType"); t != j.end() && t->is_string()) d.artifact_type = t->get<std::string>();
  if (const auto p = j.find("platform"); p != j.end() && p->is_object()) {
    Platform plat;
    auto field = [&](const char* key) -> std::string {
      const auto it = p->find(key);
      if (it == p->end() || it->is_null()) return {};
      if (!it->is_string()) bad_descriptor(std::string("platform \"") + key + "\" is not a string");
      return it->get<std::string>();
    };
    plat.os = field("os");
    plat.architecture = field("architecture");
    plat.variant = field("variant");
    d.platform = plat;
  }
  return d;
}

Blob make_blob(const json& doc, std::string type) {
  Blob b;
  b.bytes = canonical_json(doc);
  b.descriptor.media_type = std::move(type);
  b.descriptor.digest = sha256_digest(b.bytes);
  b.descriptor.size = static_cast<std::int64_t>(b.bytes.size());
  return b;
}

std::string referrers_index_tag(std::string_view subject_digest) { return "sha256-" + digest_hex(subject_digest); }

bool is_referrer_tag(std::string_view tag) noexcept {
  constexpr std::string_view kPrefix = "sha256-";
  constexpr std::size_t kHex = 64;
  if (tag.size() < kPrefix.size() + kHex || tag.substr(0, kPrefix.size()) != kPrefix) return false;
  const std::string_view hex = tag.substr(kPrefix.size(), kHex);
  if (hex.find_first_not_of("0123456789abcdef") != std::string_view::npos) return false;
  return tag.size() == kPrefix.size() + kHex || tag[kPrefix.size() + kHex] == '.';
}

std::string referrer_tag(std::string_view subject_digest, std::string_view suffix) {
  return referrers_index_tag(subject_digest) + "." + std::string(suffix);
}

Artifact make_artifact(std::string content, const std::string& content_type, const std::string& artifact_type,
                       const Descriptor& subject, std::map<std::string, std::string> annotations) {
  Artifact a;
  a.config = make_blob(json::object(), media_type::kOciEmpty);
  a.content.descriptor = {content_type, sha256_digest(content), static_cast<std::int64_t>(content.size()), {}, {}, {}};
  a.content.bytes = std::move(content);
  Manifest m;
  m.config = a.config.descriptor;
  m.layers = {a.content.descriptor};
  m.annotations = std::move(annotations);
  m.artifact_type = artifact_type;
  m.subject = subject;  // what it is about: the manifest itself, not where an index lists it
  m.subject->platform.reset();
  m.subject->annotations.clear();
  a.manifest = make_blob(m.to_json(), media_type::kOciManifest);
  a.manifest.descriptor.artifact_type = artifact_type;
  return a;
}

json ImageConfig::to_json() const {
  json cfg = json::object();
  if (!user.empty()) cfg["User"] = user;
  if (!env.empty()) cfg["Env"] = env;
  if (!entrypoint.empty()) cfg["Entrypoint"] = entrypoint;
  if (!cmd.empty()) cfg["Cmd"] = cmd;
  if (!working_dir.empty()) cfg["WorkingDir"] = working_dir;
  if (!exposed_ports.empty()) {
    json ports = json::object();
    for (const auto& p : exposed_ports) ports[p] = json::object();
    cfg["ExposedPorts"] = std::move(ports);
  }
  if (!labels.empty()) cfg["Labels"] = string_map(labels);
  if (!stop_signal.empty()) cfg["StopSignal"] = stop_signal;
  if (healthcheck) {
    json h = {{"Test", healthcheck->test}};
    if (healthcheck->interval_ns != 0) h["Interval"] = healthcheck->interval_ns;
    if (healthcheck->timeout_ns != 0) h["Timeout"] = healthcheck->timeout_ns;
    if (healthcheck->start_period_ns != 0) h["StartPeriod"] = healthcheck->start_period_ns;
    if (healthcheck->retries != 0) h["Retries"] = healthcheck->retries;
    cfg["Healthcheck"] = std::move(h);
  }

  json hist = json::array();
  for (const auto& h : history) hist.push_back(history_json(h));

  json j = {{"architecture", platform.architecture},
            {"os", platform.os},
            {"config", std::move(cfg)},
            {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}};
  if (const std::string v = platform.descriptor_variant(); !v.empty()) j["variant"] = v;
  if (!created.empty()) j["created"] = created;
  if (!history.empty()) j["history"] = std::move(hist);
  return j;
}

json config_on_base(const json& base, const ImageConfig& config, bool replace_healthcheck) {
  json doc = base.is_object() ? base : json::object();
  doc["created"] = config.created;
  doc["os"] = config.platform.os;
  doc["architecture"] = config.platform.architecture;
  if (const std::string v = config.platform.descriptor_variant(); !v.empty()) doc["variant"] = v;

  json cfg = doc.contains("config") && doc["config"].is_object() ? doc["config"] : json::object();
  const json ours = config.to_json()["config"];
  for (const char* key : kRuntimeKeys) {
    if (std::string_view(key) == "Healthcheck" && !replace_healthcheck) continue;
    cfg.erase(key);
    if (ours.contains(key)) cfg[key] = ours[key];
  }
  doc["config"] = std::move(cfg);

  json history = doc.contains("history") && doc["history"].is_array() ? doc["history"] : json::array();
  for (const auto& h : config.history) history.push_back(history_json(h));
  doc["rootfs"] = {{"type", "layers"}, {"diff_ids", config.diff_ids}};
  doc["history"] = std::move(history);
  return doc;
}

json Manifest::to_json() const {
  json layer_list = json::array();
  for (const auto& l : layers) layer_list.push_back(l.to_json());
  json j = {{"schemaVersion", 2},
            {"mediaType", manifest_media_type(format)},
            {"config", config.to_json()},
            {"layers", std::move(layer_list)}};
  if (format == Format::Oci && !annotations.empty()) j["annotations"] = string_map(annotations);
  if (format == Format::Oci && !artifact_type.empty()) j["artifactType"] = artifact_type;
  if (format == Format::Oci && subject) j["subject"] = subject->to_json();
  return j;
}

json Index::to_json() const {
  json list = json::array();
  for (const auto& m : manifests) list.push_back(m.to_json());
  json j = {{"schemaVersion", 2}, {"mediaType", index_media_type(format)}, {"manifests", std::move(list)}};
  if (format == Format::Oci && !annotations.empty()) j["annotations"] = string_map(annotations);
  return j;
}

const char* config_media_type(Format format) noexcept {
  return format == Format::Oci ? media_type::kOciConfig : media_type::kDockerConfig;
}

const char* manifest_media_type(Format format) noexcept {
  return format == Format::Oci ? media_type::kOciManifest : media_type::kDockerManifest;
}

const char* index_media_type(Format format) noexcept {
  return format == Format::Oci ? media_type::kOciIndex : media_type::kDockerManifestList;
}

const char* layer_media_type(Format format, std::string_view compression) noexcept {
  if (compression == "gzip") return format == Format::Oci ? media_type::kOciLayerGzip : media_type::kDockerLayerGzip;
  if (compression == "zstd") return format == Format::Oci ? media_type::kOciLayerZstd : media_type::kDockerLayerZstd;
  return format == Format::Oci ? media_type::kOciLayerTar : media_type::kDockerLayerTar;
}

bool is_index_media_type(std::string_view type) noexcept {
  return type == media_type::kOciIndex || type == media_type::kDockerManifestList;
}

void check_descriptor_size(const json& size, const std::string& digest, const std::string& what) {
  const bool ok = size.is_number_unsigned()
                      ? size.get<std::uint64_t>() <= static_cast<std::uint64_t>(INT64_MAX)
                      : size.is_number_integer() && size.get<std::int64_t>() >= 0;
  if (!ok)
    throw Error(ErrorCode::InvalidArgument, what + ": the size of " + digest + " is not a non-negative integer");
  if (size.get<std::int64_t>() == 0 && digest != kEmptyDigest)
    throw Error(ErrorCode::InvalidArgument, what + ": the descriptor of " + digest +
                                                " gives size 0, but only the empty blob has size 0; "
                                                "the document is corrupt or hostile");
}

std::string document_media_type(const json& doc, std::string_view declared, const std::string& what) {
  auto is_manifest_type = [](std::string_view t) {
    return t == media_type::kOciManifest || t == media_type::kDockerManifest || is_index_media_type(t);
  };
  if (!doc.is_object()) throw Error(ErrorCode::InvalidArgument, what + " is not a JSON object");
  const bool index_shape = doc.contains("manifests");
  const bool image_shape = doc.contains("config") || doc.contains("layers");
  if (index_shape == image_shape)
    throw Error(ErrorCode::InvalidArgument,
                what + (index_shape ? " has both \"manifests\" and \"config\"/\"layers\""
                                    : " has neither \"manifests\" nor \"config\"/\"layers\"") +
                    ": it is neither an image manifest nor an index");
  std::string type;
  if (const auto m = doc.find("mediaType"); m != doc.end()) {
    if (!m->is_string() || !is_manifest_type(m->get<std::string>()))
      throw Error(ErrorCode::InvalidArgument,
                  what + " has mediaType " + (m->is_string() ? "\"" + m->get<std::string>() + "\"" : m->dump()) +
                      ", which is not an image manifest or index type rustimg reads");
    type = m->get<std::string>();
    if (is_index_media_type(type) != index_shape)
      throw Error(ErrorCode::InvalidArgument, what + " says it is " + type + " but its fields are those of " +
                                                  (index_shape ? "an index" : "an image manifest"));
  } else {
    type = index_shape ? media_type::kOciIndex : media_type::kOciManifest;
  }
  if (is_manifest_type(declared) && declared != type)
    throw Error(ErrorCode::InvalidArgument, what + " is referred to as " + std::string(declared) + " but is " +
                                                type + "; refusing a descriptor whose media type lies");
  return type;
}

}  // namespace rustimg::oci
