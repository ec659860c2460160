# Known GCC false positives, silenced in the files where they fire and nowhere else (-Wall and the
# rest of tapstack_warnings stay on everywhere). Included by the top-level CMakeLists.txt once every
# target exists. Each entry names the functions that trigger it, so the entry can follow its code
# when a file moves; a stale path breaks nothing (the warning just comes back in that file).

# GCC 12, -Wrestrict at -O2 and above (GCC bug 105651): `"literal" + std::string&&` runs
# libstdc++'s operator+ -> insert(0, ...) -> _M_replace -> char_traits::copy inlined into our
# function, and GCC reports a memcpy of about 2^63 bytes whose source and destination "may
# overlap". No such copy exists: the literal and the temporary string never alias. The debug
# build (-O0) inlines nothing and does not warn.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 12
   AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  function(tapstack_gcc12_no_restrict target)
    if(TARGET ${target})
      set_property(SOURCE ${ARGN} TARGET_DIRECTORY ${target} APPEND PROPERTY COMPILE_OPTIONS -Wno-restrict)
    endif()
  endfunction()
  # ip::endpoint::to_string ("[" + address + "]:" + port)
  tapstack_gcc12_no_restrict(tapstack_core ${PROJECT_SOURCE_DIR}/stack/src/ip/address.cpp)
  # flow_name ("[" + host6 + "]") and first_difference's tsval check ("+" + num(...))
  tapstack_gcc12_no_restrict(tapstack_replay ${PROJECT_SOURCE_DIR}/apps/replay/src/compare.cpp)
  # parse_list ("unknown name '" + item + ...)
  tapstack_gcc12_no_restrict(replay ${PROJECT_SOURCE_DIR}/apps/replay/main.cpp)
endif()
