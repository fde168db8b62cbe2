// The C ABI shim: converts arguments, calls the C++ core, converts results,
// and turns every exception into a rustimg_error. Nothing else lives here.
#include "rustimg.h"

#include <atomic>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rustimg/compose.hpp"
#include "rustimg/pipeline.hpp"
#include "rustimg/elf.hpp"
#include "rustimg/error.hpp"
#include "rustimg/json.hpp"
#include "rustimg/transfer.hpp"
#include "rustimg/registry.hpp"
#include "rustimg/signing.hpp"
#include "rustimg/spec.hpp"
#include "rustimg/version.hpp"

struct rustimg_error {
  int code = RUSTIMG_ERROR;
  std::string klass;
  std::string message;
  std::vector<std::string> details;
  int http_status = 0;
  std::string registry_code;
};

struct rustimg_credentials {
  rustimg::registry::Credentials value;
};

struct rustimg_transfer_result {
  std::string reference;
  std::string digest;
  std::string json;
};

struct rustimg_signatures {
  std::string json;
};

struct rustimg_elf_report {
  rustimg::elf::Report report;
  std::string linkage;
  std::string json;
};

struct rustimg_spec {
  rustimg::Spec spec;
  std::string json;
};

struct rustimg_cancel_token {
  std::atomic<bool> cancelled{false};
};

struct rustimg_build_result {
  std::string digest;
  std::string json;
};

struct rustimg_layer_builder {
  rustimg::compose::LayerBuilder builder;
};

struct rustimg_layer {
  rustimg::compose::Layer layer;
};

struct rustimg_image {
  rustimg::compose::Image image;
  std::string platform;
};

struct rustimg_index {
  rustimg::compose::Index index;
};

namespace {

// Runs `fn`, mapping any exception to a return code and (if asked) an error object.
template <typename Fn>
int guarded(rustimg_error** err, Fn&& fn) noexcept {
  if (err != nullptr) *err = nullptr;
  auto report = [err](int code, const char* klass, const char* message, std::vector<std::string> details = {},
                      int http_status = 0, const std::string& registry_code = {}) noexcept {
    if (err == nullptr) return code;
    try {
      *err = new rustimg_error{code, klass, message, std::move(details), http_status, registry_code};
    } catch (...) {
      *err = nullptr;  // out of memory: the code alone must do
    }
    return code;
  };
  try {
    fn();
    return RUSTIMG_OK;
  } catch (const rustimg::SpecError& e) {
    std::vector<std::string> details;
    try {
      for (const auto& d : e.diagnostics()) details.push_back(d.to_string());
    } catch (...) {
    }
    return report(static_cast<int>(e.code()), rustimg::error_code_name(e.code()), e.what(), std::move(details));
  } catch (const rustimg::registry::RegistryError& e) {
    return report(static_cast<int>(e.code()), rustimg::error_code_name(e.code()), e.what(), {}, e.http_status(),
                  e.registry_code());
  } catch (const rustimg::Error& e) {
    return report(static_cast<int>(e.code()), rustimg::error_code_name(e.code()), e.what());
  } catch (const std::bad_alloc&) {
    return report(RUSTIMG_ERROR, "generic", "out of memory");
  } catch (const std::exception& e) {
    return report(RUSTIMG_ERROR, "generic", e.what());
  } catch (...) {
    return report(RUSTIMG_ERROR, "generic", "unknown internal error");
  }
}

[[noreturn]] void invalid(const std::string& message) {
  throw rustimg::Error(rustimg::ErrorCode::InvalidArgument, message);
}

/// Refuses an options struct of a version this library does not know
/// (0, or newer than it): `name` is the struct's ("rustimg_build_options").
void check_version(const std::string& name, unsigned version, unsigned max) {
  if (version == 0 || version > max) {
    std::string init = name;
    for (char& c : init) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    invalid(name + ".version " + std::to_string(version) + " is not supported by this library (max " +
            std::to_string(max) + "); initialise options with " + init + "_INIT");
  }
}

void require(const void* p, const char* what) {
  if (p == nullptr) invalid(std::string(what) + " must not be NULL");
}

/// The overrides_json option: NULL means none, anything else must be a JSON object.
nlohmann::json parse_overrides(const char* text) {
  if (text == nullptr) return nullptr;
  nlohmann::json j = rustimg::parse_json(text, "overrides_json");
  if (!j.is_object()) invalid("overrides_json is not a JSON object");
  return j;
}

const char* item(const std::vector<std::string>& v, size_t i) { return i < v.size() ? v[i].c_str() : nullptr; }

/// An optional platform argument (verify, load, pull): NULL means none.
std::optional<rustimg::Platform> optional_platform(const char* platform) {
  return platform != nullptr ? std::optional(rustimg::parse_platform(platform)) : std::nullopt;
}

void finish_report(rustimg_elf_report** out, rustimg::elf::Report report) {
  auto r = std::make_unique<rustimg_elf_report>();
  r->linkage = rustimg::elf::to_string(report.linkage);
  r->json = rustimg::elf::to_json(report).dump();
  r->report = std::move(report);
  *out = r.release();
}

/// The C++ registry options for `opts` (NULL: defaults). Explicit
/// credentials are for opts->credentials_registry, else for `call_registry`,
/// the registry the call is about; an empty `call_registry` (a build, whose
/// base only the spec names) leaves them in `*unbound`.
rustimg::registry::Options registry_options(const rustimg_registry_options* opts, const std::string& call_registry,
                                            rustimg::registry::Credentials* unbound = nullptr) {
  rustimg::registry::Options o;
  if (opts == nullptr) return o;
  check_version("rustimg_registry_options", opts->version, RUSTIMG_REGISTRY_OPTIONS_VERSION);
  for (size_t i = 0; i < opts->insecure_registries_count; ++i) {
    if (opts->insecure_registries == nullptr || opts->insecure_registries[i] == nullptr)
      invalid("insecure_registries has a NULL entry");
    o.insecure_registries.emplace_back(opts->insecure_registries[i]);
  }
  if (opts->ca_file != nullptr) o.ca_file = opts->ca_file;
  // Version 1 structs end before credentials_registry.
  const char* for_registry = opts->version >= 2 ? opts->credentials_registry : nullptr;
  if (opts->version >= 2 && opts->request_timeout_seconds != 0)
    o.request_timeout = std::chrono::seconds(opts->request_timeout_seconds);
  if (opts->version >= 2 && opts->stall_timeout_seconds != 0)
    o.stall_timeout = std::chrono::seconds(opts->stall_timeout_seconds);
  std::string host = call_registry;
  if (for_registry != nullptr) {
    if (opts->username == nullptr && opts->password == nullptr)
      invalid(std::string("credentials_registry \"") + for_registry +
              "\" names the registry of username and password, but neither is set");
    try {
      host = rustimg::registry::normalize_registry_host(for_registry);
    } catch (const rustimg::Error& e) {
      invalid(std::string("credentials_registry: ") + e.what());
    }
  }
  if (opts->username != nullptr || opts->password != nullptr) {
    rustimg::registry::Credentials c;
    if (opts->username != nullptr) c.username = opts->username;
    if (opts->password != nullptr) c.password = opts->password;
    if (!host.empty()) {
      o.credentials[host] = c;
    } else if (unbound != nullptr) {
      *unbound = c;
    }
  }
  if (opts->credentials != nullptr) {
    const rustimg_credentials_cb cb = opts->credentials;
    void* payload = opts->credentials_payload;
    o.credentials_callback = [cb, payload](const std::string& registry) -> std::optional<rustimg::registry::Credentials> {
      rustimg_credentials out;
      const int rc = cb(registry.c_str(), &out, payload);
      if (rc < 0) throw rustimg::Error(rustimg::ErrorCode::Auth, "the credentials callback refused " + registry);
      if (rc > 0) return std::nullopt;
      return out.value;
    };
  }
  o.use_config_files = opts->use_config_files != 0;
  if (opts->jobs != 0) o.jobs = opts->jobs;
  o.chunk_size = opts->chunk_size;
  const rustimg_progress_cb cb = opts->progress;
  void* payload = opts->progress_payload;
  const rustimg_cancel_token* token = opts->cancel;
  o.cancelled = [token] { return token != nullptr && token->cancelled.load(); };
  o.progress = [cb, payload, token](const rustimg::ProgressEvent& p) {
    if (token != nullptr && token->cancelled.load()) return true;
    if (cb == nullptr) return false;
    const std::string message = p.digest + " " + std::to_string(p.bytes_done) + "/" + std::to_string(p.bytes_total);
    const rustimg_progress_event event{RUSTIMG_PROGRESS_EVENT_VERSION, "transfer", message.c_str()};
    return cb(&event, payload) != 0;
  };
  return o;
}

/// The rustimg_layer_options argument (NULL: defaults) as LayerSettings.
rustimg::compose::LayerSettings layer_settings(const rustimg_layer_options* opts) {
  rustimg::compose::LayerSettings settings;
  if (opts == nullptr) return settings;
  check_version("rustimg_layer_options", opts->version, RUSTIMG_LAYER_OPTIONS_VERSION);
  if (opts->compression != nullptr)
    settings.compression = rustimg::compose::compression_named(opts->compression, "rustimg_layer_options.compression");
  settings.level = opts->level;
  if (opts->mtime >= 0) settings.mtime = opts->mtime;  // else the core's SOURCE_DATE_EPOCH rule
  return settings;
}

/// A JSON object of strings (annotations): NULL is none.
std::map<std::string, std::string> string_map(const char* text, const char* what) {
  std::map<std::string, std::string> out;
  if (text == nullptr) return out;
  const nlohmann::json j = rustimg::parse_json(text, what);
  if (!j.is_object()) invalid(std::string(what) + " is not a JSON object");
  for (const auto& [k, v] : j.items()) {
    if (!v.is_string()) invalid(std::string(what) + ": the value of \"" + k + "\" is not a string");
    out[k] = v.get<std::string>();
  }
  return out;
}

void finish_image(rustimg_image** out, rustimg::compose::Image image) {
  std::string platform = image.platform().to_string();
  *out = new rustimg_image{std::move(image), std::move(platform)};
}

/// What rustimg_image_write / rustimg_index_write hand back; `write` is
/// called with the destination and the registry options.
template <typename Write>
void write_to(rustimg_transfer_result** out, const void* value, const char* value_name, const char* destination,
              const rustimg_registry_options* opts, Write&& write) {
  require(out, "out");
  *out = nullptr;
  require(value, value_name);
  require(destination, "destination");
  const rustimg::store::ImageLocation dest = rustimg::store::parse_image_location(destination);
  const std::string host = dest.kind == rustimg::store::ImageLocation::Kind::Registry
                               ? rustimg::parse_reference(dest.reference).registry
                               : std::string();
  const rustimg::compose::WriteResult written = write(dest, registry_options(opts, host));
  const nlohmann::json doc = written.to_json(destination);
  auto r = std::make_unique<rustimg_transfer_result>();
  r->digest = doc["digest"].get<std::string>();
  r->reference = doc["reference"].get<std::string>();
  r->json = doc.dump();
  *out = r.release();
}

}  // namespace

extern "C" {

int rustimg_error_code(const rustimg_error* err) { return err != nullptr ? err->code : RUSTIMG_OK; }
const char* rustimg_error_class(const rustimg_error* err) { return err != nullptr ? err->klass.c_str() : ""; }
const char* rustimg_error_message(const rustimg_error* err) { return err != nullptr ? err->message.c_str() : ""; }
int rustimg_error_http_status(const rustimg_error* err) { return err != nullptr ? err->http_status : 0; }
const char* rustimg_error_registry_code(const rustimg_error* err) {
  return err != nullptr ? err->registry_code.c_str() : "";
}
size_t rustimg_error_detail_count(const rustimg_error* err) { return err != nullptr ? err->details.size() : 0; }
const char* rustimg_error_detail(const rustimg_error* err, size_t i) {
  return err != nullptr ? item(err->details, i) : nullptr;
}
void rustimg_error_free(rustimg_error* err) { delete err; }

const char* rustimg_version(void) { return rustimg::version_string(); }

int rustimg_verify_file(rustimg_elf_report** out, const char* path, const char* platform, rustimg_error** err) {
  return guarded(err, [&] {
    require(out, "out");
    *out = nullptr;
    require(path, "path");
    finish_report(out, rustimg::elf::verify_file(path, optional_platform(platform)));
  });
}

int rustimg_verify_buffer(rustimg_elf_report** out, const void* data, size_t len, const char* platform,
                          rustimg_error** err) {
  return guarded(err, [&] {
    require(out, "out");
    *out = nullptr;
    if (data == nullptr && len != 0) invalid("data must not be NULL when len is not 0");
    std::span<const std::byte> bytes(static_cast<const std::byte*>(data), len);
    finish_report(out, rustimg::elf::verify(bytes, optional_platform(platform)));
  });
}

int rustimg_elf_report_fit(const rustimg_elf_report* r) { return r != nullptr && r->report.fit_for_scratch() ? 1 : 0; }
const char* rustimg_elf_report_linkage(const rustimg_elf_report* r) { return r != nullptr ? r->linkage.c_str() : ""; }
const char* rustimg_elf_report_architecture(const rustimg_elf_report* r) {
  return r != nullptr ? r->report.platform.architecture.c_str() : "";
}
const char* rustimg_elf_report_variant(const rustimg_elf_report* r) {
  return r != nullptr ? r->report.platform.variant.c_str() : "";
}
int rustimg_elf_report_nss_risk(const rustimg_elf_report* r) { return r != nullptr && r->report.nss_risk ? 1 : 0; }
size_t rustimg_elf_report_problem_count(const rustimg_elf_report* r) {
  return r != nullptr ? r->report.problems.size() : 0;
}
const char* rustimg_elf_report_problem(const rustimg_elf_report* r, size_t i) {
  return r != nullptr && i < r->report.problems.size() ? r->report.problems[i].message.c_str() : nullptr;
}
const char* rustimg_elf_report_json(const rustimg_elf_report* r) { return r != nullptr ? r->json.c_str() : "{}"; }
void rustimg_elf_report_free(rustimg_elf_report* r) { delete r; }

int rustimg_spec_load_options_init(rustimg_spec_load_options* opts, unsigned version) {
  if (opts == nullptr || version == 0 || version > RUSTIMG_SPEC_LOAD_OPTIONS_VERSION) return RUSTIMG_EINVALID;
  const rustimg_spec_load_options defaults = RUSTIMG_SPEC_LOAD_OPTIONS_INIT;
  *opts = defaults;
  return RUSTIMG_OK;
}

int rustimg_spec_load(rustimg_spec** out, const rustimg_spec_load_options* opts, rustimg_error** err) {
  return guarded(err, [&] {
    require(out, "out");
    *out = nullptr;
    rustimg_spec_load_options o = RUSTIMG_SPEC_LOAD_OPTIONS_INIT;
    if (opts != nullptr) {
      check_version("rustimg_spec_load_options", opts->version, RUSTIMG_SPEC_LOAD_OPTIONS_VERSION);
      o = *opts;
    }
    rustimg::SpecLoadOptions load;
    if (o.crate_dir != nullptr) load.crate_dir = o.crate_dir;
    if (o.spec_file != nullptr) load.spec_file = o.spec_file;
    load.overrides = parse_overrides(o.overrides_json);
    load.use_cargo_metadata = o.use_cargo_metadata != 0;
    if (o.cargo != nullptr) load.cargo = o.cargo;
    auto s = std::make_unique<rustimg_spec>();
    s->spec = rustimg::pipeline::load_spec(load);
    s->json = s->spec.to_json().dump();
    *out = s.release();
  });
}

int rustimg_cancel_token_new(rustimg_cancel_token** out, rustimg_error** err) {
  return guarded(err, [&] {
    require(out, "out");
    *out = new rustimg_cancel_token();
  });
}
void rustimg_cancel_token_cancel(rustimg_cancel_token* token) {
  if (token != nullptr) token->cancelled.store(true);
}
int rustimg_cancel_token_is_cancelled(const rustimg_cancel_token* token) {
  return token != nullptr && token->cancelled.load() ? 1 : 0;
}
void rustimg_cancel_token_free(rustimg_cancel_token* token) { delete token; }

int rustimg_build_options_init(rustimg_build_options* opts, unsigned version) {
  if (opts == nullptr || version == 0 || version > RUSTIMG_BUILD_OPTIONS_VERSION) return RUSTIMG_EINVALID;
  const rustimg_build_options defaults = RUSTIMG_BUILD_OPTIONS_INIT;
  // A caller built against an older version has a shorter struct: write only its fields.
  const size_t size = version == 1   ? offsetof(rustimg_build_options, registry)
                      : version == 2 ? offsetof(rustimg_build_options, sign_key)
                                     : sizeof defaults;
  std::memcpy(opts, &defaults, size);
  opts->version = version;
  return RUSTIMG_OK;
}

int rustimg_build(rustimg_build_result** out, const rustimg_build_options* opts, rustimg_error** err) {
  return guarded(err, [&] {
    require(out, "out");
    *out = nullptr;
    require(opts, "opts");
    check_version("rustimg_build_options", opts->version, RUSTIMG_BUILD_OPTIONS_VERSION);
    if ((opts->crate_dir == nullptr) == (opts->binary == nullptr))
      invalid("give exactly one of crate_dir (build with cargo) and binary (a prebuilt binary)");
    require(opts->output, "output");

    rustimg::pipeline::BuildAndPushOptions request;
    // Version 3 fields; older structs end before them. The key first: a
    // missing file or a wrong passphrase fails before cargo runs.
    const char* sign_key = opts->version >= 3 ? opts->sign_key : nullptr;
    const char* sign_key_password_env = opts->version >= 3 ? opts->sign_key_password_env : nullptr;
    const char* base_key = opts->version >= 3 ? opts->base_key : nullptr;
    if (sign_key != nullptr)
      request.sign_key = std::make_shared<const rustimg::attest::SigningKey>(rustimg::pipeline::read_signing_key(
          sign_key, sign_key_password_env != nullptr ? sign_key_password_env : ""));

    rustimg::SpecLoadOptions load;
    if (opts->crate_dir != nullptr) load.crate_dir = opts->crate_dir;
    if (opts->spec_file != nullptr) load.spec_file = opts->spec_file;
    load.overrides = parse_overrides(opts->overrides_json);
    load.overrides_source = "overrides";

    rustimg::pipeline::BuildOptions image;
    image.output = rustimg::store::parse_image_location(opts->output);
    if (opts->source_date_epoch >= 0) image.created = opts->source_date_epoch;  // else the core's default
    image.format = opts->docker_media_types != 0 ? rustimg::oci::Format::Docker : rustimg::oci::Format::Oci;
    image.allow_dynamic = opts->allow_dynamic != 0;
    if (base_key != nullptr) image.base_key = base_key;
    // Credentials given without a registry are for a docker:// output's
    // registry; for a build into a file, for the base's (which only the
    // spec names).
    if (opts->version >= 2) {
      const bool to_registry = image.output.kind == rustimg::store::ImageLocation::Kind::Registry;
      image.registry = registry_options(
          opts->registry, to_registry ? rustimg::parse_reference(image.output.reference).registry : std::string(),
          &image.base_credentials);
    }
    const rustimg_cancel_token* token = opts->cancel;
    const rustimg_progress_cb cb = opts->progress;
    void* payload = opts->progress_payload;
    image.progress = [token, cb, payload](const rustimg::ProgressEvent& e) {
      if (cb != nullptr) {
        const rustimg_progress_event event{RUSTIMG_PROGRESS_EVENT_VERSION, e.stage.c_str(), e.message.c_str()};
        if (cb(&event, payload) != 0) return true;
      }
      return token != nullptr && token->cancelled.load();
    };

    request.spec = std::move(load);
    request.image = std::move(image);
    if (opts->binary != nullptr)
      request.binaries.push_back(
          {opts->platform != nullptr ? rustimg::parse_platform(opts->platform) : rustimg::Platform{}, opts->binary});
    request.cancelled = [token] { return token != nullptr && token->cancelled.load(); };
    const rustimg::pipeline::BuildAndPushResult result = rustimg::pipeline::build_and_push(std::move(request));
    auto r = std::make_unique<rustimg_build_result>();
    r->digest = result.build.descriptor.digest;
    r->json = rustimg::pipeline::to_json(result).dump();
    *out = r.release();
  });
}

const char* rustimg_build_result_digest(const rustimg_build_result* r) { return r != nullptr ? r->digest.c_str() : ""; }
const char* rustimg_build_result_json(const rustimg_build_result* r) { return r != nullptr ? r->json.c_str() : "{}"; }
void rustimg_build_result_free(rustimg_build_result* r) { delete r; }

void rustimg_credentials_set(rustimg_credentials* creds, const char* username, const char* password) {
  if (creds == nullptr) return;
  creds->value.username = username != nullptr ? username : "";
  creds->value.password = password != nullptr ? password : "";
}

int rustimg_registry_options_init(rustimg_registry_options* opts, unsigned version) {
  if (opts == nullptr || version == 0 || version > RUSTIMG_REGISTRY_OPTIONS_VERSION) return RUSTIMG_EINVALID;
  const rustimg_registry_options defaults = RUSTIMG_REGISTRY_OPTIONS_INIT;
  // A caller built against version 1 has a shorter struct: write only its fields.
  std::memcpy(opts, &defaults,
              version == 1 ? offsetof(rustimg_registry_options, credentials_registry) : sizeof defaults);
  opts->version = version;
  return RUSTIMG_OK;
}

int rustimg_push(rustimg_transfer_result** out, const char* source, const char* target,
                 const rustimg_registry_options* opts, rustimg_error** err) {
  return guarded(err, [&] {
    require(out, "out");
    *out = nullptr;
    require(source, "source");
    require(target, "target");
    const std::string host = rustimg::parse_reference(target).registry;
    const auto pushed =
        rustimg::transfer::push(rustimg::store::parse_image_location(source), {target}, registry_options(opts, host)).front();
    auto r = std::make_unique<rustimg_transfer_result>();
    r->reference = pushed.reference;
    r->digest = pushed.result.digest;
    r->json = rustimg::transfer::to_json(pushed).dump();
    *out = r.release();
  });
}

int rustimg_pull(rustimg_transfer_result** out, const char* reference, const char* output, const char* platform,
                 const rustimg_registry_options* opts, rustimg_error** err) {
  return guarded(err, [&] {
    require(out, "out");
    *out = nullptr;
    require(reference, "reference");
    require(output, "output");
    std::optional<rustimg::Platform> p;
    if (platform != nullptr) p = rustimg::parse_platform(platform);
    auto r = std::make_unique<rustimg_transfer_result>();
    r->reference = reference;
    const std::string host = rustimg::parse_reference(reference).registry;
    r->digest = rustimg::transfer::pull(reference, rustimg::store::parse_image_location(output), registry_options(opts, host), p);
    r->json = nlohmann::json{{"reference", r->reference}, {"digest", r->digest}}.dump();
    *out = r.release();
  });
}

const char* rustimg_transfer_result_reference(const rustimg_transfer_result* r) {
  return r != nullptr ? r->reference.c_str() : "";
}
const char* rustimg_transfer_result_digest(const rustimg_transfer_result* r) { return r != nullptr ? r->digest.c_str() : ""; }
const char* rustimg_transfer_result_json(const rustimg_transfer_result* r) { return r != nullptr ? r->json.c_str() : "{}"; }
void rustimg_transfer_result_free(rustimg_transfer_result* r) { delete r; }

int rustimg_sign(rustimg_signatures** out, const char* reference, const char* key_file, const char* key_password_env,
                 const rustimg_registry_options* opts, rustimg_error** err) {
  return guarded(err, [&] {
    require(out, "out");
    *out = nullptr;
    require(reference, "reference");
    require(key_file, "key_file");
    if (rustimg::pipeline::is_layout_reference(reference))
      throw rustimg::Error(rustimg::ErrorCode::InvalidArgument,
                           std::string(reference) +
                               ": rustimg_sign signs images in a registry; an image in an OCI layout needs the "
                               "repository its signature will name, which this function cannot take: use "
                               "rustimg_sign_image with rustimg_sign_options.identity");
    const rustimg::attest::SigningKey key =
        rustimg::pipeline::read_signing_key(key_file, key_password_env != nullptr ? key_password_env : "");
    const std::string host = rustimg::pipeline::image_registry(reference);
    auto r = std::make_unique<rustimg_signatures>();
    r->json = rustimg::pipeline::to_json(rustimg::pipeline::sign_image(reference, key, registry_options(opts, host))).dump();
    *out = r.release();
  });
}

int rustimg_sign_options_init(rustimg_sign_options* opts, unsigned version) {
  if (opts == nullptr || version == 0 || version > RUSTIMG_SIGN_OPTIONS_VERSION) return RUSTIMG_EINVALID;
  *opts = RUSTIMG_SIGN_OPTIONS_INIT;
  opts->version = version;
  return RUSTIMG_OK;
}

int rustimg_sign_image(rustimg_signatures** out, const char* reference, const rustimg_sign_options* opts,
                       rustimg_error** err) {
  return guarded(err, [&] {
    require(out, "out");
    *out = nullptr;
    require(reference, "reference");
    require(opts, "opts");
    check_version("rustimg_sign_options", opts->version, RUSTIMG_SIGN_OPTIONS_VERSION);
    require(opts->key_file, "key_file");
    const rustimg::attest::SigningKey key = rustimg::pipeline::read_signing_key(
        opts->key_file, opts->key_password_env != nullptr ? opts->key_password_env : "");
    const std::string host = rustimg::pipeline::image_registry(reference);
    auto r = std::make_unique<rustimg_signatures>();
    r->json = rustimg::pipeline::to_json(rustimg::pipeline::sign(reference, key, registry_options(opts->registry, host),
                                                                 opts->identity != nullptr ? opts->identity : "",
                                                                 opts->attest != 0))
                  .dump();
    *out = r.release();
  });
}

int rustimg_verify_image(rustimg_signatures** out, const char* reference, const char* public_key_file,
                         const char* attestation_type, const rustimg_registry_options* opts, rustimg_error** err) {
  return guarded(err, [&] {
    require(out, "out");
    *out = nullptr;
    require(reference, "reference");
    require(public_key_file, "public_key_file");
    const rustimg::attest::VerifyingKey key = rustimg::pipeline::read_verifying_key(public_key_file);
    const std::string host = rustimg::pipeline::image_registry(reference);
    const rustimg::registry::Options options = registry_options(opts, host);
    auto r = std::make_unique<rustimg_signatures>();
    r->json = attestation_type != nullptr
                  ? nlohmann::json(rustimg::pipeline::verify_attestations(reference, key, attestation_type, options)).dump()
                  : rustimg::pipeline::to_json(rustimg::pipeline::verify_image(reference, key, options)).dump();
    *out = r.release();
  });
}

const char* rustimg_signatures_json(const rustimg_signatures* s) { return s != nullptr ? s->json.c_str() : "[]"; }
void rustimg_signatures_free(rustimg_signatures* s) { delete s; }

const char* rustimg_spec_json(const rustimg_spec* spec) { return spec != nullptr ? spec->json.c_str() : "{}"; }
void rustimg_spec_free(rustimg_spec* spec) { delete spec; }

int rustimg_layer_builder_new(rustimg_layer_builder** out, rustimg_error** err) {
  return guarded(err, [&] {
    require(out, "out");
    *out = new rustimg_layer_builder();
  });
}

int rustimg_layer_builder_add_file(rustimg_layer_builder* b, const char* image_path, const char* host_path,
                                   int mode, unsigned uid, unsigned gid, rustimg_error** err) {
  return guarded(err, [&] {
    require(b, "b");
    require(image_path, "image_path");
    require(host_path, "host_path");
    // The core checks the permission bits; only the C sentinel is ours.
    if (mode < 0 && mode != RUSTIMG_MODE_FROM_HOST)
      invalid("mode " + std::to_string(mode) + " for " + image_path +
              " is neither permission bits (0 to 07777, e.g. 0644) nor RUSTIMG_MODE_FROM_HOST");
    const std::optional<std::uint32_t> bits =
        mode == RUSTIMG_MODE_FROM_HOST ? std::nullopt : std::optional(static_cast<std::uint32_t>(mode));
    b->builder.add_file(image_path, host_path, bits, uid, gid);
  });
}

int rustimg_layer_builder_add_directory(rustimg_layer_builder* b, const char* image_path, unsigned mode,
                                        unsigned uid, unsigned gid, rustimg_error** err) {
  return guarded(err, [&] {
    require(b, "b");
    require(image_path, "image_path");
    b->builder.add_directory(image_path, mode, uid, gid);
  });
}

int rustimg_layer_builder_add_tree(rustimg_layer_builder* b, const char* image_path, const char* host_dir,
                                   unsigned uid, unsigned gid, rustimg_error** err) {
  return guarded(err, [&] {
    require(b, "b");
    require(image_path, "image_path");
    require(host_dir, "host_dir");
    b->builder.add_tree(image_path, host_dir, uid, gid);
  });
}

int rustimg_layer_builder_add_symlink(rustimg_layer_builder* b, const char* image_path, const char* target,
                                      unsigned uid, unsigned gid, rustimg_error** err) {
  return guarded(err, [&] {
    require(b, "b");
    require(image_path, "image_path");
    require(target, "target");
    b->builder.add_symlink(image_path, target, uid, gid);
  });
}

int rustimg_layer_builder_add_bytes(rustimg_layer_builder* b, const char* image_path, const void* data, size_t len,
                                    unsigned mode, unsigned uid, unsigned gid, rustimg_error** err) {
  return guarded(err, [&] {
    require(b, "b");
    require(image_path, "image_path");
    if (data == nullptr && len != 0) invalid("data must not be NULL when len is not 0");
    std::string bytes(len, '\0');
    if (len != 0) std::memcpy(bytes.data(), data, len);
    b->builder.add_bytes(image_path, std::move(bytes), mode, uid, gid);
  });
}

void rustimg_layer_builder_free(rustimg_layer_builder* b) { delete b; }

int rustimg_layer_options_init(rustimg_layer_options* opts, unsigned version) {
  if (opts == nullptr || version == 0 || version > RUSTIMG_LAYER_OPTIONS_VERSION) return RUSTIMG_EINVALID;
  const rustimg_layer_options defaults = RUSTIMG_LAYER_OPTIONS_INIT;
  *opts = defaults;
  return RUSTIMG_OK;
}

int rustimg_layer_builder_build(rustimg_layer** out, const rustimg_layer_builder* b, const rustimg_layer_options* opts,
                                rustimg_error** err) {
  return guarded(err, [&] {
    require(out, "out");
    *out = nullptr;
    require(b, "b");
    *out = new rustimg_layer{b->builder.build(layer_settings(opts))};
  });
}

int rustimg_layer_from_tar(rustimg_layer** out, const char* tar_path, const rustimg_layer_options* opts,
                           rustimg_error** err) {
  return guarded(err, [&] {
    require(out, "out");
    *out = nullptr;
    require(tar_path, "tar_path");
    *out = new rustimg_layer{rustimg::compose::Layer::from_tar(tar_path, layer_settings(opts))};
  });
}

const char* rustimg_layer_digest(const rustimg_layer* l) { return l != nullptr ? l->layer.digest().c_str() : ""; }
const char* rustimg_layer_diff_id(const rustimg_layer* l) { return l != nullptr ? l->layer.diff_id().c_str() : ""; }
const char* rustimg_layer_media_type(const rustimg_layer* l) {
  return l != nullptr ? l->layer.media_type().c_str() : "";
}
unsigned long long rustimg_layer_size(const rustimg_layer* l) {
  return l != nullptr ? static_cast<unsigned long long>(l->layer.size()) : 0;
}
void rustimg_layer_free(rustimg_layer* l) { delete l; }

int rustimg_image_scratch(rustimg_image** out, const char* platform, rustimg_error** err) {
  return guarded(err, [&] {
    require(out, "out");
    *out = nullptr;
    require(platform, "platform");
    finish_image(out, rustimg::compose::Image::scratch(rustimg::parse_platform(platform)));
  });
}

int rustimg_image_builtin(rustimg_image** out, const char* base, const char* platform, rustimg_error** err) {
  return guarded(err, [&] {
    require(out, "out");
    *out = nullptr;
    require(base, "base");
    require(platform, "platform");
    finish_image(out, rustimg::compose::Image::builtin(base, rustimg::parse_platform(platform)));
  });
}

int rustimg_image_load(rustimg_image** out, const char* location, const char* platform, rustimg_error** err) {
  return guarded(err, [&] {
    require(out, "out");
    *out = nullptr;
    require(location, "location");
    finish_image(out, rustimg::compose::Image::load(std::string_view(location), optional_platform(platform)));
  });
}

int rustimg_image_pull(rustimg_image** out, const char* reference, const char* platform,
                       const rustimg_registry_options* opts, rustimg_error** err) {
  return guarded(err, [&] {
    require(out, "out");
    *out = nullptr;
    require(reference, "reference");
    const std::string host = rustimg::parse_reference(reference).registry;
    // NULL: any single-platform image, or the index's default platform.
    finish_image(out, rustimg::compose::Image::pull(reference, optional_platform(platform),
                                                    registry_options(opts, host)));
  });
}

int rustimg_image_append(rustimg_image** out, const rustimg_image* img, const rustimg_layer* layer,
                         const char* created_by, rustimg_error** err) {
  return guarded(err, [&] {
    require(out, "out");
    *out = nullptr;
    require(img, "img");
    require(layer, "layer");
    finish_image(out, img->image.append(layer->layer, created_by != nullptr ? created_by : ""));
  });
}

int rustimg_image_with_config(rustimg_image** out, const rustimg_image* img, const char* changes_json,
                              rustimg_error** err) {
  return guarded(err, [&] {
    require(out, "out");
    *out = nullptr;
    require(img, "img");
    require(changes_json, "changes_json");
    const nlohmann::json changes = rustimg::parse_json(changes_json, "config changes");
    finish_image(out, img->image.with_config(rustimg::compose::parse_config_changes(changes, "config changes")));
  });
}

int rustimg_image_with_annotations(rustimg_image** out, const rustimg_image* img, const char* annotations_json,
                                   rustimg_error** err) {
  return guarded(err, [&] {
    require(out, "out");
    *out = nullptr;
    require(img, "img");
    require(annotations_json, "annotations_json");
    finish_image(out, img->image.with_annotations(string_map(annotations_json, "annotations_json")));
  });
}

int rustimg_image_with_created(rustimg_image** out, const rustimg_image* img, long long seconds, rustimg_error** err) {
  return guarded(err, [&] {
    require(out, "out");
    *out = nullptr;
    require(img, "img");
    finish_image(out, img->image.with_created(seconds));
  });
}

const char* rustimg_image_digest(const rustimg_image* img) { return img != nullptr ? img->image.digest().c_str() : ""; }
const char* rustimg_image_config_json(const rustimg_image* img) {
  return img != nullptr ? img->image.config().bytes.c_str() : "{}";
}
const char* rustimg_image_manifest_json(const rustimg_image* img) {
  return img != nullptr ? img->image.manifest().bytes.c_str() : "{}";
}
const char* rustimg_image_platform(const rustimg_image* img) { return img != nullptr ? img->platform.c_str() : ""; }
size_t rustimg_image_layer_count(const rustimg_image* img) { return img != nullptr ? img->image.layers().size() : 0; }
const char* rustimg_image_layer_digest(const rustimg_image* img, size_t i) {
  return img != nullptr && i < img->image.layers().size() ? img->image.layers()[i].digest.c_str() : nullptr;
}

int rustimg_image_write(rustimg_transfer_result** out, const rustimg_image* img, const char* destination,
                        const rustimg_registry_options* opts, rustimg_error** err) {
  return guarded(err, [&] {
    write_to(out, img, "img", destination, opts, [&](const auto& dest, const auto& options) { return img->image.write(dest, options); });
  });
}

void rustimg_image_free(rustimg_image* img) { delete img; }

int rustimg_index_new(rustimg_index** out, const rustimg_image* const* images, size_t n, const char* annotations_json,
                      rustimg_error** err) {
  return guarded(err, [&] {
    require(out, "out");
    *out = nullptr;
    if (images == nullptr && n != 0) invalid("images must not be NULL when n is not 0");
    std::vector<rustimg::compose::Image> list;
    for (size_t i = 0; i < n; ++i) {
      if (images[i] == nullptr) invalid("images[" + std::to_string(i) + "] is NULL");
      list.push_back(images[i]->image);
    }
    *out = new rustimg_index{
        rustimg::compose::Index(std::move(list), string_map(annotations_json, "annotations_json"))};
  });
}

const char* rustimg_index_digest(const rustimg_index* idx) { return idx != nullptr ? idx->index.digest().c_str() : ""; }
const char* rustimg_index_json(const rustimg_index* idx) {
  return idx != nullptr ? idx->index.index().bytes.c_str() : "{}";
}

int rustimg_index_write(rustimg_transfer_result** out, const rustimg_index* idx, const char* destination,
                        const rustimg_registry_options* opts, rustimg_error** err) {
  return guarded(err, [&] {
    write_to(out, idx, "idx", destination, opts, [&](const auto& dest, const auto& options) { return idx->index.write(dest, options); });
  });
}

void rustimg_index_free(rustimg_index* idx) { delete idx; }

}  // extern "C"
