# Cross toolchain: iOS 12+ devices (arm64), compile and archive only: clang
# -target arm64-apple-ios12.0 with zig's macOS headers (apple-zig-common.cmake).
# Builds libzonetrace.a; nothing is linked (no iOS libSystem stubs here).
# cmake -S . -B build-ios -DCMAKE_TOOLCHAIN_FILE=cmake/ios-arm64.cmake
# CMAKE_SYSTEM_NAME iOS would ask xcrun for an SDK: Darwin, and ZT_IOS tells
# CMakeLists.txt what a real iOS configure says with IOS.
set(CMAKE_SYSTEM_NAME Darwin)
set(ZT_IOS ON)
set(CMAKE_SYSTEM_PROCESSOR arm64)
set(ZT_CLANG_TARGET arm64-apple-ios12.0)
include(${CMAKE_CURRENT_LIST_DIR}/apple-zig-common.cmake)
