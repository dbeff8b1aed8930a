# Cross toolchain: macOS on Intel (x86_64), zig cc (apple-zig-common.cmake).
# cmake -S . -B build-macos-x86_64 -DCMAKE_TOOLCHAIN_FILE=cmake/macos-x86_64.cmake
set(CMAKE_SYSTEM_NAME Darwin)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(ZT_ZIG_TARGET x86_64-macos.13.0)
set(ZT_CLANG_TARGET x86_64-apple-macos13.0) # the link (ld64.lld)
include(${CMAKE_CURRENT_LIST_DIR}/apple-zig-common.cmake)
