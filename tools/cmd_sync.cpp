// `cardfs sync MOUNTPOINT...`: writes back everything a mounted cardfs
// holds (data, metadata, then the card's cache flush), by writing "1" to
// MOUNTPOINT/.cardfs/sync. Plain sync(1) cannot do it: the kernel sends a
// /dev/fuse mount no SYNCFS (only fsync of one open file reaches the
// daemon, as `sync FILE` or `dd conv=fsync` do), so after `sync` cardfs's
// own cache may still be dirty.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "tools/command.h"

namespace cardfs::tools {
namespace {

int sync_one(const std::string& mountpoint) {
  const std::string path = mountpoint + "/.cardfs/sync";
  const int fd = ::open(path.c_str(), O_WRONLY);
  if (fd < 0) {
    std::fprintf(stderr, "cardfs sync: %s: %s (is a cardfs mounted there?)\n", path.c_str(),
                 std::strerror(errno));
    return 1;
  }
  // The write returns once the card has flushed; its error is the sync's.
  const ssize_t n = ::write(fd, "1", 1);
  const int err = errno;
  ::close(fd);
  if (n != 1) {
    std::fprintf(stderr, "cardfs sync: %s: %s\n", mountpoint.c_str(), std::strerror(err));
    return 1;
  }
  return 0;
}

void add_sync(CLI::App& app, CommandContext& ctx) {
  auto mounts = std::make_shared<std::vector<std::string>>();
  auto* sub = app.add_subcommand(
      "sync", "Write back a mounted cardfs to its card (sync(1) does not reach a FUSE mount)");
  sub->add_option("mountpoint", *mounts, "Where the cardfs is mounted")->required();
  sub->callback([&ctx, mounts] {
    ctx.run = [mounts] {
      int rc = 0;
      for (const auto& m : *mounts) rc |= sync_one(m);
      return rc;
    };
  });
}

}  // namespace

CARDFS_REGISTER_COMMAND("sync", add_sync);

}  // namespace cardfs::tools
