# ---- install ---------------------------------------------------------------
# `cmake --install build --prefix P` puts in P: the library (shared and
# static), the headers, the CLI, the demo's scenario programs (libexec), a
# pkg-config file, a CMake package (find_package(zonetrace)), the man page
# (generated from the CLI's own --help texts) and bash completion. The
# installed CLI finds the library and the scenarios relative to itself
# (ZT_REL_LIBDIR, ZT_REL_LIBEXECDIR below); no source or build path is
# baked into anything installed.
include(GNUInstallDirs)
if(NOT TARGET zonetrace) # iOS: the library only (CMakeLists.txt)
  install(TARGETS zonetrace_static ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(FILES include/zonetrace.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(DIRECTORY include/zonetrace DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  return()
endif()

file(RELATIVE_PATH ZT_REL_LIBDIR ${CMAKE_INSTALL_FULL_BINDIR} ${CMAKE_INSTALL_FULL_LIBDIR})
file(RELATIVE_PATH ZT_REL_LIBEXECDIR ${CMAKE_INSTALL_FULL_BINDIR}
     ${CMAKE_INSTALL_FULL_LIBEXECDIR}/zonetrace)
target_compile_definitions(zonetrace PRIVATE ZT_REL_LIBDIR="${ZT_REL_LIBDIR}"
                                             ZT_REL_LIBEXECDIR="${ZT_REL_LIBEXECDIR}")

install(TARGETS zonetrace_shared zonetrace_static
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS zonetrace RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES include/zonetrace.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/zonetrace DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
file(RELATIVE_PATH ZT_REL_LIBEXEC_TO_LIB ${CMAKE_INSTALL_FULL_LIBEXECDIR}/zonetrace
     ${CMAKE_INSTALL_FULL_LIBDIR})
foreach(demo attrlist jetsam_grow xzone_highwater)
  if(TARGET scenario_${demo})
    set_target_properties(scenario_${demo} PROPERTIES INSTALL_RPATH "$ORIGIN/${ZT_REL_LIBEXEC_TO_LIB}")
    install(TARGETS scenario_${demo} RUNTIME DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/zonetrace)
  endif()
endforeach()

# pkg-config: libzonetrace and what its static archive needs. The prefix is
# found from the .pc file's own place, so `--prefix` at install time holds.
if(APPLE)
  set(ZT_PC_REQUIRES "") # the system unwinder and header-only xxhash
else()
  set(ZT_PC_REQUIRES "libxxhash") # libunwind: loaded at run time (profiler/capture.c)
endif()
file(RELATIVE_PATH ZT_PC_TO_PREFIX ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
configure_file(dist/zonetrace.pc.in ${CMAKE_BINARY_DIR}/zonetrace.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/zonetrace.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# The CMake package: zonetrace::zonetrace (shared) and zonetrace::static.
include(CMakePackageConfigHelpers)
configure_package_config_file(dist/zonetraceConfig.cmake.in
  ${CMAKE_BINARY_DIR}/zonetraceConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/zonetrace
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR CMAKE_INSTALL_LIBDIR)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/zonetraceConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/zonetraceConfig.cmake
              ${CMAKE_BINARY_DIR}/zonetraceConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/zonetrace)

# The man page, from the help texts of the built CLI (which must run here:
# not in a cross build).
if(CMAKE_CROSSCOMPILING)
  return()
endif()
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/zonetrace.1
  COMMAND bash ${CMAKE_SOURCE_DIR}/dist/man.sh $<TARGET_FILE:zonetrace> ${PROJECT_VERSION}
          > ${CMAKE_BINARY_DIR}/zonetrace.1
  DEPENDS zonetrace ${CMAKE_SOURCE_DIR}/dist/man.sh
  COMMENT "man page from zonetrace --help")
add_custom_target(zonetrace_man ALL DEPENDS ${CMAKE_BINARY_DIR}/zonetrace.1)
install(FILES ${CMAKE_BINARY_DIR}/zonetrace.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES dist/zonetrace.bash RENAME zonetrace
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
