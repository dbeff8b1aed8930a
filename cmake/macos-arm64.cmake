# Cross toolchain: macOS on Apple silicon (arm64), zig cc (apple-zig-common.cmake).
# cmake -S . -B build-macos-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/macos-arm64.cmake
set(CMAKE_SYSTEM_NAME Darwin)
set(CMAKE_SYSTEM_PROCESSOR arm64)
set(ZT_ZIG_TARGET aarch64-macos.13.0)
set(ZT_CLANG_TARGET arm64-apple-macos13.0) # the link (ld64.lld)
include(${CMAKE_CURRENT_LIST_DIR}/apple-zig-common.cmake)
