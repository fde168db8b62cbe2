// Reading manifests, indexes and configs, and walking an image's tree: the
// only place rustimg picks OCI JSON apart.
#include <algorithm>
#include <set>
#include <utility>

#include "rustimg/error.hpp"
#include "rustimg/json.hpp"
#include "rustimg/oci.hpp"
#include "rustimg/reference.hpp"

namespace rustimg::oci {
namespace {

using nlohmann::json;

[[noreturn]] void invalid(const std::string& message) { throw Error(ErrorCode::InvalidArgument, message); }

/// `bytes` as a JSON object, at most `cap` bytes, depth-limited.
json read_object(std::string_view bytes, std::uint64_t cap, const std::string& what) {
  if (bytes.size() > cap)
    invalid(what + " has " + std::to_string(bytes.size()) + " bytes, more than the " + std::to_string(cap >> 20) +
            " MiB rustimg reads");
  json doc = parse_json(bytes, what);
  if (!doc.is_object()) invalid(what + " is not a JSON object");
  return doc;
}

/// `platform` in canonical form when parse_platform knows it, else as written.
Platform canonical(Platform platform) {
  if (platform.architecture.empty()) return platform;
  try {
    return parse_platform(platform.to_string());
  } catch (const Error&) {
    return platform;  // an architecture rustimg has no name for stays as written
  }
}

std::string string_field(const json& obj, const char* key, const std::string& what) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return {};
  if (!it->is_string()) invalid(what + ": \"" + key + "\" is not a string");
  return it->get<std::string>();
}

std::vector<std::string> strings_field(const json& obj, const char* key, const std::string& what) {
  std::vector<std::string> out;
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return out;
  if (!it->is_array()) invalid(what + ": \"" + key + "\" is not an array of strings");
  for (const auto& v : *it) {
    if (!v.is_string()) invalid(what + ": \"" + key + "\" is not an array of strings");
    out.push_back(v.get<std::string>());
  }
  return out;
}

std::int64_t int_field(const json& obj, const char* key, const std::string& what) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return 0;
  if (!it->is_number_integer()) invalid(what + ": \"" + key + "\" is not an integer");
  return it->get<std::int64_t>();
}

std::map<std::string, std::string> annotations_of(const json& doc, const std::string& what) {
  std::map<std::string, std::string> out;
  const auto it = doc.find("annotations");
  if (it == doc.end() || it->is_null()) return out;
  if (!it->is_object()) invalid(what + ": \"annotations\" is not an object");
  for (const auto& [k, v] : it->items())
    if (v.is_string()) out[k] = v.get<std::string>();
  return out;
}

/// One descriptor, by Descriptor::from_json's rules; in Lenient mode a
/// missing mediaType is kept as "".
Descriptor descriptor(const json& j, ParseMode mode, const std::string& where) {
  try {
    if (mode == ParseMode::Lenient && j.is_object() && !j.contains("mediaType")) {
      json typed = j;
      typed["mediaType"] = "";
      Descriptor d = Descriptor::from_json(typed);
      if (d.platform) d.platform = canonical(*d.platform);
      return d;
    }
    Descriptor d = Descriptor::from_json(j);
    if (d.platform) d.platform = canonical(*d.platform);
    return d;
  } catch (const Error& e) {
    throw Error(e.code(), where + ": " + e.what());
  }
}

std::vector<Descriptor> descriptor_list(const json& doc, const char* key, ParseMode mode, const std::string& what) {
  std::vector<Descriptor> out;
  const auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) return out;
  if (!it->is_array()) invalid(what + ": \"" + key + "\" is not an array");
  std::size_t i = 0;
  for (const auto& entry : *it) out.push_back(descriptor(entry, mode, what + ": " + key + "[" + std::to_string(i++) + "]"));
  return out;
}

/// schemaVersion: 2 when present; required in Strict mode.
void check_schema_version(const json& doc, ParseMode mode, const std::string& what) {
  const auto v = doc.find("schemaVersion");
  if (v == doc.end() && mode == ParseMode::Lenient) return;
  if (v == doc.end() || *v != 2)
    throw Error(ErrorCode::Unsupported, what + " is not a schema version 2 document (Docker schema 1 is not supported)");
}

/// The document's "mediaType" ("" when absent); a non-string is malformed.
std::string declared_type(const json& doc, const std::string& what) { return string_field(doc, "mediaType", what); }

Manifest manifest_from(const json& doc, ParseMode mode, const std::string& what) {
  const std::string type = declared_type(doc, what);
  if (doc.contains("manifests") || (!type.empty() && !is_manifest_media_type(type)))
    throw Error(ErrorCode::Unsupported, what + " has media type \"" + (type.empty() ? std::string("index") : type) +
                                            "\", not an image manifest");
  check_schema_version(doc, mode, what);
  Manifest m;
  m.format = type == media_type::kDockerManifest ? Format::Docker : Format::Oci;
  const auto cfg = doc.find("config");
  if (cfg == doc.end()) invalid(what + " has no \"config\"");
  m.config = descriptor(*cfg, mode, what + ": config");
  m.layers = descriptor_list(doc, "layers", mode, what);
  m.annotations = annotations_of(doc, what);
  if (const auto t = doc.find("artifactType"); t != doc.end() && t->is_string()) m.artifact_type = t->get<std::string>();
  if (const auto s = doc.find("subject"); s != doc.end() && !s->is_null()) m.subject = descriptor(*s, mode, what + ": subject");
  return m;
}

Index index_from(const json& doc, ParseMode mode, const std::string& what) {
  const std::string type = declared_type(doc, what);
  if (!type.empty() && !is_index_media_type(type))
    throw Error(ErrorCode::Unsupported, what + " has media type \"" + type + "\", not an image index");
  if (type.empty() && !doc.contains("manifests") && (doc.contains("config") || doc.contains("layers")))
    throw Error(ErrorCode::Unsupported, what + " is an image manifest, not an image index");
  check_schema_version(doc, mode, what);
  Index index;
  index.format = type == media_type::kDockerManifestList ? Format::Docker : Format::Oci;
  index.manifests = descriptor_list(doc, "manifests", mode, what);
  index.annotations = annotations_of(doc, what);
  return index;
}

HealthConfig health_from(const json& h, const std::string& what) {
  HealthConfig hc;
  hc.test = strings_field(h, "Test", what);
  hc.interval_ns = int_field(h, "Interval", what);
  hc.timeout_ns = int_field(h, "Timeout", what);
  hc.start_period_ns = int_field(h, "StartPeriod", what);
  hc.retries = static_cast<int>(int_field(h, "Retries", what));
  return hc;
}

/// History is informational: in Lenient mode a malformed one is dropped.
std::vector<HistoryEntry> history_from(const json& doc, ParseMode mode, const std::string& what) {
  std::vector<HistoryEntry> out;
  const auto it = doc.find("history");
  if (it == doc.end() || it->is_null()) return out;
  try {
    if (!it->is_array()) invalid(what + ": \"history\" is not an array");
    for (const auto& e : *it) {
      if (!e.is_object()) invalid(what + ": a \"history\" entry is not an object");
      HistoryEntry h;
      h.created = string_field(e, "created", what + " history");
      h.created_by = string_field(e, "created_by", what + " history");
      h.comment = string_field(e, "comment", what + " history");
      if (const auto empty = e.find("empty_layer"); empty != e.end() && !empty->is_null()) {
        if (!empty->is_boolean()) invalid(what + " history: \"empty_layer\" is not a boolean");
        h.empty_layer = empty->get<bool>();
      }
      out.push_back(std::move(h));
    }
  } catch (const Error&) {
    if (mode == ParseMode::Strict) throw;
    out.clear();
  }
  return out;
}

}  // namespace

void check_document_size(const Descriptor& d, std::uint64_t max_bytes, const std::string& what) {
  if (d.size >= 0 && static_cast<std::uint64_t>(d.size) <= max_bytes) return;
  const bool mib = max_bytes >= (1u << 20) && max_bytes % (1u << 20) == 0;
  invalid(what + " has " + std::to_string(d.size) + " bytes, more than the " +
          (mib ? std::to_string(max_bytes >> 20) + " MiB" : std::to_string(max_bytes) + " bytes") + " rustimg reads");
}

bool is_manifest_media_type(std::string_view type) noexcept {
  return type == media_type::kOciManifest || type == media_type::kDockerManifest;
}

Manifest parse_manifest(std::string_view bytes, ParseMode mode, const std::string& what) {
  return manifest_from(read_object(bytes, kMaxManifestBytes, what), mode, what);
}

Index parse_index(std::string_view bytes, ParseMode mode, const std::string& what) {
  return index_from(read_object(bytes, kMaxManifestBytes, what), mode, what);
}

ImageConfig parse_config(std::string_view bytes, ParseMode mode, const std::string& what) {
  return config_from_json(read_object(bytes, kMaxConfigBytes, what), mode, what);
}

ImageConfig config_from_json(const json& doc, ParseMode mode, const std::string& what) {
  if (!doc.is_object()) invalid(what + " is not a JSON object");
  ImageConfig c;
  // Lenient: a platform field of another type counts as absent (registries
  // serve such configs; the platform then cannot be checked).
  auto platform_field = [&](const char* key) {
    if (mode == ParseMode::Lenient) {
      const auto it = doc.find(key);
      return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
    }
    return string_field(doc, key, what);
  };
  c.platform.os = platform_field("os");
  c.platform.architecture = platform_field("architecture");
  c.platform.variant = platform_field("variant");
  if (mode == ParseMode::Strict && (c.platform.os.empty() || c.platform.architecture.empty()))
    invalid(what + " has no \"os\" and \"architecture\"");
  c.platform = canonical(std::move(c.platform));
  c.created = string_field(doc, "created", what);

  const auto rootfs = doc.find("rootfs");
  if (rootfs != doc.end() && !rootfs->is_null()) {
    if (!rootfs->is_object()) invalid(what + ": \"rootfs\" is not an object");
    if (mode == ParseMode::Strict && !rootfs->contains("diff_ids")) invalid(what + ": \"rootfs\" has no \"diff_ids\"");
    c.diff_ids = strings_field(*rootfs, "diff_ids", what + " rootfs");
  } else if (mode == ParseMode::Strict) {
    invalid(what + " has no \"rootfs\"");
  }
  for (const auto& d : c.diff_ids)
    if (!is_valid_digest(d)) invalid(what + " rootfs: diff_id \"" + d + "\" is not a valid digest");
  c.history = history_from(doc, mode, what);

  const auto cfg_it = doc.find("config");
  if (cfg_it == doc.end() || cfg_it->is_null()) return c;
  if (!cfg_it->is_object()) invalid(what + ": \"config\" is not an object");
  const json& cfg = *cfg_it;
  const std::string where = what + " config";
  c.user = string_field(cfg, "User", where);
  c.env = strings_field(cfg, "Env", where);
  c.entrypoint = strings_field(cfg, "Entrypoint", where);
  c.cmd = strings_field(cfg, "Cmd", where);
  c.working_dir = string_field(cfg, "WorkingDir", where);
  c.stop_signal = string_field(cfg, "StopSignal", where);
  if (const auto ports = cfg.find("ExposedPorts"); ports != cfg.end() && !ports->is_null()) {
    if (!ports->is_object()) invalid(where + ": \"ExposedPorts\" is not an object");
    for (const auto& [port, _] : ports->items()) c.exposed_ports.push_back(port);
  }
  if (const auto labels = cfg.find("Labels"); labels != cfg.end() && !labels->is_null()) {
    if (!labels->is_object()) invalid(where + ": \"Labels\" is not an object");
    for (const auto& [k, v] : labels->items()) {
      if (!v.is_string()) invalid(where + ": label \"" + k + "\" is not a string");
      c.labels[k] = v.get<std::string>();
    }
  }
  if (const auto h = cfg.find("Healthcheck"); h != cfg.end() && !h->is_null()) {
    if (!h->is_object()) invalid(where + ": \"Healthcheck\" is not an object");
    c.healthcheck = health_from(*h, where + " Healthcheck");
  }
  return c;
}

const Manifest& Document::manifest() const {
  if (const auto* m = std::get_if<Manifest>(&content)) return *m;
  invalid("the document is an image index (" + media_type + "), not an image manifest");
}

const Index& Document::index() const {
  if (const auto* i = std::get_if<Index>(&content)) return *i;
  invalid("the document is an image manifest (" + media_type + "), not an image index");
}

std::vector<Descriptor> Document::children() const {
  if (const auto* i = std::get_if<Index>(&content)) return i->manifests;
  const Manifest& m = std::get<Manifest>(content);
  std::vector<Descriptor> out;
  out.reserve(m.layers.size() + 1);
  out.push_back(m.config);
  out.insert(out.end(), m.layers.begin(), m.layers.end());
  return out;
}

Document parse_document(std::string_view bytes, std::string_view declared_media_type, ParseMode mode,
                        const std::string& what) {
  const json doc = read_object(bytes, kMaxManifestBytes, what);
  Document d;
  d.media_type = document_media_type(doc, declared_media_type, what);
  if (is_index_media_type(d.media_type)) d.content = index_from(doc, mode, what);
  else d.content = manifest_from(doc, mode, what);
  return d;
}

std::string layout_index_with(std::optional<std::string_view> existing, const Descriptor& entry,
                              const std::string& tag, const std::string& what,
                              const std::vector<Descriptor>& artifacts) {
  json index = {{"schemaVersion", 2}, {"mediaType", media_type::kOciIndex}, {"manifests", json::array()}};
  if (existing) {
    try {
      index = parse_json(*existing, what);
    } catch (const JsonError& e) {
      invalid(std::string(e.what()) + "; repair or remove it before adding an image");
    }
    if (!index.is_object() || !index.contains("manifests") || !index["manifests"].is_array())
      invalid(what + " is not an OCI image index (no \"manifests\" array)");
  }
  // Every tag written now replaces the entry it names. Images (the other
  // tags) first, then the one tagged now, then the artifacts about images
  // (which tools list after what they describe).
  std::set<std::string> written = {tag};
  for (const Descriptor& d : artifacts) {
    const auto name = d.annotations.find(annotation::kRefName);
    if (name == d.annotations.end() || name->second.empty() || d.artifact_type.empty())
      throw Error(ErrorCode::InvalidArgument, "an artifact for " + what + " needs an artifactType and a tag");
    written.insert(name->second);
  }
  json kept = json::array();
  json old_artifacts = json::array();
  for (const auto& m : index["manifests"]) {
    const auto a = m.is_object() ? m.find("annotations") : m.end();
    if (a != m.end() && a->is_object()) {
      const auto name = a->find(annotation::kRefName);
      if (name != a->end() && name->is_string() && written.count(name->get<std::string>()) != 0) continue;
    }
    (m.is_object() && m.contains("artifactType") ? old_artifacts : kept).push_back(m);
  }
  Descriptor tagged = entry;
  tagged.annotations[annotation::kRefName] = tag;
  kept.push_back(tagged.to_json());
  for (auto& m : old_artifacts) kept.push_back(std::move(m));
  for (const Descriptor& d : artifacts) kept.push_back(d.to_json());
  index["manifests"] = std::move(kept);
  return canonical_json(index);
}

// --- the walker ----------------------------------------------------------------

namespace {

struct Walker {
  const FetchDocument& fetch;
  const WalkOptions& options;
  const std::string& what;
  std::vector<WalkNode> out;
  std::set<std::string> seen;
  std::vector<std::string> path;  // digests of the documents above the current node

  void visit(const Descriptor& d, int depth, bool under_index) {
    for (const auto& ancestor : path)
      if (ancestor == d.digest)
        invalid(what + ": " + d.digest + " refers to itself through its children (a cycle); refusing to follow");
    if (!seen.insert(d.digest).second) return;
    WalkNode node;
    node.descriptor = d;
    node.depth = depth;
    const bool is_document = is_index_media_type(d.media_type) || is_manifest_media_type(d.media_type) ||
                             (d.media_type.empty() && (depth == 0 || under_index));
    if (!is_document) {
      out.push_back(std::move(node));
      return;
    }
    if (depth > kMaxIndexDepth)
      invalid(what + " nests indexes deeper than " + std::to_string(kMaxIndexDepth) + " levels");
    node.bytes = fetch(d);
    node.document = parse_document(node.bytes, d.media_type, options.mode, "manifest " + d.digest + " of " + what);
    std::vector<Descriptor> children = node.document->children();
    if (options.select) children = options.select(node, std::move(children));
    const bool index = node.document->is_index();
    if (options.order == WalkOrder::ParentsFirst) out.push_back(std::move(node));
    path.push_back(d.digest);
    for (const auto& c : children) visit(c, depth + 1, index);
    path.pop_back();
    if (options.order == WalkOrder::ChildrenFirst) out.push_back(std::move(node));
  }
};

}  // namespace

std::vector<WalkNode> walk(const Descriptor& top, const FetchDocument& fetch, const WalkOptions& options,
                           const std::string& what) {
  Walker w{fetch, options, what, {}, {}, {}};
  w.visit(top, 0, false);
  return std::move(w.out);
}

}  // namespace rustimg::oci
