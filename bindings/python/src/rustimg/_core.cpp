// rustimg._core: the pybind11 module over the C++ API. Arguments are
// converted while holding the GIL, long work runs with the GIL released, and
// every rustimg::Error becomes the matching class of rustimg._errors.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rustimg/pipeline.hpp"
#include "rustimg/compose.hpp"
#include "rustimg/cargo.hpp"
#include "rustimg/elf.hpp"
#include "rustimg/error.hpp"
#include "rustimg/json.hpp"
#include "rustimg/option_names.hpp"
#include "rustimg/transfer.hpp"
#include "rustimg/registry.hpp"
#include "rustimg/signing.hpp"
#include "rustimg/spec.hpp"
#include "rustimg/version.hpp"

namespace py = pybind11;

namespace {

/// Raises the rustimg._errors class for `e` with its extra attributes.
void raise_python_error(const rustimg::Error& e) {
  if (const auto* reg = dynamic_cast<const rustimg::registry::RegistryError*>(&e)) {
    py::module_ errors = py::module_::import("rustimg._errors");
    py::object cls = errors.attr("_class_for")(rustimg::error_code_name(e.code()));
    py::object exc = cls(e.what(), reg->http_status(), reg->registry_code());
    PyErr_SetObject(cls.ptr(), exc.ptr());
    return;
  }
  py::module_ errors = py::module_::import("rustimg._errors");
  py::object cls = errors.attr("_class_for")(rustimg::error_code_name(e.code()));
  py::object exc;
  if (const auto* spec = dynamic_cast<const rustimg::SpecError*>(&e)) {
    py::list diags;
    for (const auto& d : spec->diagnostics()) diags.append(d.to_string());
    exc = cls(e.what(), diags);
  } else if (const auto* cargo = dynamic_cast<const rustimg::cargo::CargoError*>(&e)) {
    exc = cls(e.what(), cargo->exit_code(), cargo->diagnostics(), cargo->stderr_tail());
  } else {
    exc = cls(e.what());
  }
  PyErr_SetObject(cls.ptr(), exc.ptr());
}

/// How the core's messages name this module's keyword arguments (never the
/// CLI's flags).
rustimg::OptionNames python_option_names() {
  rustimg::OptionNames n;
  n.platform = "platform=";
  n.allow_dynamic = "allow_dynamic=True";
  n.base = "base=";
  n.bin = "bin=";
  n.package = "package=";
  n.unlocked = "overrides={\"locked\": False}";
  n.insecure_registry = "insecure_registries=";
  return n;
}

py::object json_to_python(const nlohmann::json& j) {
  return py::module_::import("json").attr("loads")(j.dump());
}

/// `o` as JSON (through Python's json module); `what` names it in a parse
/// error.
nlohmann::json python_to_json(const py::object& o, const std::string& what = "overrides") {
  if (o.is_none()) return nullptr;
  const std::string text = py::module_::import("json").attr("dumps")(o).cast<std::string>();
  return rustimg::parse_json(text, what);
}

rustimg::elf::Report verify(const std::filesystem::path& path, const std::optional<std::string>& platform) {
  const std::optional<rustimg::Platform> wanted =
      platform ? std::optional(rustimg::parse_platform(*platform)) : std::nullopt;
  py::gil_scoped_release release;
  return rustimg::elf::verify_file(path, wanted);
}

py::object load_spec(const std::optional<std::filesystem::path>& crate, const std::optional<std::filesystem::path>& spec_file,
                     const py::object& overrides, bool use_cargo_metadata, const std::string& cargo) {
  rustimg::SpecLoadOptions opts;
  if (crate) opts.crate_dir = *crate;
  if (spec_file) opts.spec_file = *spec_file;
  opts.overrides = python_to_json(overrides);
  opts.overrides_source = "arguments";
  opts.option_names = python_option_names();
  opts.use_cargo_metadata = use_cargo_metadata;
  opts.cargo = cargo;
  nlohmann::json resolved;
  {
    py::gil_scoped_release release;
    resolved = rustimg::pipeline::load_spec(opts).to_json();
  }
  return json_to_python(resolved);
}

/// Runs Python callbacks for a build, push or pull: progress events and
/// Ctrl-C checks, each under the GIL. The first Python exception (from the
/// callback, or a KeyboardInterrupt) cancels the call and is re-raised
/// unchanged after it.
class PythonHooks {
 public:
  explicit PythonHooks(py::object progress) : progress_(std::move(progress)) {}

  /// True (cancel) once a Python exception is pending.
  bool on_event(const rustimg::ProgressEvent& e) {
    py::gil_scoped_acquire gil;
    if (failed()) return true;
    try {
      if (!progress_.is_none()) progress_(e.stage, e.message);
      if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    } catch (py::error_already_set& err) {
      error_ = std::make_unique<py::error_already_set>(std::move(err));
    }
    return failed();
  }

  bool cancelled() {
    py::gil_scoped_acquire gil;
    if (!failed() && PyErr_CheckSignals() != 0) error_ = std::make_unique<py::error_already_set>();
    return failed();
  }

  bool failed() const { return error_ != nullptr; }
  /// Re-raises the stored Python exception (with the GIL held).
  [[noreturn]] void rethrow() { throw std::move(*error_); }

 private:
  py::object progress_;
  std::unique_ptr<py::error_already_set> error_;
};

/// How to reach registries, with the explicit credentials and the registry
/// host they are for (empty: the registry the call is about).
struct RegistryConfig {
  rustimg::registry::Options options;
  rustimg::registry::Credentials credentials;
  std::string credentials_registry;  ///< normalised

  /// The options for a call about `call_registry`; the credentials go to
  /// credentials_registry, else to `call_registry`, else (a build, whose base
  /// only the spec names) to `*unbound`.
  rustimg::registry::Options for_call(const std::string& call_registry,
                                      rustimg::registry::Credentials* unbound = nullptr) const {
    rustimg::registry::Options o = options;
    if (credentials.empty()) return o;
    const std::string& host = credentials_registry.empty() ? call_registry : credentials_registry;
    if (!host.empty()) {
      o.credentials[host] = credentials;
    } else if (unbound != nullptr) {
      *unbound = credentials;
    }
    return o;
  }
};

py::object build(const std::optional<std::filesystem::path>& crate, const std::optional<std::filesystem::path>& binary,
                 const std::optional<std::string>& platform, const std::optional<std::filesystem::path>& spec_file,
                 const py::object& overrides, const std::string& output, bool allow_dynamic,
                 std::optional<std::int64_t> source_date_epoch, const py::object& progress,
                 const RegistryConfig& registry, const std::vector<std::string>& push,
                 const std::optional<std::filesystem::path>& sign_key, const std::string& key_password_env,
                 const std::optional<std::filesystem::path>& base_key) {
  if (crate.has_value() == binary.has_value())
    throw rustimg::Error(rustimg::ErrorCode::InvalidArgument, "give exactly one of crate= and binary=");
  rustimg::pipeline::BuildAndPushOptions req;
  // The key first: a wrong passphrase fails before cargo runs.
  if (sign_key)
    req.sign_key = std::make_shared<const rustimg::attest::SigningKey>(
        rustimg::pipeline::read_signing_key(*sign_key, key_password_env));
  if (crate) req.spec.crate_dir = *crate;
  if (spec_file) req.spec.spec_file = *spec_file;
  req.spec.overrides = python_to_json(overrides);
  req.spec.overrides_source = "arguments";
  req.spec.option_names = python_option_names();
  if (binary)
    req.binaries.push_back({platform ? rustimg::parse_platform(*platform) : rustimg::Platform{}, *binary});
  req.push = push;

  rustimg::pipeline::BuildOptions& image = req.image;
  image.output = rustimg::store::parse_image_location(output);
  image.created = source_date_epoch;  // nullopt: the core's default
  image.allow_dynamic = allow_dynamic;
  if (base_key) image.base_key = *base_key;
  image.option_names = req.spec.option_names;
  // For an image base and the push= targets.
  image.registry = registry.for_call("", &image.base_credentials);
  auto hooks = std::make_shared<PythonHooks>(progress);
  image.registry.cancelled = [hooks] { return hooks->cancelled(); };  // Ctrl-C, also mid-download
  image.progress = [hooks](const rustimg::ProgressEvent& e) { return hooks->on_event(e); };
  req.cancelled = [hooks] { return hooks->cancelled(); };

  rustimg::pipeline::BuildAndPushResult result;
  try {
    py::gil_scoped_release release;
    result = rustimg::pipeline::build_and_push(std::move(req));
  } catch (const rustimg::Error& e) {
    if (e.code() == rustimg::ErrorCode::Cancelled && hooks->failed()) hooks->rethrow();
    throw;
  }
  py::dict out = json_to_python(rustimg::pipeline::to_json(result));
  out["reports"] = py::cast(result.build.reports);  // the Report objects verify() returns
  return out;
}

RegistryConfig registry_options(const std::vector<std::string>& insecure, const std::string& ca_file,
                                const std::optional<std::string>& username, const std::optional<std::string>& password,
                                const std::optional<std::string>& credentials_registry, bool use_config_files,
                                std::optional<double> request_timeout, std::optional<double> stall_timeout) {
  RegistryConfig c;
  auto seconds = [](const char* name, double s) {
    if (!(s >= 1 && s <= 86400))
      throw rustimg::Error(rustimg::ErrorCode::InvalidArgument,
                           std::string(name) + "= takes seconds, from 1 to 86400");
    return std::chrono::seconds(static_cast<long long>(std::ceil(s)));
  };
  if (request_timeout) c.options.request_timeout = seconds("request_timeout", *request_timeout);
  if (stall_timeout) c.options.stall_timeout = seconds("stall_timeout", *stall_timeout);
  c.options.insecure_registries = insecure;
  c.options.option_names = python_option_names();
  c.options.ca_file = ca_file;
  c.options.use_config_files = use_config_files;
  if (username || password) c.credentials = rustimg::registry::Credentials{username.value_or(""), password.value_or(""), "", ""};
  if (credentials_registry) {
    if (!username && !password)
      throw rustimg::Error(rustimg::ErrorCode::InvalidArgument,
                           "credentials_registry=\"" + *credentials_registry +
                               "\" names the registry of username= and password=, but neither is given");
    try {
      c.credentials_registry = rustimg::registry::normalize_registry_host(*credentials_registry);
    } catch (const rustimg::Error& e) {
      throw rustimg::Error(rustimg::ErrorCode::InvalidArgument, std::string("credentials_registry=: ") + e.what());
    }
  }
  return c;
}

/// Runs `call(options)` with the GIL released and `progress` and Ctrl-C
/// wired into `options` (also mid-transfer); a Python exception they raise
/// cancels the call and is re-raised unchanged.
template <class Call>
auto with_hooks(rustimg::registry::Options options, const py::object& progress, Call&& call) {
  PythonHooks hooks{progress};
  options.cancelled = [&hooks] { return hooks.cancelled(); };
  options.progress = [&hooks](const rustimg::ProgressEvent& e) { return hooks.on_event(e); };
  try {
    py::gil_scoped_release release;
    return call(static_cast<const rustimg::registry::Options&>(options));
  } catch (const rustimg::Error& e) {
    if (e.code() == rustimg::ErrorCode::Cancelled && hooks.failed()) hooks.rethrow();
    throw;
  }
}

constexpr const char* kNameTheRegistry = "credentials_registry=HOST";

py::object push(const std::string& source, const std::vector<std::string>& targets, const RegistryConfig& c,
                const py::object& progress) {
  // Credentials without a registry are for the push targets' one.
  const std::string call_registry = c.credentials.empty() || !c.credentials_registry.empty()
                                        ? std::string()
                                        : rustimg::transfer::push_registry(targets, kNameTheRegistry);
  const auto pushed = with_hooks(c.for_call(call_registry), progress, [&](const rustimg::registry::Options& o) {
    return rustimg::transfer::push(rustimg::store::parse_image_location(source), targets, o);
  });
  nlohmann::json out = nlohmann::json::array();
  for (const auto& p : pushed) out.push_back(rustimg::transfer::to_json(p));
  return json_to_python(out);
}

std::string pull(const std::string& reference, const std::string& output, const std::optional<std::string>& platform,
                 const RegistryConfig& c, const py::object& progress) {
  std::optional<rustimg::Platform> p;
  if (platform) p = rustimg::parse_platform(*platform);
  return with_hooks(c.for_call(rustimg::parse_reference(reference).registry), progress,
                    [&](const rustimg::registry::Options& o) {
                      return rustimg::transfer::pull(reference, rustimg::store::parse_image_location(output), o, p);
                    });
}

py::object sign(const std::string& reference, const std::string& key_file, const std::string& key_password_env,
                const std::string& identity, bool attest, const RegistryConfig& c) {
  const rustimg::attest::SigningKey key = rustimg::pipeline::read_signing_key(key_file, key_password_env);
  const auto outcome = with_hooks(c.for_call(rustimg::pipeline::image_registry(reference)), py::none(),
                                  [&](const rustimg::registry::Options& o) {
                                    return rustimg::pipeline::sign(reference, key, o, identity, attest);
                                  });
  return json_to_python(rustimg::pipeline::to_json(outcome));
}

/// Signatures (no `attestation`) or the in-toto statements of that type.
py::object verify_image(const std::string& reference, const std::string& public_key_file,
                        const std::optional<std::string>& attestation, const RegistryConfig& c) {
  const rustimg::attest::VerifyingKey key = rustimg::pipeline::read_verifying_key(public_key_file);
  return json_to_python(with_hooks(c.for_call(rustimg::pipeline::image_registry(reference)), py::none(),
                    [&](const rustimg::registry::Options& o) {
                      return attestation ? nlohmann::json(rustimg::pipeline::verify_attestations(reference, key,
                                                                                                 *attestation, o))
                                         : rustimg::pipeline::to_json(rustimg::pipeline::verify_image(reference, key, o));
                    }));
}

// --- composition (rustimg.Layer, LayerBuilder, Image, Index wrap these) -----

namespace compose = rustimg::compose;

compose::LayerSettings layer_settings(const std::string& compression, int level, std::optional<std::int64_t> mtime) {
  compose::LayerSettings s;
  s.compression = compose::compression_named(compression, "compression=");
  s.level = level;
  s.mtime = mtime;
  return s;
}


/// The registry options for writing to `dest` (credentials for its registry).
rustimg::registry::Options options_for(const rustimg::store::ImageLocation& dest, const RegistryConfig& c) {
  return c.for_call(dest.kind == rustimg::store::ImageLocation::Kind::Registry
                        ? rustimg::parse_reference(dest.reference).registry
                        : std::string());
}

/// What write() did, as a dict with transfer::to_json's keys
/// (compose::WriteResult::to_json: the push's, else the destination as given).
template <class Value>
py::object write_value(const Value& value, const std::string& destination, const RegistryConfig& c,
                       const py::object& progress) {
  const rustimg::store::ImageLocation dest = rustimg::store::parse_image_location(destination);
  return json_to_python(with_hooks(options_for(dest, c), progress, [&](const rustimg::registry::Options& o) {
                          return value.write(dest, o);
                        }).to_json(destination));
}

compose::Image pull_image(const std::string& reference, const std::string& platform, const RegistryConfig& c,
                          const py::object& progress) {
  const rustimg::Platform p = rustimg::parse_platform(platform);
  return with_hooks(c.for_call(rustimg::parse_reference(reference).registry), progress,
                    [&](const rustimg::registry::Options& o) { return compose::Image::pull(reference, p, o); });
}

/// Image.with_config(changes): `changes` is the spec-keyed document
/// compose::parse_config_changes reads (the one place config changes are
/// checked, as for the C API). Its SpecError becomes InvalidArgument, each
/// problem named by its JSON path ("with_config(): $.ports[0]: ...").
compose::Image with_config(const compose::Image& img, const py::dict& changes) {
  const nlohmann::json doc = python_to_json(changes, "with_config()");
  try {
    return img.with_config(compose::parse_config_changes(doc, "with_config()"));
  } catch (const rustimg::SpecError& e) {
    throw rustimg::Error(rustimg::ErrorCode::InvalidArgument, e.what());
  }
}

py::object descriptors(const std::vector<rustimg::oci::Descriptor>& ds) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& d : ds) out.push_back(d.to_json());
  return json_to_python(out);
}

void bind_compose(py::module_& m) {
  py::class_<compose::Layer>(m, "Layer", "A compose::Layer (use rustimg.Layer).")
      .def_static(
          "from_tar",
          [](const std::filesystem::path& tar, const std::string& compression, int level) {
            const compose::LayerSettings s = layer_settings(compression, level, std::nullopt);
            py::gil_scoped_release release;
            return compose::Layer::from_tar(tar, s);
          },
          py::arg("tar"), py::arg("compression"), py::arg("level"))
      .def_property_readonly("digest", &compose::Layer::digest)
      .def_property_readonly("diff_id", &compose::Layer::diff_id)
      .def_property_readonly("size", &compose::Layer::size)
      .def_property_readonly("media_type", &compose::Layer::media_type)
      .def_property_readonly("uncompressed_size", &compose::Layer::uncompressed_size);

  py::class_<compose::LayerBuilder>(m, "LayerBuilder", "A compose::LayerBuilder (use rustimg.LayerBuilder).")
      .def(py::init<>())
      // The builder itself is returned (not a copy), as C++'s add_* return *this.
      .def("add_file", &compose::LayerBuilder::add_file, py::return_value_policy::reference_internal,
           py::arg("path"), py::arg("host"), py::arg("mode"), py::arg("uid"), py::arg("gid"))
      .def("add_directory", &compose::LayerBuilder::add_directory, py::return_value_policy::reference_internal,
           py::arg("path"), py::arg("mode"), py::arg("uid"), py::arg("gid"))
      .def("add_tree", &compose::LayerBuilder::add_tree, py::return_value_policy::reference_internal,
           py::arg("path"), py::arg("host"), py::arg("uid"), py::arg("gid"))
      .def("add_symlink", &compose::LayerBuilder::add_symlink, py::return_value_policy::reference_internal,
           py::arg("path"), py::arg("target"), py::arg("uid"), py::arg("gid"))
      .def(
          "add_bytes",
          [](compose::LayerBuilder& b, std::string_view path, const py::bytes& data, std::uint32_t mode,
             std::uint32_t uid, std::uint32_t gid) { b.add_bytes(path, std::string(data), mode, uid, gid); },
          py::arg("path"), py::arg("data"), py::arg("mode"), py::arg("uid"), py::arg("gid"))
      .def(
          "build",
          [](const compose::LayerBuilder& b, const std::string& compression, int level,
             std::optional<std::int64_t> mtime) {
            const compose::LayerSettings s = layer_settings(compression, level, mtime);
            // A copy, so another thread's add_* cannot change the tree mid-build.
            const compose::LayerBuilder entries = b;
            py::gil_scoped_release release;
            return entries.build(s);
          },
          py::arg("compression"), py::arg("level"), py::arg("mtime"));

  py::class_<compose::Image>(m, "Image", "A compose::Image (use rustimg.Image).")
      .def_static(
          "scratch",
          [](const std::string& platform, const std::string& format) {
            return compose::Image::scratch(rustimg::parse_platform(platform), compose::format_named(format, "format="));
          },
          py::arg("platform"), py::arg("format"))
      .def_static(
          "builtin",
          [](const std::string& base, const std::string& platform, bool ca_certificates, bool tzdata,
             const std::string& compression, int level, std::optional<std::int64_t> mtime) {
            const rustimg::Platform p = rustimg::parse_platform(platform);
            rustimg::layer::BaseOptions options;
            options.ca_certificates = ca_certificates;
            options.tzdata = tzdata;
            const compose::LayerSettings s = layer_settings(compression, level, mtime);
            py::gil_scoped_release release;
            return compose::Image::builtin(base, p, options, s);
          },
          py::arg("base"), py::arg("platform"), py::arg("ca_certificates"), py::arg("tzdata"),
          py::arg("compression"), py::arg("level"), py::arg("mtime"))
      .def_static(
          "load",
          [](const std::string& location, const std::optional<std::string>& platform) {
            std::optional<rustimg::Platform> p;
            if (platform) p = rustimg::parse_platform(*platform);
            py::gil_scoped_release release;
            return compose::Image::load(location, p);
          },
          py::arg("location"), py::arg("platform"))
      .def_static("pull", &pull_image, py::arg("reference"), py::arg("platform"), py::arg("options"),
                  py::arg("progress"))
      .def("append", &compose::Image::append, py::arg("layer"), py::arg("created_by"))
      .def("with_config", &with_config, py::arg("changes"))
      .def("with_annotations", &compose::Image::with_annotations, py::arg("annotations"))
      .def("with_created", &compose::Image::with_created, py::arg("seconds"))
      .def_property_readonly("digest", &compose::Image::digest)
      .def_property_readonly("platform", [](const compose::Image& i) { return i.platform().to_string(); })
      .def_property_readonly(
          "format", [](const compose::Image& i) { return compose::format_name(i.format()); })
      .def_property_readonly("media_type", [](const compose::Image& i) { return i.manifest().descriptor.media_type; })
      .def_property_readonly("config", [](const compose::Image& i) { return json_to_python(i.config_json()); })
      .def_property_readonly("layers", [](const compose::Image& i) { return descriptors(i.layers()); })
      .def_property_readonly("annotations", &compose::Image::annotations)
      .def("write", &write_value<compose::Image>, py::arg("destination"), py::arg("options"), py::arg("progress"));

  py::class_<compose::Index>(m, "Index", "A compose::Index (use rustimg.Index).")
      .def(py::init<std::vector<compose::Image>, std::map<std::string, std::string>>(), py::arg("images"),
           py::arg("annotations"))
      .def_property_readonly("digest", &compose::Index::digest)
      .def_property_readonly("media_type", [](const compose::Index& i) { return i.index().descriptor.media_type; })
      .def("write", &write_value<compose::Index>, py::arg("destination"), py::arg("options"), py::arg("progress"));
}
}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "rustimg native core (use the rustimg package, not this module)";
  m.attr("__version__") = rustimg::version_string();

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const rustimg::Error& e) {
      raise_python_error(e);
    }
  });

  py::class_<rustimg::elf::Report>(m, "Report",
                                   "What rustimg found in one ELF binary: made by verify() and build() "
                                   "(BuildResult.reports), not constructed directly.")
      .def_property_readonly(
          "architecture", [](const rustimg::elf::Report& r) { return r.platform.architecture; },
          "The OCI architecture (\"amd64\", \"arm64\", \"arm\"...); \"\" when the machine has no OCI name.")
      .def_property_readonly(
          "variant", [](const rustimg::elf::Report& r) { return r.platform.variant; },
          "The OCI variant (\"v7\" for arm), else \"\".")
      .def_property_readonly(
          "platform", [](const rustimg::elf::Report& r) { return r.platform.to_string(); },
          "\"os/arch[/variant]\", e.g. \"linux/arm/v7\".")
      .def_property_readonly(
          "type", [](const rustimg::elf::Report& r) { return rustimg::elf::to_string(r.type); },
          "The ELF type: \"executable\", \"pie-executable\", \"shared-object\", \"relocatable\", \"core\" or \"other\".")
      .def_property_readonly(
          "linkage", [](const rustimg::elf::Report& r) { return rustimg::elf::to_string(r.linkage); },
          "\"static\", \"static-pie\" or \"dynamic\".")
      .def_property_readonly(
          "libc", [](const rustimg::elf::Report& r) { return rustimg::elf::to_string(r.libc); },
          "The C library the binary was built against: \"glibc\", \"musl\" or \"unknown\".")
      .def_readonly("interpreter", &rustimg::elf::Report::interpreter,
                    "The dynamic loader it asks for (PT_INTERP), or None.")
      .def_readonly("needed", &rustimg::elf::Report::needed, "The shared libraries it needs (DT_NEEDED).")
      .def_readonly("rpath", &rustimg::elf::Report::rpath, "Its DT_RPATH entries.")
      .def_readonly("runpath", &rustimg::elf::Report::runpath, "Its DT_RUNPATH entries.")
      .def_readonly("stripped", &rustimg::elf::Report::stripped, "True when it has no symbol table.")
      .def_readonly("debug_info", &rustimg::elf::Report::debug_info, "True when it has a .debug_info section.")
      .def_readonly("build_id", &rustimg::elf::Report::build_id, "The GNU build ID in hex, or None.")
      .def_readonly("nss_risk", &rustimg::elf::Report::nss_risk,
                    "True when a static glibc binary has NSS lookups that need modules it cannot load (see nss_failing).")
      .def_readonly("nss_evidence", &rustimg::elf::Report::nss_evidence,
                    "Strings in the binary that show it has the NSS machinery (\"/etc/nsswitch.conf\"...).")
      .def_readonly("glibc_version", &rustimg::elf::Report::glibc_version,
                    "glibc's version (\"2.36\"), a lower bound (\">=2.35\"), or None when not told.")
      .def_property_readonly(
          "nss_failing",
          [](const rustimg::elf::Report& r) { return json_to_python(rustimg::elf::to_json(r).at("nss_failing")); },
          "NSS lookups that need a module the static binary cannot load: [{\"database\", \"service\", "
          "\"module\", \"every_lookup\"}].")
      .def_property_readonly(
          "nss_checked_against",
          [](const rustimg::elf::Report& r) -> std::optional<std::string> {
            if (r.nss_checked_against.empty()) return std::nullopt;
            return r.nss_checked_against;
          },
          "The nsswitch.conf the NSS verdict was judged against; None when nothing was judged.")
      .def_property_readonly(
          "linked_libraries",
          [](const rustimg::elf::Report& r) { return json_to_python(rustimg::elf::to_json(r).at("linked_libraries")); },
          "C libraries linked in statically: [{\"name\": \"OpenSSL\", \"version\": \"3.0.19\" or None}].")
      .def_property_readonly(
          "problems", [](const rustimg::elf::Report& r) { return rustimg::elf::messages(r.problems); },
          "Why the binary cannot run in a scratch image, one sentence each; [] when fit.")
      .def_readonly("warnings", &rustimg::elf::Report::warnings,
                    "Things worth knowing that do not make it unfit (debug info, NSS lookups...).")
      .def_readonly("elf_class", &rustimg::elf::Report::elf_class, "32 or 64.")
      .def_property_readonly("fit_for_scratch", &rustimg::elf::Report::fit_for_scratch,
                             "True when the binary can run in an image with nothing else in it.")
      .def_property_readonly(
          "platform_match",
          [](const rustimg::elf::Report& r) -> std::optional<bool> {
            if (!r.wanted_platform) return std::nullopt;
            return r.platform_match();
          },
          "Whether it is for the platform asked for; None when none was asked for.")
      .def("to_dict", [](const rustimg::elf::Report& r) { return json_to_python(rustimg::elf::to_json(r)); },
           "The report as the dict `rustimg verify --json` prints (without \"path\").")
      .def("__repr__", [](const rustimg::elf::Report& r) {
        return "<rustimg.Report " + r.platform.to_string() + " " + rustimg::elf::to_string(r.linkage) +
               (r.fit_for_scratch() ? " fit>" : " unfit>");
      });

  m.def("verify", &verify, py::arg("path"), py::arg("platform") = std::nullopt,
        "Inspects the ELF binary at `path`; with `platform`, a binary for another platform is unfit.");
  m.def("load_spec", &load_spec, py::arg("crate") = std::nullopt, py::arg("spec_file") = std::nullopt,
        py::arg("overrides") = py::none(), py::arg("use_cargo_metadata") = true, py::arg("cargo") = "cargo",
        "Reads, validates, merges and resolves the image spec; returns it as a dict.");
  py::class_<RegistryConfig>(m, "RegistryOptions", "How to reach registries (see rustimg.push).");
  m.def("registry_options", &registry_options, py::arg("insecure_registries"), py::arg("ca_file"), py::arg("username"),
        py::arg("password"), py::arg("credentials_registry"), py::arg("use_config_files"),
        py::arg("request_timeout"), py::arg("stall_timeout"));
  m.def("push_registry", &rustimg::transfer::push_registry, py::arg("targets"), py::arg("how"),
        "The one registry host every target names; InvalidArgumentError when they name several.");
  m.def("push", &push, py::arg("source"), py::arg("targets"), py::arg("options"), py::arg("progress"),
        "Pushes the image at `source` to every reference in `targets`; returns one dict per reference "
        "(transfer::to_json).");
  m.def("pull", &pull, py::arg("reference"), py::arg("output"), py::arg("platform"), py::arg("options"),
        py::arg("progress"), "Pulls `reference` into `output`; returns the digest written.");
  m.def("sign", &sign, py::arg("reference"), py::arg("key_file"), py::arg("key_password_env"), py::arg("identity"),
        py::arg("attest"), py::arg("options"),
        "Signs (and with attest, attests) `reference` as cosign does; returns {signed, attested, skipped}.");
  m.def("verify_image", &verify_image, py::arg("reference"), py::arg("public_key_file"), py::arg("attestation"),
        py::arg("options"),
        "Checks the signatures (or the attestations of type `attestation`) of `reference`; returns what is valid.");
  m.def("build", &build, py::arg("crate"), py::arg("binary"), py::arg("platform"), py::arg("spec_file"),
        py::arg("overrides"), py::arg("output"), py::arg("allow_dynamic"), py::arg("source_date_epoch"),
        py::arg("progress"), py::arg("registry"), py::arg("push"), py::arg("sign_key"), py::arg("key_password_env"),
        py::arg("base_key"),
        "Builds an image from a crate (cargo) or a prebuilt binary (on an image base signed by `base_key`, "
        "when given), then pushes it to every reference in `push` (signed and attested with `sign_key`); "
        "returns digest, media_type, size, reports (Report objects), pushed, signed.");
  bind_compose(m);
}
