/* Tests of the C composition API (issue 18) from plain C99: layers built
 * from host files and bytes, their errors, images changed value by value,
 * written to an OCI layout and loaded back, and an index of two platforms. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "rustimg.h"

CHECK_COUNTERS;

static char workdir[] = "/tmp/rustimg-capi-compose-XXXXXX";

static int fits(int n, size_t size) { return n >= 0 && (size_t)n < size; }
/* snprintf into the array `buf`, checking that nothing was cut off. */
#define FORMAT(buf, ...) CHECK(fits(snprintf(buf, sizeof buf, __VA_ARGS__), sizeof buf))

static int contains(const char *haystack, const char *needle) {
  return haystack != NULL && strstr(haystack, needle) != NULL;
}

static int exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* The details of `err` joined, for matching one of them. */
static int has_detail(const rustimg_error *err, const char *a, const char *b) {
  size_t i;
  for (i = 0; i < rustimg_error_detail_count(err); ++i)
    if (contains(rustimg_error_detail(err, i), a) && contains(rustimg_error_detail(err, i), b)) return 1;
  return 0;
}

static const char greeting[] = "hello from rustimg\n";

/* A layer of bytes and a directory, with `mtime`, the entries added in
 * either order. */
static rustimg_layer *bytes_layer(long long mtime, int reversed) {
  rustimg_layer_builder *b = NULL;
  rustimg_layer *layer = NULL;
  rustimg_layer_options opts;
  CHECK(rustimg_layer_options_init(&opts, RUSTIMG_LAYER_OPTIONS_VERSION) == RUSTIMG_OK);
  opts.mtime = mtime;
  CHECK(rustimg_layer_builder_new(&b, NULL) == RUSTIMG_OK);
  if (reversed) CHECK(rustimg_layer_builder_add_directory(b, "/data", 0750, 65532, 65532, NULL) == RUSTIMG_OK);
  CHECK(rustimg_layer_builder_add_bytes(b, "/etc/greeting.txt", greeting, strlen(greeting), 0640, 65532, 65532,
                                        NULL) == RUSTIMG_OK);
  if (!reversed) CHECK(rustimg_layer_builder_add_directory(b, "/data", 0750, 65532, 65532, NULL) == RUSTIMG_OK);
  CHECK(rustimg_layer_builder_build(&layer, b, &opts, NULL) == RUSTIMG_OK);
  rustimg_layer_builder_free(b);
  return layer;
}

static void test_free_null_is_noop(void) {
  rustimg_layer_builder_free(NULL);
  rustimg_layer_free(NULL);
  rustimg_image_free(NULL);
  rustimg_index_free(NULL);
  CHECK(strcmp(rustimg_layer_digest(NULL), "") == 0);
  CHECK(rustimg_image_layer_count(NULL) == 0);
}

static void test_layer_digest_stable(void) {
  rustimg_layer *a = bytes_layer(1700000000, 0), *b = bytes_layer(1700000000, 1), *c = bytes_layer(1, 0);
  rustimg_layer_builder *builder = NULL;
  rustimg_layer *d = NULL, *e = NULL;
  CHECK(a != NULL && b != NULL && c != NULL);
  /* the order of the add calls does not matter; the mtime does */
  CHECK(strcmp(rustimg_layer_digest(a), rustimg_layer_digest(b)) == 0);
  CHECK(strcmp(rustimg_layer_diff_id(a), rustimg_layer_diff_id(b)) == 0);
  CHECK(strcmp(rustimg_layer_digest(a), rustimg_layer_digest(c)) != 0);
  CHECK(strncmp(rustimg_layer_digest(a), "sha256:", 7) == 0 && strlen(rustimg_layer_digest(a)) == 71);
  CHECK(strcmp(rustimg_layer_media_type(a), "application/vnd.oci.image.layer.v1.tar+gzip") == 0);
  CHECK(rustimg_layer_size(a) > 0);
  /* building twice from one builder gives the same layer */
  CHECK(rustimg_layer_builder_new(&builder, NULL) == RUSTIMG_OK);
  CHECK(rustimg_layer_builder_add_symlink(builder, "/bin/sh", "busybox", 0, 0, NULL) == RUSTIMG_OK);
  CHECK(rustimg_layer_builder_build(&d, builder, NULL, NULL) == RUSTIMG_OK);
  CHECK(rustimg_layer_builder_build(&e, builder, NULL, NULL) == RUSTIMG_OK);
  CHECK(d != NULL && e != NULL && strcmp(rustimg_layer_digest(d), rustimg_layer_digest(e)) == 0);
  rustimg_layer_free(e);
  rustimg_layer_free(d);
  rustimg_layer_builder_free(builder);
  rustimg_layer_free(c);
  rustimg_layer_free(b);
  rustimg_layer_free(a);
}

static void test_layer_errors(void) {
  rustimg_layer_builder *b = NULL;
  rustimg_layer *layer = NULL;
  rustimg_error *err = NULL;
  rustimg_layer_options opts = RUSTIMG_LAYER_OPTIONS_INIT;
  char host[4200];
  FILE *f;
  CHECK(rustimg_layer_builder_new(&b, NULL) == RUSTIMG_OK);

  CHECK(rustimg_layer_builder_add_bytes(b, "/etc/../passwd", "x", 1, 0644, 0, 0, &err) == RUSTIMG_EINVALID);
  CHECK(contains(rustimg_error_message(err), "/etc/../passwd"));
  rustimg_error_free(err);

  CHECK(rustimg_layer_builder_add_bytes(b, "/etc/a", "x", 1, 0644, 0, 0, NULL) == RUSTIMG_OK);
  CHECK(rustimg_layer_builder_add_bytes(b, "etc//a", "y", 1, 0644, 0, 0, &err) == RUSTIMG_EINVALID);
  CHECK(contains(rustimg_error_message(err), "etc/a"));
  rustimg_error_free(err);

  CHECK(rustimg_layer_builder_add_directory(b, "/x", 010000, 0, 0, &err) == RUSTIMG_EINVALID);
  CHECK(contains(rustimg_error_message(err), "/x") && contains(rustimg_error_message(err), "07777"));
  rustimg_error_free(err);

  CHECK(rustimg_layer_builder_add_file(b, "/bin/app", "/nonexistent/rustimg-app", RUSTIMG_MODE_FROM_HOST, 0, 0, &err) ==
        RUSTIMG_ENOTFOUND);
  CHECK(contains(rustimg_error_message(err), "/nonexistent/rustimg-app"));
  rustimg_error_free(err);

  /* a host file that vanishes between add and build */
  FORMAT(host, "%s/vanishing", workdir);
  f = fopen(host, "w");
  CHECK(f != NULL);
  if (f != NULL) {
    fputs("soon gone", f);
    fclose(f);
  }
  CHECK(rustimg_layer_builder_add_file(b, "/bin/vanishing", host, RUSTIMG_MODE_FROM_HOST, 0, 0, NULL) == RUSTIMG_OK);
  CHECK(unlink(host) == 0);
  CHECK(rustimg_layer_builder_build(&layer, b, NULL, &err) == RUSTIMG_ENOTFOUND);
  CHECK(layer == NULL);
  CHECK(contains(rustimg_error_message(err), host));
  rustimg_error_free(err);

  opts.compression = "brotli";
  CHECK(rustimg_layer_builder_build(&layer, b, &opts, &err) == RUSTIMG_EINVALID);
  CHECK(contains(rustimg_error_message(err), "brotli"));
  rustimg_error_free(err);
  opts.compression = NULL;
  opts.version = 99;
  CHECK(rustimg_layer_builder_build(&layer, b, &opts, &err) == RUSTIMG_EINVALID);
  CHECK(contains(rustimg_error_message(err), "RUSTIMG_LAYER_OPTIONS_INIT"));
  rustimg_error_free(err);
  rustimg_layer_builder_free(b);

  CHECK(rustimg_layer_from_tar(&layer, "/nonexistent/layer.tar", NULL, &err) == RUSTIMG_ENOTFOUND);
  CHECK(contains(rustimg_error_message(err), "/nonexistent/layer.tar"));
  rustimg_error_free(err);
}

/* Modes are checked by the core; RUSTIMG_MODE_FROM_HOST is the only
 * negative one. */
static void test_modes(void) {
  rustimg_layer_builder *b = NULL;
  rustimg_layer *layer = NULL;
  rustimg_error *err = NULL;
  char host[4200];
  FILE *f;
  FORMAT(host, "%s/tool", workdir);
  f = fopen(host, "w");
  CHECK(f != NULL);
  if (f != NULL) {
    fputs("#!/bin/sh\n", f);
    fclose(f);
  }
  CHECK(chmod(host, 0700) == 0);
  CHECK(rustimg_layer_builder_new(&b, NULL) == RUSTIMG_OK);
  CHECK(rustimg_layer_builder_add_file(b, "/bin/tool", host, RUSTIMG_MODE_FROM_HOST, 0, 0, NULL) == RUSTIMG_OK);
  CHECK(rustimg_layer_builder_add_file(b, "/bin/tool-4755", host, 04755, 0, 0, NULL) == RUSTIMG_OK);

  CHECK(rustimg_layer_builder_add_file(b, "/bin/big", host, 010000, 0, 0, &err) == RUSTIMG_EINVALID);
  CHECK(contains(rustimg_error_message(err), "/bin/big") && contains(rustimg_error_message(err), "07777"));
  rustimg_error_free(err);
  CHECK(rustimg_layer_builder_add_file(b, "/bin/neg", host, -2, 0, 0, &err) == RUSTIMG_EINVALID);
  CHECK(contains(rustimg_error_message(err), "/bin/neg") &&
        contains(rustimg_error_message(err), "RUSTIMG_MODE_FROM_HOST"));
  rustimg_error_free(err);
  /* an unsigned mode is never the sentinel: ~0u is out of range */
  CHECK(rustimg_layer_builder_add_bytes(b, "/etc/x", "x", 1, ~0u, 0, 0, &err) == RUSTIMG_EINVALID);
  CHECK(contains(rustimg_error_message(err), "/etc/x") && contains(rustimg_error_message(err), "07777"));
  rustimg_error_free(err);
  CHECK(rustimg_layer_builder_add_directory(b, "/d", 0100755, 0, 0, &err) == RUSTIMG_EINVALID);
  CHECK(contains(rustimg_error_message(err), "/d"));
  rustimg_error_free(err);

  /* the refused calls added nothing */
  CHECK(rustimg_layer_builder_build(&layer, b, NULL, NULL) == RUSTIMG_OK);
  rustimg_layer_free(layer);
  rustimg_layer_builder_free(b);
}

/* A required argument that is NULL is RUSTIMG_EINVALID naming it, and the
 * out-parameter stays NULL. */
static void test_null_arguments(void) {
  rustimg_layer_builder *b = NULL;
  rustimg_layer *layer = NULL, *no_layer = NULL;
  rustimg_image *img = NULL, *out = NULL;
  rustimg_index *idx = NULL;
  rustimg_transfer_result *written = NULL;
  rustimg_error *err = NULL;
  CHECK(rustimg_layer_builder_new(&b, NULL) == RUSTIMG_OK);
  CHECK(rustimg_layer_builder_add_bytes(b, "/x", "x", 1, 0644, 0, 0, NULL) == RUSTIMG_OK);
  CHECK(rustimg_layer_builder_build(&layer, b, NULL, NULL) == RUSTIMG_OK);
  CHECK(rustimg_image_scratch(&img, "linux/amd64", NULL) == RUSTIMG_OK);

#define CHECK_NULL_ARG(call, name)                                   \
  do {                                                               \
    CHECK((call) == RUSTIMG_EINVALID);                               \
    CHECK(contains(rustimg_error_message(err), name " must not be NULL")); \
    rustimg_error_free(err);                                         \
    err = NULL;                                                      \
  } while (0)
  CHECK_NULL_ARG(rustimg_layer_builder_add_file(b, NULL, "/bin/sh", RUSTIMG_MODE_FROM_HOST, 0, 0, &err),
                 "image_path");
  CHECK_NULL_ARG(rustimg_layer_builder_add_file(b, "/a", NULL, RUSTIMG_MODE_FROM_HOST, 0, 0, &err), "host_path");
  CHECK_NULL_ARG(rustimg_layer_builder_add_directory(b, NULL, 0755, 0, 0, &err), "image_path");
  CHECK_NULL_ARG(rustimg_layer_builder_add_tree(b, "/t", NULL, 0, 0, &err), "host_dir");
  CHECK_NULL_ARG(rustimg_layer_builder_add_symlink(b, "/s", NULL, 0, 0, &err), "target");
  CHECK_NULL_ARG(rustimg_layer_builder_add_bytes(b, NULL, "x", 1, 0644, 0, 0, &err), "image_path");
  CHECK_NULL_ARG(rustimg_layer_from_tar(&no_layer, NULL, NULL, &err), "tar_path");
  CHECK(no_layer == NULL);
  CHECK_NULL_ARG(rustimg_image_scratch(&out, NULL, &err), "platform");
  CHECK_NULL_ARG(rustimg_image_builtin(&out, NULL, "linux/amd64", &err), "base");
  CHECK_NULL_ARG(rustimg_image_builtin(&out, "static", NULL, &err), "platform");
  CHECK_NULL_ARG(rustimg_image_load(&out, NULL, NULL, &err), "location");
  CHECK_NULL_ARG(rustimg_image_pull(&out, NULL, NULL, NULL, &err), "reference");
  CHECK_NULL_ARG(rustimg_image_append(&out, img, NULL, "x", &err), "layer");
  CHECK_NULL_ARG(rustimg_image_append(&out, NULL, NULL, "x", &err), "img");
  CHECK_NULL_ARG(rustimg_image_with_config(&out, img, NULL, &err), "changes_json");
  CHECK_NULL_ARG(rustimg_image_with_annotations(&out, img, NULL, &err), "annotations_json");
  CHECK_NULL_ARG(rustimg_image_with_created(&out, NULL, 0, &err), "img");
  CHECK(out == NULL);
  CHECK_NULL_ARG(rustimg_image_write(&written, img, NULL, NULL, &err), "destination");
  CHECK(written == NULL);
  CHECK_NULL_ARG(rustimg_index_write(&written, NULL, "oci:/nonexistent/x", NULL, &err), "idx");
  CHECK_NULL_ARG(rustimg_layer_builder_build(NULL, b, NULL, &err), "out");
#undef CHECK_NULL_ARG
  CHECK(rustimg_index_new(&idx, NULL, 1, NULL, &err) == RUSTIMG_EINVALID && idx == NULL);
  CHECK(contains(rustimg_error_message(err), "images"));
  rustimg_error_free(err);

  rustimg_image_free(img);
  rustimg_layer_free(layer);
  rustimg_layer_builder_free(b);
}

static void test_config_errors(void) {
  rustimg_image *img = NULL, *out = NULL;
  rustimg_error *err = NULL;
  CHECK(rustimg_image_scratch(&img, "linux/amd64", NULL) == RUSTIMG_OK);

  CHECK(rustimg_image_with_config(&out, img, "{\"entrypiont\": [\"/app\"]}", &err) == RUSTIMG_ESPEC);
  CHECK(out == NULL);
  CHECK(has_detail(err, "$.entrypiont", "did you mean \"entrypoint\""));
  CHECK(contains(rustimg_error_message(err), "config changes"));
  rustimg_error_free(err);

  /* the C spelling of a spec key is pointed at the spec's */
  CHECK(rustimg_image_with_config(&out, img, "{\"stop_signal\": \"SIGINT\"}", &err) == RUSTIMG_ESPEC);
  CHECK(has_detail(err, "$.stop_signal", "\"stop-signal\""));
  rustimg_error_free(err);

  /* every problem is listed, each with its path */
  CHECK(rustimg_image_with_config(&out, img, "{\"env\": {\"PORT\": 8080}, \"ports\": [\"http\"]}", &err) ==
        RUSTIMG_ESPEC);
  CHECK(rustimg_error_detail_count(err) == 2);
  CHECK(has_detail(err, "$.env.PORT", "expected a string"));
  CHECK(has_detail(err, "$.ports[0]", "http"));
  rustimg_error_free(err);

  CHECK(rustimg_image_with_config(&out, img, "[1]", &err) == RUSTIMG_ESPEC);
  rustimg_error_free(err);
  CHECK(rustimg_image_with_config(&out, img, "{not json", &err) != RUSTIMG_OK);
  CHECK(contains(rustimg_error_message(err), "config changes"));
  rustimg_error_free(err);
  rustimg_image_free(img);
}

/* scratch + append + config + created, written to oci: and loaded back;
 * a config change after that touches config and manifest, not the layer. */
static void test_compose_write_load(void) {
  rustimg_layer *layer = bytes_layer(1700000000, 0);
  rustimg_image *scratch = NULL, *appended = NULL, *configured = NULL, *img = NULL, *loaded = NULL, *mutated = NULL;
  rustimg_transfer_result *written = NULL;
  rustimg_error *err = NULL;
  char dest[4200], empty_dest[4300], empty_dir[4200];
  char config_before[80];

  CHECK(rustimg_image_scratch(&scratch, "linux/amd64", NULL) == RUSTIMG_OK);
  CHECK(strcmp(rustimg_image_platform(scratch), "linux/amd64") == 0);
  CHECK(rustimg_image_layer_count(scratch) == 0);

  /* an image without layers is refused, and nothing is written */
  FORMAT(empty_dir, "%s/empty", workdir);
  FORMAT(empty_dest, "oci:%s:x", empty_dir);
  CHECK(rustimg_image_write(&written, scratch, empty_dest, NULL, &err) == RUSTIMG_EINVALID);
  CHECK(written == NULL && !exists(empty_dir));
  rustimg_error_free(err);

  CHECK(rustimg_image_append(&appended, scratch, layer, "compose test", NULL) == RUSTIMG_OK);
  CHECK(rustimg_image_layer_count(appended) == 1);
  CHECK(strcmp(rustimg_image_layer_digest(appended, 0), rustimg_layer_digest(layer)) == 0);
  CHECK(rustimg_image_layer_digest(appended, 1) == NULL);
  CHECK(contains(rustimg_image_config_json(appended), rustimg_layer_diff_id(layer)));
  CHECK(contains(rustimg_image_config_json(appended), "compose test"));
  /* values are immutable: the scratch image is unchanged */
  CHECK(rustimg_image_layer_count(scratch) == 0);

  CHECK(rustimg_image_with_config(&configured, appended,
                                  "{\"env\": {\"GREETING\": \"hi\"}, \"entrypoint\": [\"/usr/local/bin/hello\"],"
                                  " \"user\": \"65532:65532\"}",
                                  NULL) == RUSTIMG_OK);
  CHECK(rustimg_image_with_created(&img, configured, 1700000000, NULL) == RUSTIMG_OK);
  CHECK(contains(rustimg_image_config_json(img), "\"GREETING=hi\""));
  CHECK(contains(rustimg_image_config_json(img), "\"User\":\"65532:65532\""));
  CHECK(contains(rustimg_image_config_json(img), "2023-11-14T22:13:20Z"));

  FORMAT(dest, "oci:%s/layout:compose", workdir);
  CHECK(rustimg_image_write(&written, img, dest, NULL, &err) == RUSTIMG_OK);
  if (err != NULL) fprintf(stderr, "write: %s\n", rustimg_error_message(err));
  rustimg_error_free(err);
  CHECK(written != NULL && strcmp(rustimg_transfer_result_digest(written), rustimg_image_digest(img)) == 0);
  CHECK(strcmp(rustimg_transfer_result_reference(written), dest) == 0);
  rustimg_transfer_result_free(written);

  CHECK(rustimg_image_load(&loaded, dest, NULL, NULL) == RUSTIMG_OK);
  CHECK(loaded != NULL && strcmp(rustimg_image_digest(loaded), rustimg_image_digest(img)) == 0);
  CHECK(strcmp(rustimg_image_config_json(loaded), rustimg_image_config_json(img)) == 0);

  /* mutate the loaded image: config and manifest change, the layer does not */
  {
    const char *manifest = rustimg_image_manifest_json(loaded);
    const char *cfg = strstr(manifest, "\"config\"");
    const char *digest = cfg != NULL ? strstr(cfg, "sha256:") : NULL;
    CHECK(digest != NULL);
    FORMAT(config_before, "%.71s", digest != NULL ? digest : "");
  }
  CHECK(rustimg_image_with_config(&mutated, loaded, "{\"labels\": {\"org.example.k\": \"v\"}, \"cmd\": null}",
                                  NULL) == RUSTIMG_OK);
  CHECK(strcmp(rustimg_image_digest(mutated), rustimg_image_digest(loaded)) != 0);
  CHECK(!contains(rustimg_image_manifest_json(mutated), config_before));
  CHECK(contains(rustimg_image_config_json(mutated), "org.example.k"));
  CHECK(rustimg_image_layer_count(mutated) == 1);
  CHECK(strcmp(rustimg_image_layer_digest(mutated, 0), rustimg_layer_digest(layer)) == 0);

  rustimg_image_free(mutated);
  rustimg_image_free(loaded);
  rustimg_image_free(img);
  rustimg_image_free(configured);
  rustimg_image_free(appended);
  rustimg_image_free(scratch);
  rustimg_layer_free(layer);
}

/* A layer written uncompressed, read back as a tar, has the same content. */
static void test_layer_from_tar(void) {
  rustimg_layer *plain = NULL, *again = NULL;
  rustimg_layer_builder *b = NULL;
  rustimg_image *scratch = NULL, *img = NULL;
  rustimg_transfer_result *written = NULL;
  rustimg_layer_options opts = RUSTIMG_LAYER_OPTIONS_INIT;
  char dest[4200], blob[4300];
  opts.compression = "none";
  opts.mtime = 1700000000;
  CHECK(rustimg_layer_builder_new(&b, NULL) == RUSTIMG_OK);
  CHECK(rustimg_layer_builder_add_bytes(b, "/etc/greeting.txt", greeting, strlen(greeting), 0640, 1, 2, NULL) ==
        RUSTIMG_OK);
  CHECK(rustimg_layer_builder_build(&plain, b, &opts, NULL) == RUSTIMG_OK);
  CHECK(strcmp(rustimg_layer_digest(plain), rustimg_layer_diff_id(plain)) == 0);
  CHECK(rustimg_image_scratch(&scratch, "linux/arm64", NULL) == RUSTIMG_OK);
  CHECK(rustimg_image_append(&img, scratch, plain, NULL, NULL) == RUSTIMG_OK);
  FORMAT(dest, "oci:%s/plain", workdir);
  CHECK(rustimg_image_write(&written, img, dest, NULL, NULL) == RUSTIMG_OK);
  FORMAT(blob, "%s/plain/blobs/sha256/%s", workdir, rustimg_layer_digest(plain) + 7);
  CHECK(rustimg_layer_from_tar(&again, blob, NULL, NULL) == RUSTIMG_OK);
  CHECK(again != NULL && strcmp(rustimg_layer_diff_id(again), rustimg_layer_diff_id(plain)) == 0);
  CHECK(contains(rustimg_layer_media_type(again), "gzip"));
  rustimg_layer_free(again);
  rustimg_transfer_result_free(written);
  rustimg_image_free(img);
  rustimg_image_free(scratch);
  rustimg_layer_free(plain);
  rustimg_layer_builder_free(b);
}

/* Values share their state, so a parent may be freed before what was made
 * from it (rustimg.h: freeing an image does not invalidate images or layers
 * made from it; images holding a layer keep it alive). The other tests free
 * children first; this one frees the builder, the layer and the base image
 * first, deliberately, and then uses what was made from them (under ASan a
 * use after free would show). */
static void test_parents_freed_first(void) {
  rustimg_layer_builder *b = NULL;
  rustimg_layer *layer = NULL;
  rustimg_image *scratch = NULL, *img = NULL, *later = NULL, *loaded = NULL;
  rustimg_transfer_result *written = NULL;
  char layer_digest[80], dest[4200];
  CHECK(rustimg_layer_builder_new(&b, NULL) == RUSTIMG_OK);
  CHECK(rustimg_layer_builder_add_bytes(b, "/etc/greeting.txt", greeting, strlen(greeting), 0644, 0, 0, NULL) ==
        RUSTIMG_OK);
  CHECK(rustimg_layer_builder_build(&layer, b, NULL, NULL) == RUSTIMG_OK);
  rustimg_layer_builder_free(b); /* parent of the layer, freed first */
  FORMAT(layer_digest, "%s", rustimg_layer_digest(layer)); /* borrowed: copy it before the free */
  CHECK(rustimg_image_scratch(&scratch, "linux/amd64", NULL) == RUSTIMG_OK);
  CHECK(rustimg_image_append(&img, scratch, layer, "parents first", NULL) == RUSTIMG_OK);
  rustimg_layer_free(layer);   /* the image holds the layer's blob */
  rustimg_image_free(scratch); /* and does not need its base */
  CHECK(rustimg_image_with_created(&later, img, 1700000000, NULL) == RUSTIMG_OK);
  rustimg_image_free(img);
  FORMAT(dest, "oci:%s/parents-first", workdir);
  CHECK(rustimg_image_write(&written, later, dest, NULL, NULL) == RUSTIMG_OK);
  CHECK(written != NULL && strcmp(rustimg_transfer_result_digest(written), rustimg_image_digest(later)) == 0);
  CHECK(rustimg_image_load(&loaded, dest, NULL, NULL) == RUSTIMG_OK);
  CHECK(rustimg_image_layer_count(loaded) == 1 && strcmp(rustimg_image_layer_digest(loaded, 0), layer_digest) == 0);
  rustimg_image_free(later); /* a loaded image does not depend on the one written */
  CHECK(strcmp(rustimg_image_layer_digest(loaded, 0), layer_digest) == 0);
  rustimg_image_free(loaded);
  rustimg_transfer_result_free(written);
}

static void test_index(void) {
  rustimg_layer *layer = bytes_layer(0, 0);
  rustimg_image *amd = NULL, *arm = NULL, *amd_img = NULL, *arm_img = NULL, *loaded = NULL;
  const rustimg_image *pair[2], *twice[2];
  rustimg_index *idx = NULL, *bad = NULL;
  rustimg_transfer_result *written = NULL;
  rustimg_error *err = NULL;
  char dest[4200];
  CHECK(rustimg_image_scratch(&amd, "linux/amd64", NULL) == RUSTIMG_OK);
  CHECK(rustimg_image_scratch(&arm, "linux/arm64", NULL) == RUSTIMG_OK);
  CHECK(rustimg_image_append(&amd_img, amd, layer, "x", NULL) == RUSTIMG_OK);
  CHECK(rustimg_image_append(&arm_img, arm, layer, "x", NULL) == RUSTIMG_OK);
  pair[0] = amd_img;
  pair[1] = arm_img;
  CHECK(rustimg_index_new(&idx, pair, 2, "{\"org.opencontainers.image.title\": \"two\"}", &err) == RUSTIMG_OK);
  rustimg_error_free(err);
  CHECK(contains(rustimg_index_json(idx), rustimg_image_digest(amd_img)));
  CHECK(contains(rustimg_index_json(idx), rustimg_image_digest(arm_img)));
  CHECK(contains(rustimg_index_json(idx), "\"arm64\""));

  twice[0] = amd_img;
  twice[1] = amd_img;
  CHECK(rustimg_index_new(&bad, twice, 2, NULL, &err) == RUSTIMG_EINVALID);
  CHECK(bad == NULL && contains(rustimg_error_message(err), "linux/amd64"));
  rustimg_error_free(err);
  CHECK(rustimg_index_new(&bad, pair, 0, NULL, &err) == RUSTIMG_EINVALID);
  rustimg_error_free(err);

  FORMAT(dest, "oci:%s/index:multi", workdir);
  CHECK(rustimg_index_write(&written, idx, dest, NULL, NULL) == RUSTIMG_OK);
  CHECK(written != NULL && strcmp(rustimg_transfer_result_digest(written), rustimg_index_digest(idx)) == 0);
  rustimg_transfer_result_free(written);
  /* an index needs a platform to load from */
  CHECK(rustimg_image_load(&loaded, dest, NULL, &err) == RUSTIMG_EINVALID);
  CHECK(contains(rustimg_error_message(err), "linux/arm64"));
  rustimg_error_free(err);
  CHECK(rustimg_image_load(&loaded, dest, "linux/arm64", NULL) == RUSTIMG_OK);
  CHECK(loaded != NULL && strcmp(rustimg_image_digest(loaded), rustimg_image_digest(arm_img)) == 0);

  rustimg_image_free(loaded);
  rustimg_index_free(idx);
  rustimg_image_free(arm_img);
  rustimg_image_free(amd_img);
  rustimg_image_free(arm);
  rustimg_image_free(amd);
  rustimg_layer_free(layer);
}

int main(void) {
  if (mkdtemp(workdir) == NULL) {
    perror("mkdtemp");
    return EXIT_FAILURE;
  }
  test_free_null_is_noop();
  test_layer_digest_stable();
  test_layer_errors();
  test_modes();
  test_null_arguments();
  test_config_errors();
  test_compose_write_load();
  test_layer_from_tar();
  test_parents_freed_first();
  test_index();
  {
    char cmd[128];
    FORMAT(cmd, "rm -rf %s", workdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", workdir);
  }
  printf("%d passed, %d failed\n", checks - failures, failures);
  return failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
