/* Prints the library version and what the core's ELF reader makes of this
 * program (its argument): the same from every way of linking rustimg. */
#include <rustimg.h>
#include <stdio.h>

int main(int argc, char **argv) {
  rustimg_elf_report *report = NULL;
  rustimg_error *err = NULL;
  if (argc < 2 || rustimg_verify_file(&report, argv[1], NULL, &err) != 0) {
    fprintf(stderr, "verify %s: %s\n", argc < 2 ? "(no path given)" : argv[1],
            err != NULL ? rustimg_error_message(err) : "usage: c_consumer <ELF file>");
    rustimg_error_free(err);
    return 1;
  }
  printf("%s %s\n", rustimg_version(), rustimg_elf_report_linkage(report));
  rustimg_elf_report_free(report);
  return 0;
}
