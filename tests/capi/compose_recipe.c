/* The cross-language compose recipe (issue 18) in C: the same image as
 * tests/integration/compose_recipe.py and the Go recipe, which must print the
 * same digest. Usage: rustimg_compose_recipe_c HELLO DIR - HELLO is a static
 * binary put at /usr/local/bin/hello; the image is written to oci:DIR:compose
 * and its manifest digest printed. The steps and their order are the
 * recipe's: the history entry of the append takes the config's created time
 * of that moment, so created is set last. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rustimg.h"

static int fail(const char *step, rustimg_error *err) {
  fprintf(stderr, "compose recipe: %s: %s\n", step, rustimg_error_message(err));
  rustimg_error_free(err);
  return EXIT_FAILURE;
}

int main(int argc, char **argv) {
  static const char greeting[] = "hello from rustimg\n";
  rustimg_error *err = NULL;
  rustimg_layer_builder *b = NULL;
  rustimg_layer *layer = NULL;
  rustimg_image *base = NULL, *appended = NULL, *configured = NULL, *img = NULL;
  rustimg_transfer_result *written = NULL;
  rustimg_layer_options lopts = RUSTIMG_LAYER_OPTIONS_INIT;
  char destination[4096];
  int rc = EXIT_FAILURE, n;

  if (argc != 3) {
    fprintf(stderr, "usage: %s HELLO DIR\n", argv[0]);
    return 2;
  }
  n = snprintf(destination, sizeof destination, "oci:%s:compose", argv[2]);
  if (n < 0 || (size_t)n >= sizeof destination) {
    fprintf(stderr, "compose recipe: the directory %s is too long\n", argv[2]);
    return 2;
  }
  lopts.mtime = 1700000000;

  if (rustimg_layer_builder_new(&b, &err) != 0) return fail("layer builder", err);
  if (rustimg_layer_builder_add_file(b, "/usr/local/bin/hello", argv[1], 0755, 0, 0, &err) != 0 ||
      rustimg_layer_builder_add_bytes(b, "/etc/greeting.txt", greeting, strlen(greeting), 0640, 65532, 65532,
                                      &err) != 0 ||
      rustimg_layer_builder_add_directory(b, "/data", 0750, 65532, 65532, &err) != 0) {
    rc = fail("adding files", err);
    goto out;
  }
  if (rustimg_layer_builder_build(&layer, b, &lopts, &err) != 0) {
    rc = fail("building the layer", err);
    goto out;
  }
  if (rustimg_image_scratch(&base, "linux/amd64", &err) != 0 ||
      rustimg_image_append(&appended, base, layer, "compose test", &err) != 0 ||
      rustimg_image_with_config(&configured, appended,
                                "{\"env\": {\"GREETING\": \"hi\"}, \"entrypoint\": [\"/usr/local/bin/hello\"],"
                                " \"user\": \"65532:65532\"}",
                                &err) != 0 ||
      rustimg_image_with_created(&img, configured, 1700000000, &err) != 0) {
    rc = fail("composing the image", err);
    goto out;
  }
  if (rustimg_image_write(&written, img, destination, NULL, &err) != 0) {
    rc = fail(destination, err);
    goto out;
  }
  printf("%s\n", rustimg_transfer_result_digest(written));
  rc = EXIT_SUCCESS;
out:
  rustimg_transfer_result_free(written);
  rustimg_image_free(img);
  rustimg_image_free(configured);
  rustimg_image_free(appended);
  rustimg_image_free(base);
  rustimg_layer_free(layer);
  rustimg_layer_builder_free(b);
  return rc;
}
