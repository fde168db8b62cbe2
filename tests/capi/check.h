/* A minimal check macro for the plain-C tests: counts checks and failures
 * and reports each failure with its line. Each test file defines the
 * counters once with CHECK_COUNTERS. */
#ifndef RUSTIMG_TESTS_CHECK_H
#define RUSTIMG_TESTS_CHECK_H

#include <stdio.h>

#define CHECK_COUNTERS static int failures = 0, checks = 0

#define CHECK(cond)                                                              \
  do {                                                                           \
    ++checks;                                                                    \
    if (!(cond)) {                                                               \
      ++failures;                                                                \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                            \
  } while (0)

#endif
