# `cmake --install build [--prefix P]` (scripts/install.sh runs it):
#   P/bin/cardfs                  the binary
#   P/sbin/<alias> -> ../bin/cardfs   mkfs(8) and fsck(8) search /sbin, then
#                                 PATH: root's PATH has /usr/local/sbin
#   HELPER_DIR/{u,}mount.* -> P/bin/cardfs   mount(8) and umount(8) run
#                                 helpers from /sbin only (libmount does not
#                                 search PATH), so these go there whatever
#                                 the prefix; empty HELPER_DIR skips them
# DESTDIR is honoured for both; every link lands in install_manifest.txt.
include(GNUInstallDirs)
set(CARDFS_MOUNT_HELPER_DIR "/sbin" CACHE STRING
    "Where mount(8)/umount(8) find mount.fuse.cardfs and umount.fuse.cardfs (empty: not installed)")

install(TARGETS cardfs RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

set(cardfs_mount_helpers ${CARDFS_ALIASES})
list(FILTER cardfs_mount_helpers INCLUDE REGEX "^u?mount\\.")
# The links are made at install time: the prefix is only known then
# (`cmake --install --prefix`), hence the escaped variables.
install(CODE "
  set(bindir \"${CMAKE_INSTALL_BINDIR}\")
  set(sbindir \"${CMAKE_INSTALL_SBINDIR}\")
  set(target \"\${CMAKE_INSTALL_PREFIX}/\${bindir}/cardfs\")
  function(cardfs_link dir name to)
    file(MAKE_DIRECTORY \"\$ENV{DESTDIR}\${dir}\")
    message(STATUS \"Installing: \$ENV{DESTDIR}\${dir}/\${name} -> \${to}\")
    file(CREATE_LINK \"\${to}\" \"\$ENV{DESTDIR}\${dir}/\${name}\" SYMBOLIC)
    list(APPEND CMAKE_INSTALL_MANIFEST_FILES \"\${dir}/\${name}\")
    set(CMAKE_INSTALL_MANIFEST_FILES \"\${CMAKE_INSTALL_MANIFEST_FILES}\" PARENT_SCOPE)
  endfunction()
  file(RELATIVE_PATH rel \"\${CMAKE_INSTALL_PREFIX}/\${sbindir}\" \"\${target}\")
  foreach(alias ${CARDFS_ALIASES})
    cardfs_link(\"\${CMAKE_INSTALL_PREFIX}/\${sbindir}\" \${alias} \"\${rel}\")
  endforeach()
  if(NOT \"${CARDFS_MOUNT_HELPER_DIR}\" STREQUAL \"\")
    foreach(helper ${cardfs_mount_helpers})
      cardfs_link(\"${CARDFS_MOUNT_HELPER_DIR}\" \${helper} \"\${target}\")
    endforeach()
  endif()
")
