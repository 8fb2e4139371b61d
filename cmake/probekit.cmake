# Helpers shared by the folders.

# probekit_library(NAME SOURCES... DEPS ...): one layer = one static library.
function(probekit_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_link_libraries(${name} PUBLIC probekit_flags ${ARG_DEPS})
endfunction()

# probekit_unit_test(NAME SOURCES... DEPS ... [BOTH_BACKENDS]): a GoogleTest
# executable whose tests ctest discovers one by one. BOTH_BACKENDS: each
# test is registered twice, as it is (the automatic backend) and, suffixed
# `.trap`, with every session it makes forced to the trap backend
# (PK_TEST_BACKEND=trap, read by tests/unit/engine/launch_support.h; the
# product itself has no such variable).
function(probekit_unit_test name)
  cmake_parse_arguments(ARG "BOTH_BACKENDS" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE probekit_flags ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 300)
  if(ARG_BOTH_BACKENDS)
    gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 TEST_SUFFIX .trap
      PROPERTIES TIMEOUT 300 ENVIRONMENT PK_TEST_BACKEND=trap)
  endif()
endfunction()

# probekit_target(NAME SOURCE [LANG c|cxx] [LIBS ...] [FLAGS ...]): a program
# traced by the tests, built four ways: PIE and non-PIE, -O0 and -O2. The
# executables land in ${CMAKE_BINARY_DIR}/targets/NAME-{pie,nopie}-{O0,O2}.
# They never get probekit's sanitizer flags: they are the traced, not the tracer.
function(probekit_target name source)  # [more sources...] [LIBS ...] [FLAGS ...]
  cmake_parse_arguments(ARG "" "" "LIBS;FLAGS" ${ARGN})
  foreach(pie pie nopie)
    foreach(opt O0 O2)
      set(t ${name}-${pie}-${opt})
      add_executable(${t} ${source} ${ARG_UNPARSED_ARGUMENTS})
      set_target_properties(${t} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/targets
        OUTPUT_NAME ${t})
      target_compile_options(${t} PRIVATE -${opt} -g -fno-omit-frame-pointer ${ARG_FLAGS})
      if(pie STREQUAL "pie")
        target_compile_options(${t} PRIVATE -fPIE)
        target_link_options(${t} PRIVATE -pie)
      else()
        target_compile_options(${t} PRIVATE -fno-pie)
        target_link_options(${t} PRIVATE -no-pie)
      endif()
      target_link_libraries(${t} PRIVATE ${ARG_LIBS})
      add_dependencies(probekit_targets ${t})
    endforeach()
  endforeach()
endfunction()
