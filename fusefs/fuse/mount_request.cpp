#include "fusefs/fuse/mount_request.h"

#include <sys/stat.h>

#include <climits>
#include <cstdlib>
#include <cstring>

namespace cardfs::fuse {
namespace {

Result<std::string> absolute(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr)
    return Status::error(errno, path + ": " + std::strerror(errno));
  return std::string(buf);
}

}  // namespace

Result<MountRequest> prepare_mount(const std::string& image, const std::string& mountpoint,
                                   const std::vector<std::string>& option_args) {
  MountRequest req;
  CARDFS_ASSIGN_OR_RETURN(req.options, parse_mount_options(option_args));
  CARDFS_ASSIGN_OR_RETURN(req.image, absolute(image));
  CARDFS_ASSIGN_OR_RETURN(req.mountpoint, absolute(mountpoint));
  struct stat st;
  if (::stat(req.image.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    return Status::error(EINVAL, image + " is not a card image file (make one with mkfs.cardfs)");
  if (::stat(req.mountpoint.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return Status::error(ENOTDIR, mountpoint + " is not a directory");
  return req;
}

}  // namespace cardfs::fuse
