# The regex engine behind every signature database: Intel Hyperscan or Vectorscan (the same
# API, hs/hs.h; Vectorscan also builds on ARM). Defines the interface target
# eastwatch_regex_engine and EASTWATCH_REGEX_ENGINE_VERSION.
#
#   -DEASTWATCH_REGEX_ENGINE=hyperscan   (default) pkg-config libhs: Debian's libhyperscan-dev
#   -DEASTWATCH_REGEX_ENGINE=vectorscan  with -DEASTWATCH_VECTORSCAN_ROOT=DIR: a prefix holding
#       usr/include/hs/hs.h (or include/hs/hs.h) and libhs.a, e.g. Debian's libvectorscan-dev
#       unpacked with dpkg -x beside an installed libhyperscan-dev; linked statically, because
#       both libraries are named libhs.so.5 and the loader would pick whichever comes first.
#       Without EASTWATCH_VECTORSCAN_ROOT: pkg-config libhs, where libvectorscan-dev is the
#       installed one (ARM hosts, where Hyperscan does not exist).
set(EASTWATCH_REGEX_ENGINE "hyperscan" CACHE STRING "Regex engine: hyperscan or vectorscan")
set_property(CACHE EASTWATCH_REGEX_ENGINE PROPERTY STRINGS hyperscan vectorscan)
set(EASTWATCH_VECTORSCAN_ROOT "" CACHE PATH "Prefix of an unpacked libvectorscan-dev (vectorscan only)")

add_library(eastwatch_regex_engine INTERFACE)
if(EASTWATCH_REGEX_ENGINE STREQUAL "hyperscan")
  pkg_check_modules(HYPERSCAN REQUIRED IMPORTED_TARGET libhs)
  target_link_libraries(eastwatch_regex_engine INTERFACE PkgConfig::HYPERSCAN)
  set(EASTWATCH_REGEX_ENGINE_VERSION ${HYPERSCAN_VERSION})
elseif(EASTWATCH_REGEX_ENGINE STREQUAL "vectorscan")
  if(EASTWATCH_VECTORSCAN_ROOT)
    find_path(VECTORSCAN_INCLUDE_DIR hs/hs.h HINTS ${EASTWATCH_VECTORSCAN_ROOT}
              PATH_SUFFIXES usr/include include NO_DEFAULT_PATH)
    find_library(VECTORSCAN_LIBRARY NAMES libhs.a HINTS ${EASTWATCH_VECTORSCAN_ROOT}
                 PATH_SUFFIXES usr/lib/${CMAKE_LIBRARY_ARCHITECTURE} lib/${CMAKE_LIBRARY_ARCHITECTURE} usr/lib lib
                 NO_DEFAULT_PATH)
    find_file(VECTORSCAN_PC libhs.pc HINTS ${EASTWATCH_VECTORSCAN_ROOT}
              PATH_SUFFIXES usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/pkgconfig lib/${CMAKE_LIBRARY_ARCHITECTURE}/pkgconfig
                            usr/lib/pkgconfig lib/pkgconfig NO_DEFAULT_PATH)
    if(NOT VECTORSCAN_INCLUDE_DIR OR NOT VECTORSCAN_LIBRARY OR NOT VECTORSCAN_PC)
      message(FATAL_ERROR "EASTWATCH_VECTORSCAN_ROOT=${EASTWATCH_VECTORSCAN_ROOT}: no hs/hs.h, libhs.a or "
                          "pkgconfig/libhs.pc under it (unpack libvectorscan-dev and libvectorscan5 with dpkg -x)")
    endif()
    # The .pc file says prefix=/usr (it is the package's): only its version is read.
    file(STRINGS ${VECTORSCAN_PC} version_line REGEX "^Version:")
    string(REGEX REPLACE "^Version:[ \t]*" "" EASTWATCH_REGEX_ENGINE_VERSION "${version_line}")
    target_include_directories(eastwatch_regex_engine SYSTEM INTERFACE ${VECTORSCAN_INCLUDE_DIR} ${VECTORSCAN_INCLUDE_DIR}/hs)
    target_link_libraries(eastwatch_regex_engine INTERFACE ${VECTORSCAN_LIBRARY} m)
  else()
    pkg_check_modules(VECTORSCAN REQUIRED IMPORTED_TARGET libhs)
    target_link_libraries(eastwatch_regex_engine INTERFACE PkgConfig::VECTORSCAN)
    set(EASTWATCH_REGEX_ENGINE_VERSION ${VECTORSCAN_VERSION})
  endif()
else()
  message(FATAL_ERROR "EASTWATCH_REGEX_ENGINE=${EASTWATCH_REGEX_ENGINE}: must be hyperscan or vectorscan")
endif()
# Intel's Hyperscan ended at 5.4.2; Vectorscan's releases start at 5.4.3 (same library name).
if(EASTWATCH_REGEX_ENGINE STREQUAL "vectorscan" AND EASTWATCH_REGEX_ENGINE_VERSION VERSION_LESS 5.4.3)
  message(FATAL_ERROR "EASTWATCH_REGEX_ENGINE=vectorscan, but libhs ${EASTWATCH_REGEX_ENGINE_VERSION} is Hyperscan "
                      "(set EASTWATCH_VECTORSCAN_ROOT to an unpacked libvectorscan-dev: packaging/scripts/vectorscan-prefix.sh)")
elseif(EASTWATCH_REGEX_ENGINE STREQUAL "hyperscan" AND NOT EASTWATCH_REGEX_ENGINE_VERSION VERSION_LESS 5.4.3)
  message(FATAL_ERROR "EASTWATCH_REGEX_ENGINE=hyperscan, but libhs ${EASTWATCH_REGEX_ENGINE_VERSION} is Vectorscan "
                      "(libvectorscan-dev is installed: configure with -DEASTWATCH_REGEX_ENGINE=vectorscan)")
endif()
target_compile_definitions(eastwatch_regex_engine INTERFACE EASTWATCH_REGEX_ENGINE_NAME="${EASTWATCH_REGEX_ENGINE}")
message(STATUS "Regex engine: ${EASTWATCH_REGEX_ENGINE} ${EASTWATCH_REGEX_ENGINE_VERSION}")
