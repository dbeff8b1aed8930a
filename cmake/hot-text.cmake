# hot-text.cmake — zt_hot_text(target): link `target` with the linker's own
# default script, in which cmake/hot-text.txt's functions come first in
# .text (why: see that file).
#
# The script is the one the linker reports for this very kind of link
# (gcc -shared -Wl,--verbose), with the list inserted at the head of the
# .text output section, so the text stays one section named .text (tools
# such as valgrind name only the functions inside .text). Another linker,
# or a script without that anchor: the link is left as it was.
function(zt_hot_text target)
  set(list_file ${CMAKE_SOURCE_DIR}/cmake/hot-text.txt)
  set(out ${CMAKE_BINARY_DIR}/hot-text.ld)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${list_file})
  set(probe ${CMAKE_BINARY_DIR}/CMakeFiles/hot-text-probe)
  file(WRITE ${probe}.c "int zt_hot_text_probe;\n")
  separate_arguments(extra UNIX_COMMAND "${CMAKE_SHARED_LINKER_FLAGS}")
  execute_process(COMMAND ${CMAKE_C_COMPILER} -shared -fPIC ${extra} -Wl,--verbose -o ${probe}.so
                          ${probe}.c
                  OUTPUT_VARIABLE verbose ERROR_QUIET RESULT_VARIABLE rc)
  set(anchor "    *(.text.unlikely .text.*_unlikely .text.unlikely.*)")
  string(REGEX MATCH "\n=+\n(.*)\n=+\n" script "${verbose}")
  set(script "${CMAKE_MATCH_1}")
  string(FIND "${script}" "${anchor}" at)
  if(NOT rc EQUAL 0 OR at LESS 0)
    message(STATUS "hot-text: the linker gave no default script to extend; link order kept")
    return()
  endif()
  file(STRINGS ${list_file} entries REGEX "^[^#]")
  set(block "    /* cmake/hot-text.txt */\n")
  foreach(e IN LISTS entries)
    string(STRIP "${e}" e)
    if(e MATCHES "\\(")
      string(APPEND block "    ${e}\n")
    elseif(NOT e STREQUAL "")
      string(APPEND block "    *(.text.${e} .text.${e}.*)\n")
    endif()
  endforeach()
  string(REPLACE "${anchor}" "${block}${anchor}" script "${script}")
  file(WRITE ${out} "${script}\n")
  # Segments aligned to 64 KiB (ld.so maps such a library at a 64 KiB
  # boundary, glibc >= 2.35): the hot run then starts a fault-around window
  # instead of sharing its first one with whatever precedes .text, and its
  # first 64 KiB are one window.
  target_link_options(${target} PRIVATE -Wl,-T,${out} -Wl,-z,max-page-size=0x10000)
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS ${out})
endfunction()
