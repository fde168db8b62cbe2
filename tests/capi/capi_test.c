/* Tests of the C ABI from plain C99: error objects, verification, spec
 * loading, options versioning and NULL handling. argv[1]: source dir. */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "rustimg.h"

CHECK_COUNTERS;

static int contains(const char *haystack, const char *needle) {
  return haystack != NULL && strstr(haystack, needle) != NULL;
}

static void test_free_null_is_noop(void) {
  rustimg_error_free(NULL);
  rustimg_elf_report_free(NULL);
  rustimg_spec_free(NULL);
  CHECK(rustimg_error_code(NULL) == RUSTIMG_OK);
}

static void test_version(void) {
  const char *v = rustimg_version();
  CHECK(v != NULL && strchr(v, '.') != NULL);
}

static void test_verify_missing_file(void) {
  rustimg_elf_report *report = NULL;
  rustimg_error *err = NULL;
  int rc = rustimg_verify_file(&report, "/nonexistent/rustimg-app", NULL, &err);
  CHECK(rc == RUSTIMG_ENOTFOUND);
  CHECK(report == NULL);
  CHECK(err != NULL);
  CHECK(rustimg_error_code(err) == RUSTIMG_ENOTFOUND);
  CHECK(strcmp(rustimg_error_class(err), "not_found") == 0);
  CHECK(contains(rustimg_error_message(err), "/nonexistent/rustimg-app"));
  rustimg_error_free(err);
  /* err may be NULL: the code alone is returned */
  CHECK(rustimg_verify_file(&report, "/nonexistent/rustimg-app", NULL, NULL) == RUSTIMG_ENOTFOUND);
}

static void test_verify_not_elf(const char *srcdir) {
  char path[4096];
  rustimg_elf_report *report = NULL;
  rustimg_error *err = NULL;
  snprintf(path, sizeof path, "%s/README.md", srcdir);
  CHECK(rustimg_verify_file(&report, path, NULL, &err) == RUSTIMG_EELF);
  CHECK(contains(rustimg_error_message(err), "README.md"));
  rustimg_error_free(err);

  err = NULL;
  CHECK(rustimg_verify_buffer(&report, "\x7f" "ELF", 4, NULL, &err) == RUSTIMG_EELF);
  CHECK(err != NULL && strlen(rustimg_error_message(err)) > 0);
  rustimg_error_free(err);

  err = NULL;
  CHECK(rustimg_verify_buffer(&report, NULL, 10, NULL, &err) == RUSTIMG_EINVALID);
  rustimg_error_free(err);
}

static void test_verify_dynamic_system_binary(void) {
  rustimg_elf_report *report = NULL;
  rustimg_error *err = NULL;
  int rc = rustimg_verify_file(&report, "/bin/ls", NULL, &err);
  CHECK(rc == RUSTIMG_OK);
  CHECK(err == NULL);
  if (report == NULL) return;
  CHECK(rustimg_elf_report_fit(report) == 0);
  CHECK(strcmp(rustimg_elf_report_linkage(report), "dynamic") == 0);
  CHECK(strcmp(rustimg_elf_report_architecture(report), "amd64") == 0);
  CHECK(rustimg_elf_report_problem_count(report) >= 1);
  CHECK(rustimg_elf_report_problem(report, 0) != NULL);
  CHECK(rustimg_elf_report_problem(report, 1000) == NULL);
  CHECK(contains(rustimg_elf_report_json(report), "\"linkage\":\"dynamic\""));
  rustimg_elf_report_free(report);

  /* a platform mismatch is reported as a problem, a bad platform as an error */
  report = NULL;
  CHECK(rustimg_verify_file(&report, "/bin/ls", "linux/arm64", &err) == RUSTIMG_OK);
  if (report != NULL) {
    size_t i, n = rustimg_elf_report_problem_count(report);
    int found = 0;
    for (i = 0; i < n; ++i) found |= contains(rustimg_elf_report_problem(report, i), "arm64");
    CHECK(found);
  }
  rustimg_elf_report_free(report);
  report = NULL;
  CHECK(rustimg_verify_file(&report, "/bin/ls", "linux/pdp11", &err) == RUSTIMG_EINVALID);
  CHECK(contains(rustimg_error_message(err), "pdp11"));
  rustimg_error_free(err);
}

static void test_spec_errors_carry_details(void) {
  rustimg_spec_load_options opts;
  rustimg_spec *spec = NULL;
  rustimg_error *err = NULL;
  CHECK(rustimg_spec_load_options_init(&opts, RUSTIMG_SPEC_LOAD_OPTIONS_VERSION) == RUSTIMG_OK);
  opts.use_cargo_metadata = 0;
  opts.overrides_json = "{\"env\": {\"PORT\": 8080}, \"enviroment\": {}}";
  CHECK(rustimg_spec_load(&spec, &opts, &err) == RUSTIMG_ESPEC);
  CHECK(spec == NULL);
  CHECK(strcmp(rustimg_error_class(err), "spec") == 0);
  CHECK(rustimg_error_detail_count(err) == 2);
  CHECK(contains(rustimg_error_message(err), "$.env.PORT: expected a string, got a number"));
  CHECK(rustimg_error_detail(err, 5) == NULL);
  rustimg_error_free(err);
}

static void test_spec_load_ok(void) {
  rustimg_spec_load_options opts = RUSTIMG_SPEC_LOAD_OPTIONS_INIT;
  rustimg_spec *spec = NULL;
  rustimg_error *err = NULL;
  opts.use_cargo_metadata = 0;
  opts.overrides_json = "{\"platforms\": [\"linux/arm64\"], \"env\": {\"RUST_LOG\": \"info\"}}";
  CHECK(rustimg_spec_load(&spec, &opts, &err) == RUSTIMG_OK);
  CHECK(err == NULL);
  CHECK(contains(rustimg_spec_json(spec), "linux/arm64"));
  CHECK(contains(rustimg_spec_json(spec), "RUST_LOG"));
  rustimg_spec_free(spec);
}

static void test_options_versioning(void) {
  rustimg_spec_load_options opts = RUSTIMG_SPEC_LOAD_OPTIONS_INIT;
  rustimg_spec *spec = NULL;
  rustimg_error *err = NULL;
  CHECK(rustimg_spec_load_options_init(&opts, 0) == RUSTIMG_EINVALID);
  CHECK(rustimg_spec_load_options_init(&opts, RUSTIMG_SPEC_LOAD_OPTIONS_VERSION + 1) == RUSTIMG_EINVALID);
  opts.version = 99;
  CHECK(rustimg_spec_load(&spec, &opts, &err) == RUSTIMG_EINVALID);
  CHECK(contains(rustimg_error_message(err), "version 99"));
  rustimg_error_free(err);
  err = NULL;
  CHECK(rustimg_spec_load(NULL, NULL, &err) == RUSTIMG_EINVALID);
  rustimg_error_free(err);
}

static char workdir[] = "/tmp/rustimg-capi-XXXXXX";

static int path_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

static void test_build_options(void) {
  rustimg_build_options opts = RUSTIMG_BUILD_OPTIONS_INIT;
  rustimg_build_result *result = NULL;
  rustimg_error *err = NULL;
  CHECK(opts.source_date_epoch < 0);
  CHECK(rustimg_build_options_init(&opts, RUSTIMG_BUILD_OPTIONS_VERSION + 1) == RUSTIMG_EINVALID);
  CHECK(rustimg_build_options_init(&opts, RUSTIMG_BUILD_OPTIONS_VERSION) == RUSTIMG_OK);
  opts.output = "oci:/nonexistent-dir/x";
  CHECK(rustimg_build(&result, &opts, &err) == RUSTIMG_EINVALID); /* neither crate nor binary */
  CHECK(contains(rustimg_error_message(err), "exactly one of crate_dir"));
  rustimg_error_free(err);
  err = NULL;
  opts.version = 7;
  CHECK(rustimg_build(&result, &opts, &err) == RUSTIMG_EINVALID);
  rustimg_error_free(err);
  CHECK(rustimg_build(&result, NULL, NULL) == RUSTIMG_EINVALID);
}

static int progress_events = 0;
static int count_progress(const rustimg_progress_event *event, void *payload) {
  (void)payload;
  if (event->version == RUSTIMG_PROGRESS_EVENT_VERSION && event->stage != NULL && event->message != NULL)
    ++progress_events;
  return 0;
}
static int cancel_at_once(const rustimg_progress_event *event, void *payload) {
  (void)event;
  ++*(int *)payload;
  return 1;
}

static void test_build_prebuilt_binary(void) {
  char out[256], output[300];
  rustimg_build_options opts = RUSTIMG_BUILD_OPTIONS_INIT;
  rustimg_build_result *result = NULL;
  rustimg_error *err = NULL;
  int calls = 0;
  rustimg_cancel_token *token = NULL;

  snprintf(out, sizeof out, "%s/layout", workdir);
  snprintf(output, sizeof output, "oci:%s:v1", out);
  opts.binary = "/bin/ls";
  opts.output = output;
  opts.source_date_epoch = 0;
  opts.overrides_json = "{\"base\": \"scratch\"}";

  /* a dynamic binary is refused on scratch, with a message saying why */
  CHECK(rustimg_build(&result, &opts, &err) == RUSTIMG_EVERIFY);
  CHECK(contains(rustimg_error_message(err), "/bin/ls"));
  rustimg_error_free(err);
  err = NULL;
  CHECK(!path_exists(out));

  /* a progress callback that returns non-zero cancels; nothing is written */
  opts.allow_dynamic = 1;
  opts.progress = cancel_at_once;
  opts.progress_payload = &calls;
  CHECK(rustimg_build(&result, &opts, &err) == RUSTIMG_ECANCELLED);
  CHECK(calls == 1);
  CHECK(!path_exists(out));
  rustimg_error_free(err);
  err = NULL;

  /* so does a raised cancel token */
  CHECK(rustimg_cancel_token_new(&token, NULL) == RUSTIMG_OK);
  rustimg_cancel_token_cancel(token);
  CHECK(rustimg_cancel_token_is_cancelled(token) == 1);
  opts.progress = count_progress;
  opts.progress_payload = NULL;
  opts.cancel = token;
  CHECK(rustimg_build(&result, &opts, &err) == RUSTIMG_ECANCELLED);
  rustimg_error_free(err);
  err = NULL;
  CHECK(!path_exists(out));

  /* allowed explicitly, it builds */
  opts.cancel = NULL;
  progress_events = 0;
  CHECK(rustimg_build(&result, &opts, &err) == RUSTIMG_OK);
  CHECK(err == NULL);
  if (result != NULL) {
    CHECK(strncmp(rustimg_build_result_digest(result), "sha256:", 7) == 0);
    CHECK(strlen(rustimg_build_result_digest(result)) == 71);
    CHECK(contains(rustimg_build_result_json(result), "\"linkage\":\"dynamic\""));
  }
  CHECK(progress_events > 0);
  CHECK(path_exists(out));
  rustimg_build_result_free(result);
  rustimg_cancel_token_free(token);
}

/* Version 3 added sign_key, sign_key_password_env and base_key: NULL by
 * default; init for version 2 writes nothing past `registry`, and a version
 * 2 struct whose tail holds garbage builds (the tail is never read). */
static void test_build_options_v3(void) {
  rustimg_build_options opts = RUSTIMG_BUILD_OPTIONS_INIT, v2;
  rustimg_build_result *result = NULL;
  rustimg_error *err = NULL;
  char out[256], output[300];
  const unsigned char *tail;
  size_t i;
  CHECK(RUSTIMG_BUILD_OPTIONS_VERSION == 3 && opts.version == 3);
  CHECK(opts.sign_key == NULL && opts.sign_key_password_env == NULL && opts.base_key == NULL);
  memset(&opts, 0xab, sizeof opts);
  CHECK(rustimg_build_options_init(&opts, 3) == RUSTIMG_OK);
  CHECK(opts.version == 3 && opts.registry == NULL && opts.source_date_epoch == -1);
  CHECK(opts.sign_key == NULL && opts.sign_key_password_env == NULL && opts.base_key == NULL);

  memset(&v2, 0xab, sizeof v2);
  CHECK(rustimg_build_options_init(&v2, 2) == RUSTIMG_OK);
  CHECK(v2.version == 2 && v2.registry == NULL && v2.cancel == NULL);
  tail = (const unsigned char *)&v2.sign_key;
  for (i = 0; i < sizeof v2 - offsetof(rustimg_build_options, sign_key); ++i) CHECK(tail[i] == 0xab);

  snprintf(out, sizeof out, "%s/v2-layout", workdir);
  snprintf(output, sizeof output, "oci:%s:v1", out);
  v2.binary = "/bin/ls";
  v2.allow_dynamic = 1;
  v2.overrides_json = "{\"base\": \"scratch\"}";
  v2.output = output;
  CHECK(rustimg_build(&result, &v2, &err) == RUSTIMG_OK);
  if (err != NULL) fprintf(stderr, "version 2 build: %s\n", rustimg_error_message(err));
  CHECK(path_exists(out));
  CHECK(result != NULL && !contains(rustimg_build_result_json(result), "\"signed\""));
  rustimg_build_result_free(result);
  rustimg_error_free(err);
}

/* Runs `command` with the shell; 1 when it succeeded. */
static int run(const char *command) {
  int rc = system(command);
  if (rc != 0) fprintf(stderr, "failed (%d): %s\n", rc, command);
  return rc == 0;
}

/* Options (current version) to build /bin/ls, dynamically linked, on
 * scratch into `output`. */
static void ls_on_scratch(rustimg_build_options *opts, const char *output) {
  CHECK(rustimg_build_options_init(opts, RUSTIMG_BUILD_OPTIONS_VERSION) == RUSTIMG_OK);
  opts->binary = "/bin/ls";
  opts->allow_dynamic = 1;
  opts->overrides_json = "{\"base\": \"scratch\"}";
  opts->output = output;
}

/* sign_key is read before anything is built, and signs only what is pushed. */
static void test_build_sign_key_errors(void) {
  char out[256], output[300], key[256], missing[256], cmd[1024];
  rustimg_build_options opts;
  rustimg_build_result *result = NULL;
  rustimg_error *err = NULL;
  const char *secret = "capi-build-key-pw-do-not-leak";

  snprintf(key, sizeof key, "%s/sign.pem", workdir);
  snprintf(missing, sizeof missing, "%s/missing.pem", workdir);
  snprintf(cmd, sizeof cmd,
           "CAPI_KEY_PW='%s' openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -aes-256-cbc "
           "-pass env:CAPI_KEY_PW -out '%s' 2>/dev/null",
           secret, key);
  CHECK(run(cmd));
  snprintf(out, sizeof out, "%s/signed-layout", workdir);
  snprintf(output, sizeof output, "oci:%s:v1", out);
  ls_on_scratch(&opts, output);
  opts.progress = count_progress;
  opts.sign_key = key;
  opts.sign_key_password_env = "CAPI_KEY_PW";
  setenv("CAPI_KEY_PW", secret, 1);

  /* a file output pushes nothing: refused before any step of the build */
  progress_events = 0;
  CHECK(rustimg_build(&result, &opts, &err) == RUSTIMG_EINVALID);
  CHECK(contains(rustimg_error_message(err), "signs what is pushed"));
  CHECK(!contains(rustimg_error_message(err), secret));
  CHECK(result == NULL && progress_events == 0 && !path_exists(out));
  rustimg_error_free(err);
  err = NULL;

  /* a missing key file: named */
  opts.sign_key = missing;
  CHECK(rustimg_build(&result, &opts, &err) == RUSTIMG_ENOTFOUND);
  CHECK(contains(rustimg_error_message(err), "missing.pem"));
  rustimg_error_free(err);
  err = NULL;

  /* a PEM file that is no private key: named */
  snprintf(missing, sizeof missing, "%s/not-a-key.pem", workdir);
  snprintf(cmd, sizeof cmd, "echo 'not a key' > '%s'", missing);
  CHECK(run(cmd));
  opts.sign_key = missing;
  CHECK(rustimg_build(&result, &opts, &err) == RUSTIMG_EINVALID);
  CHECK(contains(rustimg_error_message(err), "not-a-key.pem"));
  rustimg_error_free(err);
  err = NULL;

  /* the passphrase's variable unset, or holding a wrong passphrase: named, never the passphrase */
  opts.sign_key = key;
  opts.sign_key_password_env = "CAPI_KEY_PW_UNSET";
  unsetenv("CAPI_KEY_PW_UNSET");
  CHECK(rustimg_build(&result, &opts, &err) == RUSTIMG_EINVALID);
  CHECK(contains(rustimg_error_message(err), "CAPI_KEY_PW_UNSET"));
  rustimg_error_free(err);
  err = NULL;
  setenv("CAPI_KEY_PW_WRONG", "wrong-secret-do-not-leak", 1);
  opts.sign_key_password_env = "CAPI_KEY_PW_WRONG";
  progress_events = 0;
  CHECK(rustimg_build(&result, &opts, &err) == RUSTIMG_EINVALID);
  CHECK(contains(rustimg_error_message(err), "sign.pem"));
  CHECK(!contains(rustimg_error_message(err), "wrong-secret-do-not-leak") && !contains(rustimg_error_message(err), secret));
  CHECK(progress_events == 0 && !path_exists(out));
  rustimg_error_free(err);
  err = NULL;

  /* NULL sign_key_password_env: COSIGN_PASSWORD */
  unsetenv("COSIGN_PASSWORD");
  opts.sign_key_password_env = NULL;
  CHECK(rustimg_build(&result, &opts, &err) == RUSTIMG_EINVALID);
  CHECK(contains(rustimg_error_message(err), "COSIGN_PASSWORD"));
  rustimg_error_free(err);
  err = NULL;
  CHECK(!path_exists(out));
}

/* base_key reaches the core: it checks image bases, and scratch is none. */
static void test_build_base_key_on_builtin_base(void) {
  char out[256], output[300];
  rustimg_build_options opts;
  rustimg_build_result *result = NULL;
  rustimg_error *err = NULL;
  snprintf(out, sizeof out, "%s/base-key-layout", workdir);
  snprintf(output, sizeof output, "oci:%s:v1", out);
  ls_on_scratch(&opts, output);
  opts.base_key = "/nonexistent/cosign.pub";
  CHECK(rustimg_build(&result, &opts, &err) == RUSTIMG_EINVALID);
  CHECK(contains(rustimg_error_message(err), "is built into rustimg"));
  CHECK(result == NULL && !path_exists(out));
  rustimg_error_free(err);
}

int main(int argc, char **argv) {
  const char *srcdir = argc > 1 ? argv[1] : ".";
  test_free_null_is_noop();
  test_version();
  test_verify_missing_file();
  test_verify_not_elf(srcdir);
  test_verify_dynamic_system_binary();
  test_spec_errors_carry_details();
  test_spec_load_ok();
  test_options_versioning();
  if (mkdtemp(workdir) == NULL) {
    perror("mkdtemp");
    return EXIT_FAILURE;
  }
  test_build_options();
  test_build_prebuilt_binary();
  test_build_options_v3();
  test_build_sign_key_errors();
  test_build_base_key_on_builtin_base();
  {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", workdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", workdir);
  }
  printf("%d passed, %d failed\n", checks - failures, failures);
  return failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
