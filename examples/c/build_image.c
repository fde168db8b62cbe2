/*
 * build_image: build an OCI image from a Rust crate through rustimg's C API.
 *
 *   build_image CRATE_DIR OUTPUT            e.g. build_image examples/hello oci:out/hello:latest
 *
 * Prints progress to stderr and the image digest to stdout. Ctrl-C cancels
 * the build cleanly (cargo is stopped, nothing is written).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <rustimg.h>

static rustimg_cancel_token *cancel_token = NULL;

static void on_interrupt(int signo) {
  (void)signo;
  rustimg_cancel_token_cancel(cancel_token); /* only sets an atomic flag */
}

static int on_progress(const rustimg_progress_event *event, void *payload) {
  (void)payload;
  fprintf(stderr, "[%s] %s\n", event->stage, event->message);
  return 0; /* non-zero would cancel */
}

int main(int argc, char **argv) {
  rustimg_build_options opts;
  rustimg_build_result *result = NULL;
  rustimg_error *err = NULL;
  size_t i;

  if (argc != 3) {
    fprintf(stderr, "usage: %s CRATE_DIR OUTPUT\n", argv[0]);
    return 2;
  }
  if (rustimg_cancel_token_new(&cancel_token, NULL) < 0) return 1;
  signal(SIGINT, on_interrupt);

  rustimg_build_options_init(&opts, RUSTIMG_BUILD_OPTIONS_VERSION);
  opts.crate_dir = argv[1];
  opts.output = argv[2];
  opts.progress = on_progress;
  opts.cancel = cancel_token;

  if (rustimg_build(&result, &opts, &err) < 0) {
    fprintf(stderr, "build failed (%s): %s\n", rustimg_error_class(err), rustimg_error_message(err));
    for (i = 0; i < rustimg_error_detail_count(err); i++) fprintf(stderr, "  %s\n", rustimg_error_detail(err, i));
    rustimg_error_free(err);
    rustimg_cancel_token_free(cancel_token);
    return 1;
  }
  printf("%s\n", rustimg_build_result_digest(result));
  rustimg_build_result_free(result);
  rustimg_cancel_token_free(cancel_token);
  return 0;
}
