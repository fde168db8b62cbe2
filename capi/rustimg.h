/*
 * rustimg.h - the stable C API of rustimg.
 *
 * Conventions (see README.md "C API"):
 *  - Every name starts with rustimg_ / RUSTIMG_; functions are
 *    rustimg_<module>_<verb>.
 *  - Fallible functions return int: 0 on success, a negative RUSTIMG_E* code
 *    on failure. Their last parameter is `rustimg_error **err`, which may be
 *    NULL; when it is not NULL and the call fails, *err receives an error
 *    object the caller frees with rustimg_error_free(). No thread-local state.
 *  - Objects returned through an out-parameter belong to the caller and are
 *    released with their rustimg_<type>_free(), which accepts NULL.
 *    Strings returned by getters are borrowed: valid until the parent object
 *    is freed.
 *  - Options structs start with `unsigned version`; initialise them with the
 *    *_OPTIONS_INIT macro or the *_options_init() function. Passing NULL
 *    options means "all defaults".
 *  - All strings are UTF-8 and NUL-terminated.
 */
#ifndef RUSTIMG_H
#define RUSTIMG_H

#include <stddef.h>

#if defined(__GNUC__) && __GNUC__ >= 4
#define RUSTIMG_EXTERN(type) extern __attribute__((visibility("default"))) type
#else
#define RUSTIMG_EXTERN(type) extern type
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** ABI version; matches the shared library's SONAME (librustimg.so.N). */
#define RUSTIMG_ABI_VERSION 0

/** Error codes. */
typedef enum rustimg_errcode {
  RUSTIMG_OK = 0,
  RUSTIMG_ERROR = -1,        /**< any failure without a more precise class */
  RUSTIMG_EINVALID = -2,     /**< malformed argument (reference, platform, option...) */
  RUSTIMG_ENOTFOUND = -3,    /**< a named file, package, bin or image does not exist */
  RUSTIMG_EIO = -4,          /**< reading or writing a file failed */
  RUSTIMG_ESPEC = -5,        /**< the image spec is invalid */
  RUSTIMG_EELF = -6,         /**< the input is not a readable ELF file */
  RUSTIMG_EVERIFY = -7,      /**< the binary is not fit for the requested image */
  RUSTIMG_ECARGO = -8,       /**< running cargo failed */
  RUSTIMG_EREGISTRY = -9,    /**< the registry refused or failed a request */
  RUSTIMG_EAUTH = -10,       /**< authentication with a registry failed */
  RUSTIMG_ECANCELLED = -11,  /**< a callback asked to stop */
  RUSTIMG_EUNSUPPORTED = -12 /**< valid input that rustimg does not handle */
} rustimg_errcode;

/* ---- errors ------------------------------------------------------------ */

/** An error returned through a `rustimg_error **err` out-parameter. */
typedef struct rustimg_error rustimg_error;

/** The RUSTIMG_E* code of `err`. */
RUSTIMG_EXTERN(int) rustimg_error_code(const rustimg_error *err);
/** Short stable name of the code: "spec", "elf", "registry"... */
RUSTIMG_EXTERN(const char *) rustimg_error_class(const rustimg_error *err);
/** The full message: names the input at fault and, where possible, the fix. */
RUSTIMG_EXTERN(const char *) rustimg_error_message(const rustimg_error *err);
/** The HTTP status of a registry failure; 0 when none was received or not a registry error. */
RUSTIMG_EXTERN(int) rustimg_error_http_status(const rustimg_error *err);
/** The registry's own error code ("UNAUTHORIZED", "BLOB_UNKNOWN"...); "" when none. */
RUSTIMG_EXTERN(const char *) rustimg_error_registry_code(const rustimg_error *err);
/** Number of individual problems (spec errors list one per invalid value). */
RUSTIMG_EXTERN(size_t) rustimg_error_detail_count(const rustimg_error *err);
/** Problem `i` (0-based), or NULL when out of range. */
RUSTIMG_EXTERN(const char *) rustimg_error_detail(const rustimg_error *err, size_t i);
/** Frees `err`; NULL is a no-op. */
RUSTIMG_EXTERN(void) rustimg_error_free(rustimg_error *err);

/** Version of the library in use, "MAJOR.MINOR.PATCH". */
RUSTIMG_EXTERN(const char *) rustimg_version(void);

/* ---- ELF verification -------------------------------------------------- */

/** What rustimg found in one binary. */
typedef struct rustimg_elf_report rustimg_elf_report;

/**
 * Inspects the ELF file at `path`. When `platform` is not NULL
 * ("linux/arm64"), a binary for another platform is reported unfit.
 * Returns RUSTIMG_ENOTFOUND, RUSTIMG_EIO, RUSTIMG_EELF (not a valid ELF file)
 * or RUSTIMG_EINVALID (bad platform). An unfit binary is not an error: check
 * rustimg_elf_report_fit().
 */
RUSTIMG_EXTERN(int) rustimg_verify_file(rustimg_elf_report **out, const char *path,
                                        const char *platform, rustimg_error **err);
/** Like rustimg_verify_file() over `len` bytes at `data`. */
RUSTIMG_EXTERN(int) rustimg_verify_buffer(rustimg_elf_report **out, const void *data, size_t len,
                                          const char *platform, rustimg_error **err);
/** 1 when the binary can run in a scratch image (and matches the platform). */
RUSTIMG_EXTERN(int) rustimg_elf_report_fit(const rustimg_elf_report *report);
/** "static", "static-pie" or "dynamic". */
RUSTIMG_EXTERN(const char *) rustimg_elf_report_linkage(const rustimg_elf_report *report);
/** OCI architecture ("amd64", "arm64"...); "" when unknown. */
RUSTIMG_EXTERN(const char *) rustimg_elf_report_architecture(const rustimg_elf_report *report);
/** OCI variant ("v7"); "" when none. */
RUSTIMG_EXTERN(const char *) rustimg_elf_report_variant(const rustimg_elf_report *report);
/** 1 when a static glibc binary has NSS lookups it cannot answer: services
 * in glibc's default nsswitch configuration (no /etc/nsswitch.conf, as in
 * scratch) that need a loadable module; glibc 2.34+ builds in files and dns. */
RUSTIMG_EXTERN(int) rustimg_elf_report_nss_risk(const rustimg_elf_report *report);
/** Number of reasons the binary is unfit; 0 when fit. */
RUSTIMG_EXTERN(size_t) rustimg_elf_report_problem_count(const rustimg_elf_report *report);
/** Reason `i`, or NULL when out of range. */
RUSTIMG_EXTERN(const char *) rustimg_elf_report_problem(const rustimg_elf_report *report, size_t i);
/** The whole report as a JSON object, as `rustimg verify --json` prints it
 * without "path" ("platform_match" only when a platform was given). */
RUSTIMG_EXTERN(const char *) rustimg_elf_report_json(const rustimg_elf_report *report);
/** Frees `report`; NULL is a no-op. */
RUSTIMG_EXTERN(void) rustimg_elf_report_free(rustimg_elf_report *report);

/* ---- image spec -------------------------------------------------------- */

/** A resolved image spec. */
typedef struct rustimg_spec rustimg_spec;

typedef struct rustimg_spec_load_options {
  unsigned version;
  /** Crate directory; NULL for none (spec file and overrides only). */
  const char *crate_dir;
  /** Spec file; NULL: crate_dir/rustimg.json when it exists. */
  const char *spec_file;
  /** Overrides, a JSON object in the spec schema; NULL for none. */
  const char *overrides_json;
  /** Non-zero: read [package.metadata.rustimg] through `cargo metadata`. */
  int use_cargo_metadata;
  /** The cargo program; NULL: "cargo" from PATH. */
  const char *cargo;
} rustimg_spec_load_options;

#define RUSTIMG_SPEC_LOAD_OPTIONS_VERSION 1
#define RUSTIMG_SPEC_LOAD_OPTIONS_INIT { RUSTIMG_SPEC_LOAD_OPTIONS_VERSION, NULL, NULL, NULL, 1, NULL }

/** Initialises `opts` to defaults for `version`; RUSTIMG_EINVALID for an unknown version. */
RUSTIMG_EXTERN(int) rustimg_spec_load_options_init(rustimg_spec_load_options *opts, unsigned version);

/**
 * Reads, validates, merges and resolves the spec. On RUSTIMG_ESPEC the error
 * lists every problem (rustimg_error_detail), each naming the source and the
 * JSON path, e.g. "rustimg.json: $.env.PORT: expected a string, got a number".
 */
RUSTIMG_EXTERN(int) rustimg_spec_load(rustimg_spec **out, const rustimg_spec_load_options *opts,
                                      rustimg_error **err);
/** The resolved spec as JSON (every key present). */
RUSTIMG_EXTERN(const char *) rustimg_spec_json(const rustimg_spec *spec);
/** Frees `spec`; NULL is a no-op. */
RUSTIMG_EXTERN(void) rustimg_spec_free(rustimg_spec *spec);

/* ---- progress and cancellation ----------------------------------------- */

/** One progress event. Valid only during the callback. */
typedef struct rustimg_progress_event {
  unsigned version;    /**< RUSTIMG_PROGRESS_EVENT_VERSION; fields may be added at the end */
  const char *stage;   /**< "build", "cargo", "verify", "layer", "image", "sbom", "provenance", "write" */
  const char *message; /**< one human-readable line */
} rustimg_progress_event;

#define RUSTIMG_PROGRESS_EVENT_VERSION 1

/**
 * Progress callback, called on the thread that made the call. Return 0 to
 * go on; any other value cancels the operation, which then fails with
 * RUSTIMG_ECANCELLED and leaves no output behind.
 */
typedef int (*rustimg_progress_cb)(const rustimg_progress_event *event, void *payload);

/**
 * A cancellation flag that any thread may raise while an operation that was
 * given it runs (e.g. from a Go context or a signal-handling thread). A
 * running cargo is killed with everything it started.
 */
typedef struct rustimg_cancel_token rustimg_cancel_token;

RUSTIMG_EXTERN(int) rustimg_cancel_token_new(rustimg_cancel_token **out, rustimg_error **err);
/** Raises the flag; safe from any thread, any number of times. */
RUSTIMG_EXTERN(void) rustimg_cancel_token_cancel(rustimg_cancel_token *token);
/** 1 once the flag is raised. */
RUSTIMG_EXTERN(int) rustimg_cancel_token_is_cancelled(const rustimg_cancel_token *token);
/** Frees `token` (not while an operation uses it); NULL is a no-op. */
RUSTIMG_EXTERN(void) rustimg_cancel_token_free(rustimg_cancel_token *token);

/* ---- building images --------------------------------------------------- */

struct rustimg_registry_options; /* below, under "registries" */

typedef struct rustimg_build_options {
  unsigned version;
  /** Build this crate with cargo for every platform of its spec... */
  const char *crate_dir;
  /** ...or put this prebuilt binary in the image (exactly one of the two). */
  const char *binary;
  /** With `binary`: its platform ("linux/arm64"); NULL: from the ELF header. */
  const char *platform;
  /** Spec file; NULL: crate_dir/rustimg.json when it exists. */
  const char *spec_file;
  /** Overrides, a JSON object in the spec schema; NULL for none. */
  const char *overrides_json;
  /**
   * "oci:DIR[:TAG]", "oci-archive:FILE[:TAG]", "docker-archive:FILE[:NAME:TAG]"
   * or "docker://HOST/REPO:TAG" (a registry: layers are uploaded as they are
   * written, reached with `registry`).
   */
  const char *output;
  /** Non-zero: accept a dynamically linked binary on scratch/static. */
  int allow_dynamic;
  /** Non-zero: Docker schema 2 media types (docker-archive only). */
  int docker_media_types;
  /** Seconds since the epoch for every timestamp; negative: SOURCE_DATE_EPOCH or 0. */
  long long source_date_epoch;
  rustimg_progress_cb progress;
  void *progress_payload;
  /** Optional; see rustimg_cancel_token. */
  rustimg_cancel_token *cancel;
  /* -- version 2 -- */
  /**
   * How to reach the registry of an image base (the spec's "base" when it
   * is a reference) and of a docker:// output: insecure registries, CA
   * file, credentials (without credentials_registry: for a docker://
   * output's registry, else for the base's). NULL: the defaults (config
   * files for credentials, TLS verified). Its progress callback, if any,
   * sees the base's download and the output's upload.
   */
  const struct rustimg_registry_options *registry;
  /* -- version 3 -- */
  /**
   * A PEM ECDSA P-256 private key file (cosign.key works). With it, the
   * image pushed to a docker:// output is signed after the push, as
   * rustimg_sign does, and the SBOM and provenance pushed with it are
   * attested (as `rustimg build --sign-key`). The key is read before
   * anything is built, so a missing file (RUSTIMG_ENOTFOUND) or a wrong
   * passphrase (RUSTIMG_EINVALID) fails first; an output that pushes
   * nothing ("oci:", an archive) is RUSTIMG_EINVALID before the build.
   * NULL: nothing is signed.
   */
  const char *sign_key;
  /**
   * The environment variable holding the passphrase of an encrypted
   * `sign_key`; NULL: COSIGN_PASSWORD. The passphrase is never in a message.
   */
  const char *sign_key_password_env;
  /**
   * A PEM public key file (cosign.pub): the image base (the spec's "base",
   * a registry reference) must carry a signature by it, checked as
   * rustimg_verify_image does before anything of the base is pulled, else
   * RUSTIMG_EVERIFY saying why. It wins over the spec's "base-key"; a path
   * relative to the current directory. NULL: the spec's "base-key", if any.
   */
  const char *base_key;
} rustimg_build_options;

#define RUSTIMG_BUILD_OPTIONS_VERSION 3
#define RUSTIMG_BUILD_OPTIONS_INIT \
  { RUSTIMG_BUILD_OPTIONS_VERSION, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, -1, NULL, NULL, NULL, NULL, \
    NULL, NULL, NULL }

/**
 * Initialises `opts` to defaults for `version` (1, 2 or 3), writing only the
 * fields that version has; RUSTIMG_EINVALID for an unknown version. A
 * caller built against an older header passes its own version: fields of
 * later versions are never read from its (shorter) struct.
 */
RUSTIMG_EXTERN(int) rustimg_build_options_init(rustimg_build_options *opts, unsigned version);

/** What a build produced. */
typedef struct rustimg_build_result rustimg_build_result;

/**
 * Builds an image and writes it to `opts->output` (then, with `sign_key`,
 * signs what was pushed). Expected errors: RUSTIMG_ESPEC, RUSTIMG_ECARGO
 * (with the compiler's message), RUSTIMG_EVERIFY (a binary unfit for the
 * base or its platform; a base not signed by `base_key`),
 * RUSTIMG_ENOTFOUND, RUSTIMG_EINVALID, RUSTIMG_ECANCELLED; for a base or
 * output in a registry (and its signing), RUSTIMG_EREGISTRY, RUSTIMG_EAUTH.
 */
RUSTIMG_EXTERN(int) rustimg_build(rustimg_build_result **out, const rustimg_build_options *opts,
                                  rustimg_error **err);
/** Digest of the manifest (one platform) or index (several): "sha256:...". */
RUSTIMG_EXTERN(const char *) rustimg_build_result_digest(const rustimg_build_result *result);
/**
 * What the build did, as JSON: {"digest", "media_type", "size",
 * "manifests", "reports": [verify report per binary], "pushed": [what
 * rustimg_transfer_result_json says, per push], "references":
 * ["host/repo:tag@sha256:..."]} ("pushed" and "references" always there,
 * empty unless the output is docker://); for an archive output, "beside":
 * the SBOM and provenance files written beside it; with `sign_key`,
 * "signed": the signatures, then the attestations, in the form of
 * rustimg_signatures_json (attestations with "predicate_type"). The same
 * object `rustimg build --json` prints.
 */
RUSTIMG_EXTERN(const char *) rustimg_build_result_json(const rustimg_build_result *result);
/** Frees `result`; NULL is a no-op. */
RUSTIMG_EXTERN(void) rustimg_build_result_free(rustimg_build_result *result);

/* ---- registries ------------------------------------------------------- */

/** Filled by a credentials callback; the library copies the strings. */
typedef struct rustimg_credentials rustimg_credentials;
RUSTIMG_EXTERN(void) rustimg_credentials_set(rustimg_credentials *creds, const char *username, const char *password);

/**
 * Asked for credentials for `registry` ("ghcr.io", "127.0.0.1:5000"). Return
 * 0 after rustimg_credentials_set(), 1 to fall through to the config files,
 * a negative value to fail the operation.
 */
typedef int (*rustimg_credentials_cb)(const char *registry, rustimg_credentials *out, void *payload);

typedef struct rustimg_registry_options {
  unsigned version;
  /** Registries ("host" or "host:port") to reach over plain HTTP or unverified TLS. */
  const char *const *insecure_registries;
  size_t insecure_registries_count;
  /** PEM file of CA certificates to trust for the registry; NULL: the system's. */
  const char *ca_file;
  /**
   * Explicit credentials for one registry: `credentials_registry` (version
   * 2), else the registry the call is about (the target of rustimg_push,
   * the reference of rustimg_pull, the image base of rustimg_build). No
   * other registry ever receives them. NULL: callback, then config files.
   */
  const char *username;
  const char *password;
  rustimg_credentials_cb credentials;
  void *credentials_payload;
  /** Non-zero (default): read ~/.docker/config.json, credential helpers, podman auth.json. */
  int use_config_files;
  /** Parallel blob transfers; 0: the default (4). */
  unsigned jobs;
  /** Upload in chunks of this many bytes; 0: one request per blob. */
  unsigned long long chunk_size;
  /** Progress (stage "push"/"pull"); non-zero return cancels. */
  rustimg_progress_cb progress;
  void *progress_payload;
  rustimg_cancel_token *cancel;
  /* -- version 2 -- */
  /**
   * The registry host ("ghcr.io", "127.0.0.1:5000") that `username` and
   * `password` are for; no other registry gets them. NULL: the registry
   * the call is about (see `username`).
   */
  const char *credentials_registry;
  /**
   * Seconds after which a request without blob data (ping, token, HEAD,
   * manifest) is given up on; 0: the default (300).
   */
  unsigned request_timeout_seconds;
  /** Seconds a transfer may stay below 1 KiB/s before it is given up on; 0: the default (60). */
  unsigned stall_timeout_seconds;
} rustimg_registry_options;

#define RUSTIMG_REGISTRY_OPTIONS_VERSION 2
#define RUSTIMG_REGISTRY_OPTIONS_INIT \
  { RUSTIMG_REGISTRY_OPTIONS_VERSION, NULL, 0, NULL, NULL, NULL, NULL, NULL, 1, 0, 0, NULL, NULL, NULL, NULL, 0, 0 }

/**
 * Initialises `opts` to defaults for `version` (1 or 2), writing only the
 * fields that version has; RUSTIMG_EINVALID for an unknown version.
 */
RUSTIMG_EXTERN(int) rustimg_registry_options_init(rustimg_registry_options *opts, unsigned version);

/** What a push or pull did. */
typedef struct rustimg_transfer_result rustimg_transfer_result;

/**
 * Pushes the image at `source` ("oci:DIR[:TAG]", "oci-archive:FILE[:TAG]",
 * "docker-archive:FILE") to `target` ("host/repo:tag"). Expected errors:
 * RUSTIMG_EREGISTRY, RUSTIMG_EAUTH (with rustimg_error_http_status),
 * RUSTIMG_ENOTFOUND, RUSTIMG_EINVALID, RUSTIMG_ECANCELLED.
 */
RUSTIMG_EXTERN(int) rustimg_push(rustimg_transfer_result **out, const char *source, const char *target,
                                 const rustimg_registry_options *opts, rustimg_error **err);
/**
 * Pulls `reference` into `output` (any destination form). With `platform`
 * (e.g. "linux/arm64"), only that platform of an index.
 */
RUSTIMG_EXTERN(int) rustimg_pull(rustimg_transfer_result **out, const char *reference, const char *output,
                                 const char *platform, const rustimg_registry_options *opts, rustimg_error **err);
/** "host/repo:tag@sha256:..." for a push; the reference as given for a pull. */
RUSTIMG_EXTERN(const char *) rustimg_transfer_result_reference(const rustimg_transfer_result *result);
/** Digest of the manifest or index pushed or written. */
RUSTIMG_EXTERN(const char *) rustimg_transfer_result_digest(const rustimg_transfer_result *result);
/** Counts as JSON: {"reference","references","digest","blobs_uploaded","blobs_mounted","blobs_existing",
 *  "bytes_uploaded","referrers","signatures"}; "referrers": the artifacts (SBOM, provenance) pushed with the
 *  image, each {"digest","subject","artifact_type","via"} with "via" "referrers-api" or "tag-schema";
 *  "signatures": the cosign signature and attestation images an OCI layout held about it, pushed with it
 *  ("host/repo:sha256-<hex>.sig@sha256:..."). A pull gives {"reference","digest"}. */
RUSTIMG_EXTERN(const char *) rustimg_transfer_result_json(const rustimg_transfer_result *result);
RUSTIMG_EXTERN(void) rustimg_transfer_result_free(rustimg_transfer_result *result);

/* ---- signing, cosign-compatible --------------------------------------- */

/** What rustimg_sign signed, or what rustimg_verify_image found valid. */
typedef struct rustimg_signatures rustimg_signatures;

/**
 * Signs the image `reference` ("host/repo:tag" or "host/repo@sha256:...")
 * in its registry as `cosign sign --key --recursive --tlog-upload=false`
 * does: the digest it names and, for an index, each platform's manifest,
 * each signature added to the "sha256-<hex>.sig" image of the same
 * repository. `key_file` is an ECDSA P-256 private key, PEM or cosign's
 * cosign.key; an encrypted one is opened with the passphrase in the
 * environment variable `key_password_env` (NULL: COSIGN_PASSWORD). An
 * image in an OCI layout ("oci:DIR:TAG") is refused with RUSTIMG_EINVALID:
 * its signature must name the repository it will be pushed to, which this
 * call cannot take (rustimg_sign_image can). Expected
 * errors: RUSTIMG_ENOTFOUND, RUSTIMG_EINVALID (no key, a wrong
 * passphrase), RUSTIMG_EUNSUPPORTED (not P-256), RUSTIMG_EREGISTRY,
 * RUSTIMG_EAUTH.
 */
RUSTIMG_EXTERN(int) rustimg_sign(rustimg_signatures **out, const char *reference, const char *key_file,
                                 const char *key_password_env, const rustimg_registry_options *opts,
                                 rustimg_error **err);

/** What rustimg_sign_image does; set up with RUSTIMG_SIGN_OPTIONS_INIT. */
typedef struct rustimg_sign_options {
  unsigned version;
  /** The ECDSA P-256 private key, PEM or cosign's cosign.key. Required. */
  const char *key_file;
  /** The environment variable holding an encrypted key's passphrase; NULL: COSIGN_PASSWORD. */
  const char *key_password_env;
  /**
   * The repository ("host/repo", no tag) the signatures name, as cosign's
   * --sign-container-identity; NULL: the image's own. Required for an
   * image in an OCI layout: the repository it will be pushed to.
   */
  const char *identity;
  /**
   * Non-zero: also attest the SBOMs and provenance attached to the image,
   * as `cosign attest --key` does (`rustimg sign --attest`).
   */
  int attest;
  /** How the registry is reached; NULL: defaults (unused for a layout). */
  const rustimg_registry_options *registry;
} rustimg_sign_options;

#define RUSTIMG_SIGN_OPTIONS_VERSION 1
#define RUSTIMG_SIGN_OPTIONS_INIT { RUSTIMG_SIGN_OPTIONS_VERSION, NULL, NULL, NULL, 0, NULL }

/** Initialises `opts` to defaults for `version` (1); RUSTIMG_EINVALID for an unknown version. */
RUSTIMG_EXTERN(int) rustimg_sign_options_init(rustimg_sign_options *opts, unsigned version);

/**
 * Signs the image `reference` as `rustimg sign [--identity] [--attest]`
 * does: a registry reference as rustimg_sign signs it, or an image in an
 * OCI layout ("oci:DIR:TAG"), whose signatures are tagged
 * "sha256-<hex>.sig" / ".att" in the layout (rustimg_push carries them to
 * the registry with the image; `identity` required). With `attest`, the
 * SBOMs and provenance attached to the image are attested; an artifact
 * that fails a check is passed over and named in "skipped" with the
 * reason. rustimg_signatures_json(out) gives {"signed": [as rustimg_sign],
 * "attested": [with "predicate_type"], "skipped": ["DIGEST: why"]} (the
 * last two with `attest`). Errors as rustimg_sign.
 */
RUSTIMG_EXTERN(int) rustimg_sign_image(rustimg_signatures **out, const char *reference,
                                       const rustimg_sign_options *opts, rustimg_error **err);
/**
 * Checks the image `reference` (a registry reference, or "oci:DIR:TAG":
 * the signatures `rustimg sign` made in that layout) as `cosign verify
 * --key` does (without a transparency log): at least one signature by the
 * PEM public key in
 * `public_key_file` names its digest. With `attestation_type` (cosign's
 * names, "slsaprovenance1", "spdxjson", ..., or a predicate type URI) its
 * attestations are checked instead, as `cosign verify-attestation --type`.
 * RUSTIMG_EVERIFY, saying why, when nothing valid is found.
 */
RUSTIMG_EXTERN(int) rustimg_verify_image(rustimg_signatures **out, const char *reference,
                                         const char *public_key_file, const char *attestation_type,
                                         const rustimg_registry_options *opts, rustimg_error **err);
/**
 * A JSON array: for signatures [{"digest", "signature", "identity"}] (the
 * manifest, its "host/repo:sha256-<hex>.sig@sha256:..." and the repository
 * the payload names); for attestations, the valid in-toto statements. From
 * rustimg_sign_image, the object it describes.
 */
RUSTIMG_EXTERN(const char *) rustimg_signatures_json(const rustimg_signatures *signatures);
RUSTIMG_EXTERN(void) rustimg_signatures_free(rustimg_signatures *signatures);

/* ---- composing images: layers, images, indexes ------------------------ */
/*
 * Layers and images as values, as in go-containerregistry's mutate package:
 * build a layer from host files, bytes or a tar; start an image from scratch,
 * a built-in base, a local image or a registry; append layers, change its
 * config; write it anywhere. Values are immutable: every call that changes
 * one returns a new handle, and the caller frees each handle it receives
 * (freeing an image does not invalidate images or layers made from it).
 * Handles may be used from several threads at once, except a layer builder.
 * The same inputs give the same digests from C, C++, Python and Go.
 */

/** Collects the entries of one layer. Not thread-safe. */
typedef struct rustimg_layer_builder rustimg_layer_builder;
/** A written layer (compressed tar blob) with its digests. */
typedef struct rustimg_layer rustimg_layer;
/** One platform's image: config, manifest and layers. */
typedef struct rustimg_image rustimg_image;
/** Several platforms' images as one index. */
typedef struct rustimg_index rustimg_index;

RUSTIMG_EXTERN(int) rustimg_layer_builder_new(rustimg_layer_builder **out, rustimg_error **err);
/*
 * The add functions: paths in the image are absolute or relative to "/"
 * ("/etc//x" is "etc/x"); "..", NUL and the root itself are
 * RUSTIMG_EINVALID. Parent directories nobody adds appear as 0755
 * root:root. Adding a path twice is RUSTIMG_EINVALID naming it, except a
 * directory twice (the later wins). A `mode` is permission bits, 0..07777
 * (RUSTIMG_EINVALID otherwise). Every string argument is required (NULL is
 * RUSTIMG_EINVALID naming it). Host files are read when the layer is built,
 * not when added.
 */
/** The `mode` of rustimg_layer_builder_add_file() that takes the host file's
 * mode: 0755 when it has any execute bit, else 0644. */
#define RUSTIMG_MODE_FROM_HOST (-1)

/**
 * The host file `host_path` at `image_path`. `mode`: permission bits
 * (0..07777), or RUSTIMG_MODE_FROM_HOST. RUSTIMG_ENOTFOUND when it does not
 * exist, RUSTIMG_EINVALID when it is not a regular file or `mode` is
 * neither.
 */
RUSTIMG_EXTERN(int) rustimg_layer_builder_add_file(rustimg_layer_builder *b, const char *image_path,
                                                   const char *host_path, int mode, unsigned uid, unsigned gid,
                                                   rustimg_error **err);
RUSTIMG_EXTERN(int) rustimg_layer_builder_add_directory(rustimg_layer_builder *b, const char *image_path,
                                                        unsigned mode, unsigned uid, unsigned gid,
                                                        rustimg_error **err);
/** What `host_dir` holds, recursively, at `image_path` ("/" for the root);
 * symlinks are kept, nothing outside `host_dir` is read. */
RUSTIMG_EXTERN(int) rustimg_layer_builder_add_tree(rustimg_layer_builder *b, const char *image_path,
                                                   const char *host_dir, unsigned uid, unsigned gid,
                                                   rustimg_error **err);
/** A symlink to `target`, verbatim (mode 0777). */
RUSTIMG_EXTERN(int) rustimg_layer_builder_add_symlink(rustimg_layer_builder *b, const char *image_path,
                                                      const char *target, unsigned uid, unsigned gid,
                                                      rustimg_error **err);
/** A file holding the `len` bytes at `data` (copied). */
RUSTIMG_EXTERN(int) rustimg_layer_builder_add_bytes(rustimg_layer_builder *b, const char *image_path,
                                                    const void *data, size_t len, unsigned mode, unsigned uid,
                                                    unsigned gid, rustimg_error **err);
/** Frees `b`; NULL is a no-op. */
RUSTIMG_EXTERN(void) rustimg_layer_builder_free(rustimg_layer_builder *b);

typedef struct rustimg_layer_options {
  unsigned version;
  /** "gzip" (NULL: the default), "zstd" or "none". */
  const char *compression;
  /** gzip 1..9, zstd 1..19; 0: the default (gzip 6, zstd 3). Part of the layer's identity. */
  int level;
  /** Every entry's mtime, seconds since the epoch; negative: SOURCE_DATE_EPOCH, else 0.
   * Not used by rustimg_layer_from_tar (a tar keeps its own times). */
  long long mtime;
} rustimg_layer_options;

#define RUSTIMG_LAYER_OPTIONS_VERSION 1
#define RUSTIMG_LAYER_OPTIONS_INIT { RUSTIMG_LAYER_OPTIONS_VERSION, NULL, 0, -1 }

/** Initialises `opts` to defaults for `version`; RUSTIMG_EINVALID for an unknown version. */
RUSTIMG_EXTERN(int) rustimg_layer_options_init(rustimg_layer_options *opts, unsigned version);

/**
 * Writes the builder's entries as a layer (the builder is unchanged: building
 * twice gives the same layer). `opts` NULL: defaults. RUSTIMG_ENOTFOUND or
 * RUSTIMG_EIO when a host file vanished, is unreadable or changed while read.
 */
RUSTIMG_EXTERN(int) rustimg_layer_builder_build(rustimg_layer **out, const rustimg_layer_builder *b,
                                                const rustimg_layer_options *opts, rustimg_error **err);
/** An existing tar file (plain, gzip or zstd), checked as hostile input. Each
 * entry is written again (name, type, mode, owner ids, whole-second mtime,
 * link target, data; in the tar's order), so a tar rustimg wrote keeps its
 * diff_id; compressed as `opts` say (`opts->mtime` is not used). */
RUSTIMG_EXTERN(int) rustimg_layer_from_tar(rustimg_layer **out, const char *tar_path,
                                           const rustimg_layer_options *opts, rustimg_error **err);
/** Digest of the compressed blob, "sha256:...". */
RUSTIMG_EXTERN(const char *) rustimg_layer_digest(const rustimg_layer *layer);
/** Digest of the uncompressed tar (the config's diff_id). */
RUSTIMG_EXTERN(const char *) rustimg_layer_diff_id(const rustimg_layer *layer);
RUSTIMG_EXTERN(const char *) rustimg_layer_media_type(const rustimg_layer *layer);
/** Size of the compressed blob in bytes. */
RUSTIMG_EXTERN(unsigned long long) rustimg_layer_size(const rustimg_layer *layer);
/** Frees `layer`; NULL is a no-op. Images holding it keep it alive. */
RUSTIMG_EXTERN(void) rustimg_layer_free(rustimg_layer *layer);

/** An image without layers or config values for `platform` ("linux/amd64"),
 * OCI media types, created = SOURCE_DATE_EPOCH (else 0). */
RUSTIMG_EXTERN(int) rustimg_image_scratch(rustimg_image **out, const char *platform, rustimg_error **err);
/** A built-in base, "scratch" or "static", exactly as a build with default
 * base options makes it; RUSTIMG_EUNSUPPORTED for any other name. */
RUSTIMG_EXTERN(int) rustimg_image_builtin(rustimg_image **out, const char *base, const char *platform,
                                          rustimg_error **err);
/**
 * A local image: "oci:DIR[:TAG]", "oci-archive:FILE[:TAG]",
 * "docker-archive:FILE". From an index, the manifest for `platform`; NULL:
 * the index's only manifest (RUSTIMG_EINVALID listing them when it has
 * several).
 */
RUSTIMG_EXTERN(int) rustimg_image_load(rustimg_image **out, const char *location, const char *platform,
                                       rustimg_error **err);
/**
 * `reference`'s image for `platform` ("linux/arm64"), pulled (every digest
 * verified); `opts` NULL: defaults. `platform` NULL: a single-platform image
 * whatever its platform, and from an index its "linux/amd64" manifest (as
 * crane without --platform; RUSTIMG_ENOTFOUND when it has none).
 */
RUSTIMG_EXTERN(int) rustimg_image_pull(rustimg_image **out, const char *reference, const char *platform,
                                       const struct rustimg_registry_options *opts, rustimg_error **err);
/** `img` with `layer` on top and a history entry `created_by` (NULL: ""). */
RUSTIMG_EXTERN(int) rustimg_image_append(rustimg_image **out, const rustimg_image *img, const rustimg_layer *layer,
                                         const char *created_by, rustimg_error **err);
/**
 * `img` with config changes: a JSON object with any of the image spec's keys
 * (README "Image spec", same values and checks) "entrypoint", "cmd", "env",
 * "user", "workdir", "ports", "labels", "stop-signal", "healthcheck".
 * entrypoint, cmd, user, workdir, stop-signal and healthcheck replace the
 * image's; null removes entrypoint, cmd, user, workdir or stop-signal (so
 * does [] for entrypoint and cmd), and null turns the healthcheck off (as
 * Docker does, {"Test": ["NONE"]}). env and labels set each name given and
 * ports are added (an empty object or array changes nothing; null is
 * RUSTIMG_ESPEC: they cannot be removed). Config and manifest digests
 * change, layer digests never.
 * RUSTIMG_ESPEC for an unknown key (with a did-you-mean) or a wrong value:
 * every problem is a detail naming its JSON path, e.g.
 * "config changes: $.env.PORT: expected a string, got a number".
 */
RUSTIMG_EXTERN(int) rustimg_image_with_config(rustimg_image **out, const rustimg_image *img,
                                              const char *changes_json, rustimg_error **err);
/** `img` with each annotation of `annotations_json` (an object of strings) set
 * in its manifest; RUSTIMG_EINVALID for a Docker-format image. */
RUSTIMG_EXTERN(int) rustimg_image_with_annotations(rustimg_image **out, const rustimg_image *img,
                                                   const char *annotations_json, rustimg_error **err);
/** `img` with the config's "created" set to `seconds` since the epoch. */
RUSTIMG_EXTERN(int) rustimg_image_with_created(rustimg_image **out, const rustimg_image *img, long long seconds,
                                               rustimg_error **err);
/** Digest of the manifest. */
RUSTIMG_EXTERN(const char *) rustimg_image_digest(const rustimg_image *img);
/** The config document, as the config blob holds it. */
RUSTIMG_EXTERN(const char *) rustimg_image_config_json(const rustimg_image *img);
/** The manifest, as its blob holds it. */
RUSTIMG_EXTERN(const char *) rustimg_image_manifest_json(const rustimg_image *img);
/** "os/arch[/variant]". */
RUSTIMG_EXTERN(const char *) rustimg_image_platform(const rustimg_image *img);
/** Number of layers in the manifest. */
RUSTIMG_EXTERN(size_t) rustimg_image_layer_count(const rustimg_image *img);
/** Digest of layer `i` (0 = bottom), or NULL when out of range. */
RUSTIMG_EXTERN(const char *) rustimg_image_layer_digest(const rustimg_image *img, size_t i);
/**
 * Writes `img` to `destination`: "oci:DIR[:TAG]", "oci-archive:FILE[:TAG]",
 * "docker-archive:FILE[:NAME:TAG]" (atomically), or "docker://HOST/REPO:TAG"
 * (pushed, reached with `opts`; NULL: defaults). `out` receives the
 * reference (the pushed "host/repo:tag@sha256:..." or the destination as
 * given) and the manifest digest. RUSTIMG_EINVALID for an image without
 * layers. Nothing is left behind on failure.
 */
RUSTIMG_EXTERN(int) rustimg_image_write(rustimg_transfer_result **out, const rustimg_image *img,
                                        const char *destination, const struct rustimg_registry_options *opts,
                                        rustimg_error **err);
/** Frees `img`; NULL is a no-op. */
RUSTIMG_EXTERN(void) rustimg_image_free(rustimg_image *img);

/**
 * An index over the `n` images (in this order; each must have another
 * platform, all one format), with `annotations_json` (an object of strings,
 * NULL for none).
 */
RUSTIMG_EXTERN(int) rustimg_index_new(rustimg_index **out, const rustimg_image *const *images, size_t n,
                                      const char *annotations_json, rustimg_error **err);
/** Digest of the index document. */
RUSTIMG_EXTERN(const char *) rustimg_index_digest(const rustimg_index *idx);
/** The index document. */
RUSTIMG_EXTERN(const char *) rustimg_index_json(const rustimg_index *idx);
/** As rustimg_image_write(), for the index and every image (not docker-archive). */
RUSTIMG_EXTERN(int) rustimg_index_write(rustimg_transfer_result **out, const rustimg_index *idx,
                                        const char *destination, const struct rustimg_registry_options *opts,
                                        rustimg_error **err);
/** Frees `idx`; NULL is a no-op. */
RUSTIMG_EXTERN(void) rustimg_index_free(rustimg_index *idx);

#ifdef __cplusplus
}
#endif

#endif /* RUSTIMG_H */
