# Every dependency comes from a Debian package; a missing one stops the
# configure step with the package to install.
find_package(PkgConfig)
if(NOT PKG_CONFIG_FOUND)
  message(FATAL_ERROR "pkg-config not found: apt-get install pkg-config")
endif()

function(cardfs_require_pkg target module debian_package)
  pkg_check_modules(${target} IMPORTED_TARGET ${module})
  if(NOT ${target}_FOUND)
    message(FATAL_ERROR "${module} not found: apt-get install ${debian_package}")
  endif()
endfunction()

cardfs_require_pkg(FUSE3 fuse3 libfuse3-dev)
cardfs_require_pkg(URING liburing liburing-dev)
# UUIDs as mke2fs parses, generates and prints them (base/uuid.h).
cardfs_require_pkg(UUID uuid uuid-dev)
# "Is this image or directory mounted": the mount table as util-linux
# parses it, escapes and both formats included (base/mount_table.h).
cardfs_require_pkg(MOUNT mount libmount-dev)
# cardfs inspect's prompt: line editing and a history, as debugfs users
# expect (tools/inspect/line_reader.h); BSD-licensed, unlike readline.
cardfs_require_pkg(EDIT libedit libedit-dev)

find_package(spdlog QUIET)
if(NOT spdlog_FOUND)
  message(FATAL_ERROR "spdlog not found: apt-get install libspdlog-dev")
endif()

find_package(CLI11 QUIET)
if(NOT CLI11_FOUND)
  if(EXISTS /usr/include/CLI/CLI.hpp)
    add_library(CLI11::CLI11 INTERFACE IMPORTED)
  else()
    message(FATAL_ERROR "CLI11 not found: apt-get install libcli11-dev")
  endif()
endif()

find_package(Catch2 2 QUIET)
if(NOT Catch2_FOUND)
  message(FATAL_ERROR "Catch2 v2 not found: apt-get install catch2")
endif()

find_package(Threads REQUIRED)

# JSON output of the tools (replay, inspect and card info --json): Debian's
# nlohmann-json3-dev, header-only; one well-kept library instead of
# hand-written emitters that disagreed on types and escaping.
find_package(nlohmann_json 3 QUIET)
if(NOT nlohmann_json_FOUND)
  message(FATAL_ERROR "nlohmann_json not found: apt-get install nlohmann-json3-dev")
endif()
