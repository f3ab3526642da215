# Target wrappers (after redpanda's v_cc_library): every module is one library with explicit
# DEPS, aliased sluice::<name>, so the module graph is visible and enforced by the linker.
include(CMakeParseArguments)

function(sluice_cc_library)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;HDRS;DEPS" ${ARGN})
  add_library(sluice_${ARG_NAME} ${ARG_SRCS} ${ARG_HDRS})
  add_library(sluice::${ARG_NAME} ALIAS sluice_${ARG_NAME})
  target_include_directories(sluice_${ARG_NAME} PUBLIC ${PROJECT_SOURCE_DIR})
  target_compile_options(sluice_${ARG_NAME} PRIVATE ${SLUICE_WARNINGS})
  target_link_libraries(sluice_${ARG_NAME} PUBLIC ${ARG_DEPS})
endfunction()

function(sluice_cc_binary)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_include_directories(${ARG_NAME} PRIVATE ${PROJECT_SOURCE_DIR})
  target_compile_options(${ARG_NAME} PRIVATE ${SLUICE_WARNINGS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS})
endfunction()

# sluice_cc_test(NAME x SRCS ... DEPS ... LABELS unit|integration|e2e)
function(sluice_cc_test)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  set_target_properties(${ARG_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  target_include_directories(${ARG_NAME} PRIVATE ${PROJECT_SOURCE_DIR})
  target_compile_options(${ARG_NAME} PRIVATE ${SLUICE_WARNINGS})
  target_compile_definitions(${ARG_NAME} PRIVATE
    SLUICE_SOURCE_DIR="${PROJECT_SOURCE_DIR}" SLUICE_BINARY_DIR="${CMAKE_BINARY_DIR}")
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  gtest_discover_tests(${ARG_NAME} DISCOVERY_MODE PRE_TEST PROPERTIES LABELS "${ARG_LABELS}")
endfunction()
