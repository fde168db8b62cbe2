/* The C API against a real registry with htpasswd auth: push and pull, the
 * credentials callback, registry errors with their HTTP status, and a build
 * on a base image from that registry with the build's registry options.
 * argv: REGISTRY_HOST (127.0.0.1:PORT), LAYOUT_DIR (an image to push), WORK_DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "rustimg.h"

CHECK_COUNTERS;

struct creds_state {
  const char *password; /* NULL: answer "not mine" (fall through) */
  int calls;
  char registry[256];
};

static int give_credentials(const char *registry, rustimg_credentials *out, void *payload) {
  struct creds_state *st = (struct creds_state *)payload;
  ++st->calls;
  snprintf(st->registry, sizeof st->registry, "%s", registry);
  if (st->password == NULL) return 1;
  rustimg_credentials_set(out, "testuser", st->password);
  return 0;
}

/* Builds /bin/ls on the base image `base` into WORK/based; returns the status. */
static int build_on(const char *base, const char *work, const rustimg_registry_options *registry, rustimg_error **err) {
  char overrides[600], output[512];
  rustimg_build_options b;
  rustimg_build_result *built = NULL;
  int rc;
  snprintf(overrides, sizeof overrides, "{\"base\": \"%s\"}", base);
  snprintf(output, sizeof output, "oci:%s/based:v1", work);
  CHECK(rustimg_build_options_init(&b, RUSTIMG_BUILD_OPTIONS_VERSION) == RUSTIMG_OK);
  b.binary = "/bin/ls";
  b.allow_dynamic = 1;
  b.overrides_json = overrides;
  b.output = output;
  b.registry = registry;
  rc = rustimg_build(&built, &b, err);
  if (rc == RUSTIMG_OK) CHECK(strncmp(rustimg_build_result_digest(built), "sha256:", 7) == 0);
  rustimg_build_result_free(built);
  return rc;
}

/* Pushes `source` to `target`, then builds on `target` as the base (in
 * WORK), both with `registry`: each must return `want` (with HTTP 401 when
 * it is RUSTIMG_EAUTH). */
static void push_and_build(const char *source, const char *target, const char *work,
                           const rustimg_registry_options *registry, int want) {
  rustimg_transfer_result *result = NULL;
  rustimg_error *err = NULL;
  CHECK(rustimg_push(&result, source, target, registry, &err) == want);
  if (want == RUSTIMG_EAUTH) CHECK(rustimg_error_http_status(err) == 401);
  rustimg_transfer_result_free(result);
  rustimg_error_free(err);
  err = NULL;
  CHECK(build_on(target, work, registry, &err) == want);
  rustimg_error_free(err);
}

/* An image for `platform` holding one small layer; NULL on failure. */
static rustimg_image *small_image(const char *platform) {
  rustimg_layer_builder *b = NULL;
  rustimg_layer *layer = NULL;
  rustimg_image *scratch = NULL, *img = NULL;
  CHECK(rustimg_layer_builder_new(&b, NULL) == RUSTIMG_OK);
  CHECK(rustimg_layer_builder_add_bytes(b, "/etc/platform", platform, strlen(platform), 0644, 0, 0, NULL) ==
        RUSTIMG_OK);
  CHECK(rustimg_layer_builder_build(&layer, b, NULL, NULL) == RUSTIMG_OK);
  CHECK(rustimg_image_scratch(&scratch, platform, NULL) == RUSTIMG_OK);
  CHECK(rustimg_image_append(&img, scratch, layer, "small", NULL) == RUSTIMG_OK);
  rustimg_image_free(scratch);
  rustimg_layer_free(layer);
  rustimg_layer_builder_free(b);
  return img;
}

/* Writes `img` (or, with `idx`, the index) to docker://REF and pulls REF
 * back with `platform` (NULL: none): `*rc` is the pull's status, `digest`
 * the pulled image's digest (or the error message when it failed) and
 * `platform_out` its platform ("" when it failed). */
static void write_and_pull(const rustimg_image *img, const rustimg_index *idx, const char *ref, const char *platform,
                           const rustimg_registry_options *opts, int *rc, char *digest, size_t digest_size,
                           char *platform_out, size_t platform_size) {
  char dest[600];
  rustimg_transfer_result *written = NULL;
  rustimg_image *pulled = NULL;
  rustimg_error *err = NULL;
  CHECK(snprintf(dest, sizeof dest, "docker://%s", ref) < (int)sizeof dest);
  if (idx != NULL)
    CHECK(rustimg_index_write(&written, idx, dest, opts, &err) == RUSTIMG_OK);
  else
    CHECK(rustimg_image_write(&written, img, dest, opts, &err) == RUSTIMG_OK);
  if (err != NULL) fprintf(stderr, "write %s: %s\n", dest, rustimg_error_message(err));
  rustimg_error_free(err);
  err = NULL;
  rustimg_transfer_result_free(written);
  *rc = rustimg_image_pull(&pulled, ref, platform, opts, &err);
  if (*rc != RUSTIMG_OK) CHECK(pulled == NULL);
  snprintf(digest, digest_size, "%s", *rc == RUSTIMG_OK ? rustimg_image_digest(pulled) : "");
  snprintf(platform_out, platform_size, "%s", *rc == RUSTIMG_OK ? rustimg_image_platform(pulled) : "");
  if (*rc != RUSTIMG_OK) snprintf(digest, digest_size, "%s", rustimg_error_message(err));
  rustimg_image_free(pulled);
  rustimg_error_free(err);
}

/* rustimg_image_pull with a NULL platform: a single image whatever its
 * platform; from an index, its linux/amd64 image (RUSTIMG_ENOTFOUND
 * without one). */
static void test_pull_without_platform(const char *host, const rustimg_registry_options *opts) {
  rustimg_image *amd = small_image("linux/amd64"), *arm = small_image("linux/arm64"),
                *s390 = small_image("linux/s390x");
  const rustimg_image *both[2], *no_amd[2];
  rustimg_index *multi = NULL, *other = NULL;
  char ref[300], digest[600], platform[64];
  int rc = 0;
  both[0] = arm; /* amd64 not first: picked by platform, not position */
  both[1] = amd;
  no_amd[0] = arm;
  no_amd[1] = s390;
  CHECK(rustimg_index_new(&multi, both, 2, NULL, NULL) == RUSTIMG_OK);
  CHECK(rustimg_index_new(&other, no_amd, 2, NULL, NULL) == RUSTIMG_OK);

  snprintf(ref, sizeof ref, "%s/capi/arm-only:v1", host);
  write_and_pull(arm, NULL, ref, NULL, opts, &rc, digest, sizeof digest, platform, sizeof platform);
  CHECK(rc == RUSTIMG_OK && strcmp(digest, rustimg_image_digest(arm)) == 0 && strcmp(platform, "linux/arm64") == 0);

  snprintf(ref, sizeof ref, "%s/capi/multi:v1", host);
  write_and_pull(NULL, multi, ref, NULL, opts, &rc, digest, sizeof digest, platform, sizeof platform);
  CHECK(rc == RUSTIMG_OK && strcmp(digest, rustimg_image_digest(amd)) == 0 && strcmp(platform, "linux/amd64") == 0);
  write_and_pull(NULL, multi, ref, "linux/arm64", opts, &rc, digest, sizeof digest, platform, sizeof platform);
  CHECK(rc == RUSTIMG_OK && strcmp(digest, rustimg_image_digest(arm)) == 0);

  snprintf(ref, sizeof ref, "%s/capi/no-amd64:v1", host);
  write_and_pull(NULL, other, ref, NULL, opts, &rc, digest, sizeof digest, platform, sizeof platform);
  CHECK(rc == RUSTIMG_ENOTFOUND && strstr(digest, "linux/amd64") != NULL);
  if (rc != RUSTIMG_ENOTFOUND) fprintf(stderr, "pull of an index without linux/amd64: %d %s\n", rc, digest);

  rustimg_index_free(other);
  rustimg_index_free(multi);
  rustimg_image_free(s390);
  rustimg_image_free(arm);
  rustimg_image_free(amd);
}

/* rustimg_sign / rustimg_verify_image against the registry: keys made by
 * run_registry_test.sh with openssl (WORKDIR/sign.pem, encrypted with the
 * passphrase in $RUSTIMG_TEST_KEY_PW; sign.pub; other.pub). cosign's side
 * is tests/integration/test_cosign_compat.py. */
static void expect_error(int rc, int want, rustimg_error **err, const char *needle) {
  CHECK(rc == want);
  CHECK(*err != NULL && strstr(rustimg_error_message(*err), needle) != NULL);
  if (*err != NULL && strstr(rustimg_error_message(*err), needle) == NULL)
    fprintf(stderr, "expected \"%s\" in: %s\n", needle, rustimg_error_message(*err));
  rustimg_error_free(*err);
  *err = NULL;
}

static void test_sign_and_verify(const char *target, const char *work, const rustimg_registry_options *opts) {
  char key[600], pub[600], other[600];
  rustimg_signatures *sigs = NULL;
  rustimg_error *err = NULL;
  const char *passphrase = getenv("RUSTIMG_TEST_KEY_PW");
  snprintf(key, sizeof key, "%s/sign.pem", work);
  snprintf(pub, sizeof pub, "%s/sign.pub", work);
  snprintf(other, sizeof other, "%s/other.pub", work);
  CHECK(passphrase != NULL);

  expect_error(rustimg_verify_image(&sigs, target, pub, NULL, opts, &err), RUSTIMG_EVERIFY, &err, "has no signatures");
  CHECK(sigs == NULL);
  /* the passphrase's variable unset: named, and the key file too */
  expect_error(rustimg_sign(&sigs, target, key, "RUSTIMG_TEST_UNSET_PW", opts, &err), RUSTIMG_EINVALID, &err,
               "RUSTIMG_TEST_UNSET_PW");
  expect_error(rustimg_sign(&sigs, target, NULL, NULL, opts, &err), RUSTIMG_EINVALID, &err, "key_file");

  CHECK(rustimg_sign(&sigs, target, key, "RUSTIMG_TEST_KEY_PW", opts, &err) == RUSTIMG_OK);
  if (err != NULL) fprintf(stderr, "sign: %s\n", rustimg_error_message(err));
  CHECK(sigs != NULL && strstr(rustimg_signatures_json(sigs), "\"digest\":\"sha256:") != NULL);
  CHECK(sigs != NULL && strstr(rustimg_signatures_json(sigs), passphrase) == NULL);
  rustimg_signatures_free(sigs);
  sigs = NULL;

  CHECK(rustimg_verify_image(&sigs, target, pub, NULL, opts, &err) == RUSTIMG_OK);
  if (err != NULL) fprintf(stderr, "verify: %s\n", rustimg_error_message(err));
  CHECK(sigs != NULL && strstr(rustimg_signatures_json(sigs), ".sig@sha256:") != NULL);
  rustimg_signatures_free(sigs);
  sigs = NULL;

  expect_error(rustimg_verify_image(&sigs, target, other, NULL, opts, &err), RUSTIMG_EVERIFY, &err, "does not verify");
  expect_error(rustimg_verify_image(&sigs, target, pub, "slsaprovenance1", opts, &err), RUSTIMG_EVERIFY, &err,
               "has no attestations");
  expect_error(rustimg_verify_image(&sigs, target, pub, "slsaprovenanse1", opts, &err), RUSTIMG_EINVALID, &err,
               "did you mean \"slsaprovenance1\"");
  CHECK(sigs == NULL);
  CHECK(strcmp(rustimg_signatures_json(NULL), "[]") == 0);
}

/* rustimg_build with sign_key (version 3) to a docker:// output: the pushed
 * image is signed and its SBOM attested, rustimg_verify_image accepts both,
 * and the result JSON lists them. The reference is written to
 * WORK/signed-ref for run_registry_test.sh's `cosign verify`. */
static void test_build_signed(const char *host, const char *work, const rustimg_registry_options *opts) {
  char key[600], pub[600], ref[600], output[700], refs[700], path[700];
  rustimg_build_options b;
  rustimg_build_result *built = NULL;
  rustimg_signatures *sigs = NULL;
  rustimg_error *err = NULL;
  const char *json, *passphrase = getenv("RUSTIMG_TEST_KEY_PW");
  FILE *f;
  snprintf(key, sizeof key, "%s/sign.pem", work);
  snprintf(pub, sizeof pub, "%s/sign.pub", work);
  snprintf(ref, sizeof ref, "%s/capi/built-signed:v1", host);
  snprintf(output, sizeof output, "docker://%s", ref);
  CHECK(rustimg_build_options_init(&b, RUSTIMG_BUILD_OPTIONS_VERSION) == RUSTIMG_OK);
  b.binary = "/bin/ls";
  b.allow_dynamic = 1;
  b.overrides_json = "{\"base\": \"scratch\"}";
  b.output = output;
  b.registry = opts;
  b.sign_key = key;
  b.sign_key_password_env = "RUSTIMG_TEST_KEY_PW";
  CHECK(rustimg_build(&built, &b, &err) == RUSTIMG_OK);
  if (err != NULL) fprintf(stderr, "signed build: %s\n", rustimg_error_message(err));
  rustimg_error_free(err);
  err = NULL;
  if (built == NULL) return;
  json = rustimg_build_result_json(built);
  snprintf(refs, sizeof refs, "\"references\":[\"%s@%s\"]", ref, rustimg_build_result_digest(built));
  CHECK(strstr(json, refs) != NULL);
  CHECK(strstr(json, "\"pushed\":[{") != NULL);
  CHECK(strstr(json, "\"signed\":[{\"digest\":\"") != NULL);
  CHECK(strstr(json, "\"predicate_type\":\"https://spdx.dev/Document\"") != NULL);
  CHECK(passphrase != NULL && strstr(json, passphrase) == NULL);
  if (strstr(json, "\"signed\"") == NULL || strstr(json, refs) == NULL) fprintf(stderr, "build result: %s\n", json);

  CHECK(rustimg_verify_image(&sigs, ref, pub, NULL, opts, &err) == RUSTIMG_OK);
  if (err != NULL) fprintf(stderr, "verify %s: %s\n", ref, rustimg_error_message(err));
  CHECK(sigs != NULL && strstr(rustimg_signatures_json(sigs), rustimg_build_result_digest(built)) != NULL);
  rustimg_signatures_free(sigs);
  sigs = NULL;
  rustimg_error_free(err);
  err = NULL;
  CHECK(rustimg_verify_image(&sigs, ref, pub, "spdxjson", opts, &err) == RUSTIMG_OK);
  if (err != NULL) fprintf(stderr, "verify-attestation %s: %s\n", ref, rustimg_error_message(err));
  rustimg_signatures_free(sigs);
  rustimg_error_free(err);
  rustimg_build_result_free(built);

  snprintf(path, sizeof path, "%s/signed-ref", work);
  f = fopen(path, "w");
  CHECK(f != NULL);
  if (f != NULL) {
    fprintf(f, "%s\n", ref);
    fclose(f);
  }
}

/* rustimg_build with base_key (version 3): a base signed by the key is
 * built on; an unsigned base, or one signed by another key, is refused with
 * RUSTIMG_EVERIFY saying why, and nothing is written. `signed_base` was
 * signed with WORK/sign.pem by test_sign_and_verify. */
static void test_build_base_key(const char *signed_base, const char *source, const char *host, const char *work,
                                const rustimg_registry_options *opts) {
  char pub[600], other[600], unsigned_base[600], overrides[700], output[700], layout[650];
  rustimg_build_options b;
  rustimg_build_result *built = NULL;
  rustimg_transfer_result *pushed = NULL;
  rustimg_error *err = NULL;
  snprintf(pub, sizeof pub, "%s/sign.pub", work);
  snprintf(other, sizeof other, "%s/other.pub", work);
  snprintf(unsigned_base, sizeof unsigned_base, "%s/capi/unsigned-base:v1", host);
  snprintf(layout, sizeof layout, "%s/on-signed-base", work);
  snprintf(output, sizeof output, "oci:%s:v1", layout);
  CHECK(rustimg_push(&pushed, source, unsigned_base, opts, &err) == RUSTIMG_OK);
  rustimg_transfer_result_free(pushed);
  rustimg_error_free(err);
  err = NULL;

  CHECK(rustimg_build_options_init(&b, RUSTIMG_BUILD_OPTIONS_VERSION) == RUSTIMG_OK);
  b.binary = "/bin/ls";
  b.allow_dynamic = 1;
  b.overrides_json = overrides;
  b.output = output;
  b.registry = opts;

  b.base_key = pub;
  snprintf(overrides, sizeof overrides, "{\"base\": \"%s\"}", unsigned_base);
  expect_error(rustimg_build(&built, &b, &err), RUSTIMG_EVERIFY, &err, "has no signatures");
  CHECK(built == NULL);
  b.base_key = other;
  snprintf(overrides, sizeof overrides, "{\"base\": \"%s\"}", signed_base);
  expect_error(rustimg_build(&built, &b, &err), RUSTIMG_EVERIFY, &err, "is not signed by");
  CHECK(built == NULL);
  {
    FILE *f = fopen(layout, "r");
    CHECK(f == NULL); /* nothing written */
    if (f != NULL) fclose(f);
  }
  b.base_key = pub;
  CHECK(rustimg_build(&built, &b, &err) == RUSTIMG_OK);
  if (err != NULL) fprintf(stderr, "build on %s with base_key: %s\n", signed_base, rustimg_error_message(err));
  rustimg_error_free(err);
  err = NULL;
  rustimg_build_result_free(built);

  /* An image in an OCI layout is verified there (a layout reference, not
   * refused as a registry reference); rustimg_sign, which cannot name the
   * repository a layout's signature needs, refuses it saying so, and
   * rustimg_sign_image signs and attests it with `identity`. A push carries
   * the signature to the registry, where it verifies. */
  {
    rustimg_signatures *sigs = NULL;
    rustimg_sign_options so;
    char key[600], repo[600], target[700];
    const char *json;
    snprintf(key, sizeof key, "%s/sign.pem", work);
    snprintf(repo, sizeof repo, "%s/capi/layout-signed", host);
    snprintf(target, sizeof target, "%s:v1", repo);
    expect_error(rustimg_verify_image(&sigs, output, pub, NULL, opts, &err), RUSTIMG_EVERIFY, &err,
                 "has no signatures");
    expect_error(rustimg_sign(&sigs, output, key, "RUSTIMG_TEST_KEY_PW", opts, &err), RUSTIMG_EINVALID, &err,
                 "rustimg_sign_image");
    CHECK(rustimg_sign_options_init(&so, RUSTIMG_SIGN_OPTIONS_VERSION) == RUSTIMG_OK);
    CHECK(rustimg_sign_options_init(&so, 99) == RUSTIMG_EINVALID);
    so.key_file = key;
    so.key_password_env = "RUSTIMG_TEST_KEY_PW";
    so.version = 99; /* from a newer header: refused, saying how to initialise */
    expect_error(rustimg_sign_image(&sigs, output, &so, &err), RUSTIMG_EINVALID, &err, "RUSTIMG_SIGN_OPTIONS_INIT");
    so.version = RUSTIMG_SIGN_OPTIONS_VERSION;
    expect_error(rustimg_sign_image(&sigs, output, &so, &err), RUSTIMG_EINVALID, &err, "identity");
    so.identity = repo;
    so.attest = 1;
    CHECK(rustimg_sign_image(&sigs, output, &so, &err) == RUSTIMG_OK);
    if (err != NULL) fprintf(stderr, "sign the layout: %s\n", rustimg_error_message(err));
    rustimg_error_free(err);
    err = NULL;
    json = sigs != NULL ? rustimg_signatures_json(sigs) : "";
    CHECK(strstr(json, "\"signed\":[{") != NULL && strstr(json, repo) != NULL);
    CHECK(strstr(json, "\"predicate_type\":\"https://spdx.dev/Document\"") != NULL);
    CHECK(strstr(json, "\"skipped\":[]") != NULL);
    if (strstr(json, "spdx.dev") == NULL) fprintf(stderr, "rustimg_sign_image: %s\n", json);
    rustimg_signatures_free(sigs);
    sigs = NULL;
    CHECK(rustimg_verify_image(&sigs, output, pub, NULL, opts, &err) == RUSTIMG_OK);
    rustimg_signatures_free(sigs);
    sigs = NULL;
    rustimg_error_free(err);
    err = NULL;

    CHECK(rustimg_push(&pushed, output, target, opts, &err) == RUSTIMG_OK);
    CHECK(pushed != NULL && strstr(rustimg_transfer_result_json(pushed), ".sig@sha256:") != NULL);
    rustimg_transfer_result_free(pushed);
    rustimg_error_free(err);
    err = NULL;
    CHECK(rustimg_verify_image(&sigs, target, pub, NULL, opts, &err) == RUSTIMG_OK);
    if (err != NULL) fprintf(stderr, "verify %s: %s\n", target, rustimg_error_message(err));
    CHECK(sigs != NULL && strstr(rustimg_signatures_json(sigs), repo) != NULL);
    rustimg_signatures_free(sigs);
    rustimg_error_free(err);
    err = NULL;
    CHECK(rustimg_verify_image(&sigs, target, pub, "spdxjson", opts, &err) == RUSTIMG_OK);
    rustimg_signatures_free(sigs);
    rustimg_error_free(err);
    err = NULL;
  }
}

int main(int argc, char **argv) {
  char source[512], target[512], output[512], named[300];
  rustimg_registry_options opts, scoped;
  rustimg_transfer_result *result = NULL;
  rustimg_error *err = NULL;
  struct creds_state st = {NULL, 0, ""};
  rustimg_build_options v1;

  if (argc != 4) {
    fprintf(stderr, "usage: %s HOST LAYOUT WORKDIR\n", argv[0]);
    return 2;
  }
  snprintf(source, sizeof source, "oci:%s", argv[2]);
  snprintf(target, sizeof target, "%s/capi/hello:v1", argv[1]);
  CHECK(rustimg_registry_options_init(&opts, RUSTIMG_REGISTRY_OPTIONS_VERSION) == RUSTIMG_OK);
  opts.use_config_files = 0;
  opts.credentials = give_credentials;
  opts.credentials_payload = &st;

  /* the callback declines: the registry's 401 comes back as an auth error */
  CHECK(rustimg_push(&result, source, target, &opts, &err) == RUSTIMG_EAUTH);
  CHECK(rustimg_error_http_status(err) == 401);
  CHECK(strstr(rustimg_error_message(err), argv[1]) != NULL);
  CHECK(st.calls >= 1 && strcmp(st.registry, argv[1]) == 0);
  rustimg_error_free(err);
  err = NULL;

  /* a wrong password: still an auth error, and the password is not in it */
  st.password = "wrong-secret";
  CHECK(rustimg_push(&result, source, target, &opts, &err) == RUSTIMG_EAUTH);
  CHECK(strstr(rustimg_error_message(err), "wrong-secret") == NULL);
  CHECK(strstr(rustimg_error_message(err), "testuser") != NULL);
  rustimg_error_free(err);
  err = NULL;

  /* the right one: the push succeeds and names the digest */
  st.password = "testpass";
  CHECK(rustimg_push(&result, source, target, &opts, &err) == RUSTIMG_OK);
  if (result != NULL) {
    CHECK(strncmp(rustimg_transfer_result_reference(result), target, strlen(target)) == 0);
    CHECK(strncmp(rustimg_transfer_result_digest(result), "sha256:", 7) == 0);
    CHECK(strstr(rustimg_transfer_result_json(result), "\"blobs_uploaded\"") != NULL);
  }
  rustimg_transfer_result_free(result);
  result = NULL;

  /* pull it back into a layout */
  snprintf(output, sizeof output, "oci:%s/pulled:v1", argv[3]);
  CHECK(rustimg_pull(&result, target, output, "linux/amd64", &opts, &err) == RUSTIMG_OK);
  if (err != NULL) fprintf(stderr, "pull: %s\n", rustimg_error_message(err));
  rustimg_transfer_result_free(result);
  rustimg_error_free(err);
  err = NULL;

  test_pull_without_platform(argv[1], &opts);
  test_sign_and_verify(target, argv[3], &opts);
  test_build_signed(argv[1], argv[3], &opts);
  test_build_base_key(target, source, argv[1], argv[3], &opts);

  /* a build on that image as its base: the build's registry options carry
   * the credentials; without them the pull of the base is refused */
  st.password = NULL;
  st.calls = 0;
  CHECK(build_on(target, argv[3], &opts, &err) == RUSTIMG_EAUTH);
  CHECK(rustimg_error_http_status(err) == 401);
  CHECK(st.calls >= 1);
  rustimg_error_free(err);
  err = NULL;
  st.password = "testpass";
  CHECK(build_on(target, argv[3], &opts, &err) == RUSTIMG_OK);
  if (err != NULL) fprintf(stderr, "build on %s: %s\n", target, rustimg_error_message(err));
  rustimg_error_free(err);
  err = NULL;

  /* explicit credentials are for one registry (version 2: credentials_registry) */
  CHECK(rustimg_registry_options_init(&scoped, RUSTIMG_REGISTRY_OPTIONS_VERSION) == RUSTIMG_OK);
  CHECK(scoped.credentials_registry == NULL);
  scoped.use_config_files = 0;
  scoped.username = "testuser";
  scoped.password = "testpass";
  /* for another host: not sent here, by a push or by a build's base pull */
  scoped.credentials_registry = "other.example:5000";
  push_and_build(source, target, argv[3], &scoped, RUSTIMG_EAUTH);
  /* for this host, spelled with a scheme: sent */
  snprintf(named, sizeof named, "http://%s/", argv[1]);
  scoped.credentials_registry = named;
  push_and_build(source, target, argv[3], &scoped, RUSTIMG_OK);
  /* NULL: the registry the call is about (the push target, the build's base) */
  scoped.credentials_registry = NULL;
  push_and_build(source, target, argv[3], &scoped, RUSTIMG_OK);
  /* not a registry host, or a host without credentials: a clear error */
  scoped.credentials_registry = "*";
  CHECK(rustimg_push(&result, source, target, &scoped, &err) == RUSTIMG_EINVALID);
  CHECK(strstr(rustimg_error_message(err), "credentials_registry") != NULL);
  rustimg_error_free(err);
  err = NULL;
  scoped.credentials_registry = argv[1];
  scoped.username = NULL;
  scoped.password = NULL;
  CHECK(rustimg_push(&result, source, target, &scoped, &err) == RUSTIMG_EINVALID);
  CHECK(strstr(rustimg_error_message(err), "username") != NULL);
  rustimg_error_free(err);
  err = NULL;

  /* version 1 registry options end before credentials_registry: init writes
   * nothing past them, and their credentials are for the call's registry */
  memset(&scoped, 0xab, sizeof scoped);
  CHECK(rustimg_registry_options_init(&scoped, 1) == RUSTIMG_OK);
  CHECK(scoped.version == 1 && scoped.use_config_files == 1 && scoped.cancel == NULL);
  {
    const unsigned char *tail = (const unsigned char *)&scoped.credentials_registry;
    size_t i;
    for (i = 0; i < sizeof scoped.credentials_registry; ++i) CHECK(tail[i] == 0xab);
  }
  scoped.use_config_files = 0;
  scoped.username = "testuser";
  scoped.password = "testpass";
  push_and_build(source, target, argv[3], &scoped, RUSTIMG_OK);

  /* version 1 options end before `registry`: init writes nothing past them */
  memset(&v1, 0xab, sizeof v1);
  CHECK(rustimg_build_options_init(&v1, 1) == RUSTIMG_OK);
  CHECK(v1.version == 1 && v1.source_date_epoch == -1 && v1.cancel == NULL);
  {
    const unsigned char *tail = (const unsigned char *)&v1.registry;
    size_t i;
    for (i = 0; i < sizeof v1.registry; ++i) CHECK(tail[i] == 0xab);
  }
  CHECK(rustimg_build_options_init(&v1, RUSTIMG_BUILD_OPTIONS_VERSION + 1) == RUSTIMG_EINVALID);

  printf("%d passed, %d failed\n", checks - failures, failures);
  return failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
