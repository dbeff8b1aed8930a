# ----------------------------------------------------------------------------
# apple-zig-common.cmake — shared part of the Apple cross toolchains
# (macos-arm64.cmake, macos-x86_64.cmake, ios-arm64.cmake). Not a toolchain
# file by itself: the including file sets ZT_ZIG_TARGET (zig's target triple)
# or ZT_CLANG_TARGET (clang's, compile only) first.
#
# The compiler is zig 0.11.0 (.ci/zig.sh installs it from the npm registry):
# `zig cc` carries the macOS 11-13 libc and Mach headers and libSystem .tbd
# stubs; macOS links go through ld64.lld (below). CMake wants one executable
# per compiler, so the commands are small wrapper scripts written into the
# build tree. The zig binary is ZT_ZIG (cache variable or environment), else
# .ci/zig.sh --path.
#
# Two things the Apple SDK has and zig's headers lack are supplied here:
#  - <libunwind.h>: zig's lib/libunwind/include is LLVM's libunwind, which is
#    what Apple ships as the system unwinder (the SDK's /usr/include).
#  - <xxhash.h>: a Mac gets it from Homebrew through pkg-config; here the
#    Debian header (libxxhash-dev) is copied alone into the build tree and
#    used header-only (XXH_INLINE_ALL, CMakeLists.txt), so no Linux include
#    directory is ever on the cross compiler's path.
# ----------------------------------------------------------------------------
set(CMAKE_SYSTEM_VERSION 13.0)
if(NOT ZT_ZIG)
  if(DEFINED ENV{ZT_ZIG})
    set(ZT_ZIG "$ENV{ZT_ZIG}")
  else()
    execute_process(COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/../.ci/zig.sh --path
                    OUTPUT_VARIABLE ZT_ZIG OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE zig_rc)
    if(NOT zig_rc EQUAL 0)
      message(FATAL_ERROR "zig 0.11.0 not found: run .ci/zig.sh (or set ZT_ZIG)")
    endif()
  endif()
endif()
set(ZT_ZIG "${ZT_ZIG}" CACHE FILEPATH "zig 0.11.0 (the Apple cross-toolchain)")
# try_compile projects see the toolchain file again: pass the path on.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES ZT_ZIG)
get_filename_component(ZT_ZIG_LIB "${ZT_ZIG}" DIRECTORY)
set(ZT_ZIG_LIB "${ZT_ZIG_LIB}/lib")

# Wrapper scripts live next to the top build tree (try_compile trees reuse
# them through CMAKE_TRY_COMPILE_PLATFORM_VARIABLES).
if(NOT ZT_CROSS_BIN)
  set(ZT_CROSS_BIN "${CMAKE_BINARY_DIR}/cross-bin")
endif()
set(ZT_CROSS_BIN "${ZT_CROSS_BIN}" CACHE PATH "wrapper scripts of the cross toolchain")
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES ZT_CROSS_BIN)
function(zt_cross_wrapper name)
  string(REPLACE ";" " " cmd "${ARGN}")
  file(WRITE "${ZT_CROSS_BIN}/${name}" "#!/bin/sh\nexec ${cmd} \"$@\"\n")
  execute_process(COMMAND chmod 755 "${ZT_CROSS_BIN}/${name}")
endfunction()

set(zt_sdk_headers
    -isystem ${ZT_ZIG_LIB}/libunwind/include)
set(zt_inc ${ZT_ZIG_LIB}/libc/include)
# Every compiler check compiles only (no C++ runtime to link against here).
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
if(ZT_ZIG_TARGET)
  # Linking: zig 0.11's own Mach-O linker puts private-extern (hidden)
  # symbols into the export trie and exports its compiler-rt, unlike Apple's
  # ld. So a link goes to Debian's clang with ld64.lld (LLVM's Mach-O
  # linker, lld) against zig's libSystem stubs, which gives the exports and
  # load commands Apple's ld gives; compiling stays with `zig cc`.
  find_program(ZT_CLANG NAMES clang clang-14 REQUIRED)
  find_program(ZT_LD64_LLD NAMES ld64.lld ld64.lld-14 PATHS /usr/lib/llvm-14/bin REQUIRED)
  set(zt_sdk "${ZT_CROSS_BIN}/sdk")
  file(MAKE_DIRECTORY "${zt_sdk}/usr/lib")
  file(CREATE_LINK "${ZT_ZIG_LIB}/libc/darwin/libSystem.13.tbd" "${zt_sdk}/usr/lib/libSystem.tbd"
       SYMBOLIC)
  string(REPLACE ";" " " zt_sdk_flags "${zt_sdk_headers}")
  foreach(lang cc c++)
    file(WRITE "${ZT_CROSS_BIN}/${lang}"
         "#!/bin/sh\n"
         "# compile with zig ${lang}; link with clang and ld64.lld (apple-zig-common.cmake)\n"
         "for a in \"$@\"; do case $a in -c|-E|-S|-M|-MM) exec '${ZT_ZIG}' ${lang} -target "
         "${ZT_ZIG_TARGET} ${zt_sdk_flags} \"$@\";; esac; done\n"
         "exec '${ZT_CLANG}' -target ${ZT_CLANG_TARGET} --ld-path='${ZT_LD64_LLD}' "
         "-isysroot '${zt_sdk}' -Wl,-platform_version,macos,13.0,13.0 \"$@\"\n")
    execute_process(COMMAND chmod 755 "${ZT_CROSS_BIN}/${lang}")
  endforeach()
else()
  # clang with zig's macOS 13 headers in place of an iOS SDK: the libc, Mach
  # and pthread declarations an iOS 12+ build of zonetrace uses are the same
  # (availability attributes aside); compile and archive only. clang keeps
  # its own builtin headers (stddef.h, arm_neon.h): -nostdlibinc drops only
  # the host's /usr/include.
  find_program(ZT_CLANG NAMES clang clang-14 REQUIRED)
  foreach(lang cc c++)
    zt_cross_wrapper(${lang} "${ZT_CLANG}" -target ${ZT_CLANG_TARGET} -nostdlibinc
                     -isystem ${zt_inc}/aarch64-macos.13-none
                     -isystem ${zt_inc}/any-macos.13-any -isystem ${zt_inc}/any-macos-any
                     ${zt_sdk_headers})
  endforeach()
endif()
zt_cross_wrapper(ar "${ZT_ZIG}" ar)
zt_cross_wrapper(ranlib "${ZT_ZIG}" ranlib)
set(CMAKE_C_COMPILER "${ZT_CROSS_BIN}/cc")
set(CMAKE_CXX_COMPILER "${ZT_CROSS_BIN}/c++")
set(CMAKE_AR "${ZT_CROSS_BIN}/ar" CACHE FILEPATH "archiver")
set(CMAKE_RANLIB "${ZT_CROSS_BIN}/ranlib" CACHE FILEPATH "ranlib")

# No SDK or deployment flags from CMake's Darwin platform: the target triple
# carries the OS version. Nothing of the Linux host is found by find_*.
set(CMAKE_OSX_SYSROOT "" CACHE PATH "" FORCE)
set(CMAKE_OSX_DEPLOYMENT_TARGET "" CACHE STRING "" FORCE)
set(CMAKE_FIND_ROOT_PATH "${ZT_ZIG_LIB}/libc")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(ENV{PKG_CONFIG_LIBDIR} "${ZT_CROSS_BIN}/no-pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# xxhash.h alone, from the Debian package, for the header-only build.
if(NOT ZT_XXHASH_INCLUDE_DIR AND EXISTS /usr/include/xxhash.h)
  file(COPY /usr/include/xxhash.h DESTINATION "${ZT_CROSS_BIN}/xxhash-include")
  set(ZT_XXHASH_INCLUDE_DIR "${ZT_CROSS_BIN}/xxhash-include" CACHE PATH "xxhash.h (header-only)")
endif()
