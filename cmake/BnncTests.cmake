# Test registration helpers (used by tests/*/CMakeLists.txt).
#
# bnnc_add_unit_test(NAME SOURCES... LIBS...) builds a C test program and
# registers it with ctest under the label of its folder.

function(bnnc_add_unit_test name)
  cmake_parse_arguments(T "" "LABEL" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  bnnc_target_defaults(${name})
  add_test(NAME ${name} COMMAND ${name})
  if(T_LABEL)
    set_tests_properties(${name} PROPERTIES LABELS ${T_LABEL})
  endif()
endfunction()

# bnnc_add_cli_test(NAME COMMAND cmd args... EXIT code
#                   [STDOUT_FILE f] [STDERR_FILE f] [STDOUT_MATCH re] [STDERR_MATCH re]
#                   [WORKDIR dir] [LABEL l])
# Runs a command (use $<TARGET_FILE:bnnc> for the compiler) and checks its exit
# code and output exactly (files) or by regular expression.
function(bnnc_add_cli_test name)
  cmake_parse_arguments(T "" "EXIT;STDOUT_FILE;STDERR_FILE;STDOUT_MATCH;STDERR_MATCH;WORKDIR;LABEL"
                        "COMMAND" ${ARGN})
  string(REPLACE ";" "|" cmd "${T_COMMAND}")
  set(args -DCMD=${cmd} -DEXPECT_EXIT=${T_EXIT})
  foreach(opt STDOUT_FILE STDERR_FILE STDOUT_MATCH STDERR_MATCH WORKDIR)
    if(DEFINED T_${opt})
      list(APPEND args "-D${opt}=${T_${opt}}")
    endif()
  endforeach()
  add_test(NAME ${name} COMMAND ${CMAKE_COMMAND} ${args} -P ${PROJECT_SOURCE_DIR}/cmake/RunCommandTest.cmake)
  if(T_LABEL)
    set_tests_properties(${name} PROPERTIES LABELS ${T_LABEL})
  endif()
endfunction()

# bnnc_add_expected_output_tests(PREFIX DRIVER DIR [LABEL label]) registers one
# test PREFIX/NAME per DIR/NAME.bnn, running `DRIVER NAME.bnn NAME.expected`:
# an input and its reviewed expected output side by side. Adding a case is
# adding the two files (re-run cmake to pick them up).
function(bnnc_add_expected_output_tests prefix driver dir)
  cmake_parse_arguments(T "" "LABEL" "" ${ARGN})
  file(GLOB cases CONFIGURE_DEPENDS ${dir}/*.bnn)
  foreach(case ${cases})
    get_filename_component(name ${case} NAME_WE)
    add_test(NAME ${prefix}/${name} COMMAND ${driver} ${case} ${dir}/${name}.expected)
    if(T_LABEL)
      set_tests_properties(${prefix}/${name} PROPERTIES LABELS ${T_LABEL})
    endif()
  endforeach()
endfunction()
