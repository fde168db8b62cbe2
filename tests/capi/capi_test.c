/* Tests of the C ABI from plain C99: error objects, verification, spec
 * loading, options versioning and NULL handling. argv[1]: source dir. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rustimg.h"

static int failures = 0;
static int checks = 0;

#define CHECK(cond)                                                     \
  do {                                                                  \
    ++checks;                                                           \
    if (!(cond)) {                                                      \
      ++failures;                                                       \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                   \
  } while (0)

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
  printf("%d passed, %d failed\n", checks - failures, failures);
  return failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
