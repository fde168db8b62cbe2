# Fails when a core source or public header includes against the layering
#   pipeline -> {elf, spec, cargo, layer, image, store, registry} -> oci -> util
#
#   cmake -DROOT=<source tree> [-DPENDING=<file|include;...>] [-DSTAMP=<file>]
#         -P check_layering.cmake
#
# Scans ROOT/src/<module>/ and ROOT/include/rustimg/. A file belongs to the
# module of its directory (src/<module>/...) or, for a public header, to the
# module in kHeaderModule; it may include its own module's headers and those
# of the modules in kAllowed_<module>. src/cli and the shims (capi/, bindings/)
# sit above the core and may include anything, so they are not scanned.
# STAMP, when given, is touched on success (so a build re-runs the check only
# when a scanned file changes).

if(NOT DEFINED ROOT)
  message(FATAL_ERROR "check_layering: pass -DROOT=<source tree>")
endif()

set(kModules util oci elf spec cargo layer image store registry attest pipeline)

# What each module may include besides itself.
set(kAllowed_util)
set(kAllowed_oci util)
foreach(m elf spec cargo layer image store registry attest)
  set(kAllowed_${m} oci util)
endforeach()
# The archive sinks (oci-archive:, docker-archive:) are tar files, written
# with the layer module's deterministic tar writer rather than a second one.
set(kAllowed_store layer oci util)
set(kAllowed_pipeline util oci elf spec cargo layer image store registry attest)

# Public header -> module.
set(kHeaderModule_byte_sink util)
set(kHeaderModule_error util)
set(kHeaderModule_json util)
set(kHeaderModule_process util)
set(kHeaderModule_option_names util)
set(kHeaderModule_progress util)
set(kHeaderModule_suggest util)
set(kHeaderModule_version util)
set(kHeaderModule_url util)
set(kHeaderModule_oci oci)
set(kHeaderModule_platform oci)
set(kHeaderModule_reference oci)
set(kHeaderModule_elf elf)
set(kHeaderModule_auditable elf)
set(kHeaderModule_spec spec)
set(kHeaderModule_cargo cargo)
set(kHeaderModule_dependencies cargo)
set(kHeaderModule_layer layer)
set(kHeaderModule_image image)
set(kHeaderModule_store store)
set(kHeaderModule_registry registry)
set(kHeaderModule_attest attest)
set(kHeaderModule_sbom attest)
set(kHeaderModule_pipeline pipeline)
set(kHeaderModule_transfer pipeline)
set(kHeaderModule_plan pipeline)
set(kHeaderModule_compose pipeline)
set(kHeaderModule_signing pipeline)

# Violations tolerated for a while (printed as warnings), e.g. while a
# module is being untangled: "<file relative to ROOT>|<included path>".
# None today. A stale entry is reported.
if(NOT DEFINED PENDING)
  set(PENDING
  )
endif()

# The module of an included path as written in `file` (relative to ROOT),
# or "" when it is not one of ours (system and third-party headers).
function(included_module file include out)
  set(result "")
  if(include MATCHES "^rustimg/([A-Za-z0-9_]+)\\.h(pp)?$")
    set(name ${CMAKE_MATCH_1})
    if(DEFINED kHeaderModule_${name})
      set(result ${kHeaderModule_${name}})
    else()
      set(result "?")  # a public header missing from kHeaderModule
    endif()
  elseif(include MATCHES "^([A-Za-z0-9_]+)/")
    list(FIND kModules "${CMAKE_MATCH_1}" i)
    if(i GREATER -1)
      set(result ${CMAKE_MATCH_1})
    elseif(CMAKE_MATCH_1 STREQUAL "cli")
      set(result cli)
    endif()
  elseif(NOT include MATCHES "/" AND file MATCHES "^src/([A-Za-z0-9_]+)/")
    # A file next to the includer ("compress.hpp" in src/layer).
    if(EXISTS "${ROOT}/src/${CMAKE_MATCH_1}/${include}")
      set(result ${CMAKE_MATCH_1})
    endif()
  endif()
  set(${out} "${result}" PARENT_SCOPE)
endfunction()

# Line number of the first line of `file` that includes `include`.
function(include_line file include out)
  file(READ "${ROOT}/${file}" text)
  # Make every line one list element: neutralise list syntax first.
  string(REPLACE ";" "," text "${text}")
  string(REPLACE "[" "(" text "${text}")
  string(REPLACE "]" ")" text "${text}")
  string(REPLACE "\\" "/" text "${text}")
  string(REPLACE "\n" ";" lines "${text}")
  set(n 0)
  foreach(line IN LISTS lines)
    math(EXPR n "${n} + 1")
    string(FIND "${line}" "${include}" at)
    if(line MATCHES "^[ \t]*#[ \t]*include" AND at GREATER -1)
      set(${out} ${n} PARENT_SCOPE)
      return()
    endif()
  endforeach()
  set(${out} 0 PARENT_SCOPE)
endfunction()

set(files)
foreach(m IN LISTS kModules)
  file(GLOB_RECURSE found RELATIVE "${ROOT}" "${ROOT}/src/${m}/*.cpp" "${ROOT}/src/${m}/*.hpp"
       "${ROOT}/src/${m}/*.h" "${ROOT}/src/${m}/*.in")
  list(APPEND files ${found})
endforeach()
file(GLOB headers RELATIVE "${ROOT}" "${ROOT}/include/rustimg/*.hpp")
list(APPEND files ${headers})
list(SORT files)

set(errors 0)
set(seen_pending)
foreach(file IN LISTS files)
  if(file MATCHES "^src/([A-Za-z0-9_]+)/")
    set(from ${CMAKE_MATCH_1})
  else()
    get_filename_component(name "${file}" NAME_WE)
    if(NOT DEFINED kHeaderModule_${name})
      message(SEND_ERROR "${file}: public header has no module: add it to kHeaderModule in ${CMAKE_CURRENT_LIST_FILE}")
      math(EXPR errors "${errors} + 1")
      continue()
    endif()
    set(from ${kHeaderModule_${name}})
  endif()
  file(STRINGS "${ROOT}/${file}" includes REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]")
  foreach(line IN LISTS includes)
    if(NOT line MATCHES "include[ \t]*[<\"]([^>\"]+)[>\"]")
      continue()
    endif()
    set(include ${CMAKE_MATCH_1})
    included_module("${file}" "${include}" to)
    if(to STREQUAL "" OR to STREQUAL from)
      continue()
    endif()
    list(FIND kAllowed_${from} "${to}" allowed)
    if(allowed GREATER -1)
      continue()
    endif()
    include_line("${file}" "${include}" n)
    string(REPLACE ";" ", " may "${kAllowed_${from}}")
    if(may STREQUAL "")
      set(may "nothing")
    endif()
    if(to STREQUAL "?")
      set(what "#include \"${include}\": public header has no module (add it to kHeaderModule in ${CMAKE_CURRENT_LIST_FILE})")
    else()
      set(what "#include \"${include}\": ${from} -> ${to} is against the layering (module ${from} may include only ${may})")
    endif()
    list(FIND PENDING "${file}|${include}" pending)
    if(pending GREATER -1)
      list(APPEND seen_pending "${file}|${include}")
      message(WARNING "${file}:${n}: ${what} [tolerated: PENDING in check_layering.cmake]")
    else()
      message(SEND_ERROR "${file}:${n}: ${what}")
      math(EXPR errors "${errors} + 1")
    endif()
  endforeach()
endforeach()

foreach(entry IN LISTS PENDING)
  list(FIND seen_pending "${entry}" i)
  if(i EQUAL -1)
    message(STATUS "check_layering: PENDING entry ${entry} no longer occurs: remove it")
  endif()
endforeach()

if(errors GREATER 0)
  message(FATAL_ERROR "check_layering: ${errors} include(s) against the module layering")
endif()
if(DEFINED STAMP)
  file(TOUCH "${STAMP}")
endif()
