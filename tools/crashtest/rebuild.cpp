#include "tools/crashtest/rebuild.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "base/clock.h"
#include "sdcard/card.h"

namespace cardfs::crashtest {
namespace {

Status errno_status(const std::string& what) {
  const int e = errno ? errno : EIO;
  return Status::error(e, what + ": " + std::strerror(e));
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// The data ranges of `in` copied to the same offsets of `out`.
Status sparse_copy(int in, int out, off_t size) {
  for (off_t pos = 0; pos < size;) {
    const off_t data = ::lseek(in, pos, SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;  // only a hole is left
      return errno_status("seeking data");
    }
    off_t hole = ::lseek(in, data, SEEK_HOLE);
    if (hole < 0) hole = size;
    for (off_t src = data, dst = data; src < hole;) {
      const ssize_t n = ::copy_file_range(in, &src, out, &dst, size_t(hole - src), 0);
      if (n < 0) return errno_status("copying");
      if (n == 0) break;
    }
    pos = hole;
  }
  return Status::ok();
}

// Reads are replayed too (into a scratch buffer): they change no data, but
// the card counts them in its lifetime counters, which its header keeps.
Status replay(sdcard::Card& card, const blockdev::LoggedCommand& c) {
  static thread_local std::vector<std::byte> scratch;
  switch (c.kind) {
    case sdcard::CommandKind::kRead: {
      scratch.resize(c.sectors * 512);
      const iovec v{scratch.data(), scratch.size()};
      return card.read(c.sector, {&v, 1});
    }
    case sdcard::CommandKind::kWrite: return card.write(c.sector, c.data, c.fua);
    case sdcard::CommandKind::kFlush: return card.flush();
    case sdcard::CommandKind::kDiscard: return card.discard(c.sector, c.sectors);
  }
  return Status::ok();
}

}  // namespace

Status copy_image(const std::string& from, const std::string& to) {
  Fd in{::open(from.c_str(), O_RDONLY | O_CLOEXEC)};
  if (in.fd < 0) return errno_status("opening " + from);
  struct stat st;
  if (::fstat(in.fd, &st) != 0) return errno_status("reading " + from);
  Fd out{::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)};
  if (out.fd < 0) return errno_status("creating " + to);
  if (::ioctl(out.fd, FICLONE, in.fd) == 0) return Status::ok();  // a reflink: no bytes copied
  if (::ftruncate(out.fd, st.st_size) != 0) return errno_status("sizing " + to);
  return sparse_copy(in.fd, out.fd, st.st_size).with_context(from + " to " + to);
}

Status rebuild_state(const std::string& snapshot, const std::vector<blockdev::LoggedCommand>& log,
                     const CrashState& state, const std::string& out) {
  if (!state.all && state.after > log.size())
    return Status::error(EINVAL, "state " + state.key() + " is past the log's " + std::to_string(log.size()) +
                                     " commands");
  CARDFS_RETURN_IF_ERROR(copy_image(snapshot, out));
  VirtualClock clock;
  CARDFS_ASSIGN_OR_RETURN(std::unique_ptr<sdcard::Card> card, sdcard::Card::open(out, clock));
  const uint64_t n = state.all ? log.size() : state.after;
  for (uint64_t i = 0; i < n; ++i)
    CARDFS_RETURN_IF_ERROR(replay(*card, log[i]).with_context("replaying command " + std::to_string(i + 1)));
  if (state.all) return card->close();
  if (state.torn && n < log.size()) {
    // The next command is cut inside: it programs torn_after pages and
    // tears the next one (when it programs that many; else it is lost
    // whole). The plan counts from here and cuts during its second
    // command, so a one-sector read (which changes nothing) goes first.
    sdcard::FaultPlan plan;
    plan.power_cut_after = 1;
    plan.cut = sdcard::FaultPlan::Cut::kTorn;
    plan.torn_after = state.torn_after;
    card->set_faults(plan);
    std::byte sector[512];
    const iovec one{sector, sizeof sector};
    CARDFS_RETURN_IF_ERROR(card->read(0, {&one, 1}));
    Status cut = replay(*card, log[n]);
    if (cut.code() != EIO && log[n].kind != sdcard::CommandKind::kRead)
      return Status::error(EIO, "the torn cut in command " + std::to_string(n + 1) + " did not happen");
  }
  card->cut_power();
  return Status::ok();
}

}  // namespace cardfs::crashtest
