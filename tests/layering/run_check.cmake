# ctest driver for cmake/check_layering.cmake over the fixture trees here:
# the check must reject each include against the layering (naming file, line,
# include and rule), tolerate one listed as PENDING, and accept a tree that
# keeps to the rule.
#   cmake -DSCRIPT=<check_layering.cmake> -DFIXTURES=<this directory> -P run_check.cmake

function(run_check tree pending out_rc out_text)
  set(args -DROOT=${FIXTURES}/${tree})
  if(NOT pending STREQUAL "")
    string(REPLACE ";" "\\;" pending "${pending}")  # one argument, not a list
    list(APPEND args "-DPENDING=${pending}")
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} ${args} -P ${SCRIPT}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(REGEX REPLACE "[ \t\r\n]+" " " text "${out}${err}")  # undo message wrapping
  set(${out_rc} ${rc} PARENT_SCOPE)
  set(${out_text} "${text}" PARENT_SCOPE)
endfunction()

function(expect_text text needle)
  string(FIND "${text}" "${needle}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "expected \"${needle}\" in the output of the check:\n${text}")
  endif()
endfunction()

# 1. Violations fail the check, each named with file, line, include and rule.
run_check(bad "" rc text)
if(rc EQUAL 0)
  message(FATAL_ERROR "the check accepted the bad tree:\n${text}")
endif()
expect_text("${text}" "src/oci/bad.cpp:3: #include \"rustimg/spec.hpp\": oci -> spec is against the layering (module oci may include only util)")
expect_text("${text}" "src/util/bad.cpp:3: #include \"oci/internal.hpp\": util -> oci")
expect_text("${text}" "include/rustimg/oci.hpp:6: #include \"rustimg/registry.hpp\": oci -> registry")
expect_text("${text}" "check_layering: 3 include(s) against the module layering")
string(FIND "${text}" "util/helper.hpp" at)
if(NOT at EQUAL -1)
  message(FATAL_ERROR "a module's own header was reported:\n${text}")
endif()

# 2. Listed as PENDING, the same violations are warnings only.
run_check(bad "src/oci/bad.cpp|rustimg/spec.hpp;src/util/bad.cpp|oci/internal.hpp;include/rustimg/oci.hpp|rustimg/registry.hpp;src/gone.cpp|x.hpp" rc text)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the check failed on PENDING violations:\n${text}")
endif()
expect_text("${text}" "src/oci/bad.cpp:3: #include \"rustimg/spec.hpp\": oci -> spec is against the layering (module oci may include only util) [tolerated: PENDING")
expect_text("${text}" "PENDING entry src/gone.cpp|x.hpp no longer occurs")

# 3. A tree that keeps to the rule passes.
run_check(good "" rc text)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the check rejected the good tree:\n${text}")
endif()
message(STATUS "check_layering: rejects, tolerates and accepts as expected")
