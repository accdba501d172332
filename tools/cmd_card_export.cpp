// `cardfs card export IMAGE DIR [--realtime]`: the raw card as the single
// file DIR/card, through a small FUSE mount (libfuse3 low-level API), so
// that losetup + mkfs.ext4 + mount, or flashbench, run on the emulated card.
//
// Files are opened direct_io (no kernel page cache: every read and write
// reaches the card, as O_DIRECT asks); O_SYNC/O_DSYNC writes are FUA, and
// fsync is the card's cache flush. Requests not aligned to 512 bytes are
// read-modify-written. One thread serves requests, one at a time, as the
// card takes them. Like `cardfs mount`, it daemonises once DIR/card is up
// (errors before that reach the terminal; -f stays in the foreground).
// Runs until DIR is unmounted or SIGINT/SIGTERM, then closes the card
// cleanly.
//
// With --trace NAME every card command is recorded in blktrace format
// (NAME.blktrace.N, D when it reaches the card and C when done, on the
// host's clock; `cardfs trace` prints it, `cardfs replay` replays it).
//
// With --record NAME every card command and the data it wrote go to
// NAME.blktrace.0 (blockdev/command_log.h), and a line written to DIR/mark
// goes there as a marker: what `cardfs crashtest --fs ext4` records.
//
// DIR/stat (read-only) holds the card's counters at the moment it is
// opened, as "card.NAME VALUE" lines (sdcard/counters_text.h, the names of
// .cardfs/stat), so a run can be sampled while it goes. When the export
// exits in the foreground (-f) it prints the same lines, taken after the
// card's close, on stdout.
#define FUSE_USE_VERSION 314
#include <fcntl.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/image_claim.h"
#include "blockdev/command_log.h"
#include "blockdev/tracer.h"
#include "fusefs/fuse/daemon.h"
#include "fusefs/fuse/op_guard.h"  // fuse_lowlevel.h
#include "sdcard/card.h"
#include "sdcard/counters_text.h"
#include "tools/fsck/progress.h"

namespace cardfs::tools {
namespace {

using fuse::guard;
namespace reply = fuse::reply;

constexpr fuse_ino_t kCardIno = 2;
constexpr fuse_ino_t kStatIno = 3;
constexpr fuse_ino_t kMarkIno = 4;
constexpr const char* kCardName = "card";
constexpr const char* kStatName = "stat";
constexpr const char* kMarkName = "mark";
constexpr uint64_t kSector = 512;
constexpr const char* kWho = "cardfs card export";

struct Export {
  sdcard::Card* card;
  uint64_t bytes;
  blockdev::Tracer* tracer = nullptr;  // --trace
  blockdev::CommandLog* log = nullptr; // --record
};

Export& self(fuse_req_t req) { return *static_cast<Export*>(fuse_req_userdata(req)); }

// Runs one card command, recorded in the trace when there is one: the
// requester's pid names the process (its comm read from /proc).
template <typename Command>
Status traced(fuse_req_t req, uint32_t tc_bits, uint64_t offset, uint64_t bytes, Command&& command) {
  blockdev::Tracer* t = self(req).tracer;
  if (t == nullptr || !t->on()) return command();
  namespace bt = blockdev::blktrace;
  static const std::array<char, 16> kByPid{};
  const pid_t pid = fuse_req_ctx(req)->pid;
  const uint32_t bits = bt::category(tc_bits);
  t->record({bt::kActIssue, bits, offset / kSector, uint32_t(bytes), pid, &kByPid});
  Status st = command();
  t->record({bt::kActComplete, bits, offset / kSector, uint32_t(bytes), pid, &kByPid, st.is_ok() ? 0 : st.code()});
  return st;
}

struct stat attr_of(fuse_ino_t ino, const Export& e) {
  struct stat st {};
  st.st_ino = ino;
  if (ino == FUSE_ROOT_ID) {
    st.st_mode = S_IFDIR | 0755;
    st.st_nlink = 2;
  } else if (ino == kStatIno || ino == kMarkIno) {
    st.st_mode = S_IFREG | (ino == kStatIno ? 0444 : 0200);  // size 0: made at open / written only
    st.st_nlink = 1;
  } else {
    st.st_mode = S_IFREG | 0644;
    st.st_nlink = 1;
    st.st_size = off_t(e.bytes);
    st.st_blocks = blkcnt_t(e.bytes / 512);
  }
  st.st_blksize = 4096;
  st.st_uid = getuid();
  st.st_gid = getgid();
  return st;
}

bool known(fuse_ino_t ino) { return ino == FUSE_ROOT_ID || ino == kCardIno || ino == kStatIno || ino == kMarkIno; }

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  fuse_ino_t ino = 0;
  if (parent == FUSE_ROOT_ID && std::strcmp(name, kCardName) == 0) ino = kCardIno;
  if (parent == FUSE_ROOT_ID && std::strcmp(name, kStatName) == 0) ino = kStatIno;
  if (parent == FUSE_ROOT_ID && std::strcmp(name, kMarkName) == 0) ino = kMarkIno;
  if (ino == 0) {
    reply::err(req, ENOENT);
    return;
  }
  fuse_entry_param e{};
  e.ino = ino;
  e.attr = attr_of(ino, self(req));
  e.attr_timeout = e.entry_timeout = 1.0;
  reply::entry(req, &e);
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  if (!known(ino)) {
    reply::err(req, ENOENT);
    return;
  }
  struct stat st = attr_of(ino, self(req));
  reply::attr(req, &st, 1.0);
}

void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info*) {
  if (ino != kCardIno && ino != kMarkIno) {
    reply::err(req, EPERM);
    return;
  }
  // The card's size is fixed; truncating to it (as some tools do) is fine.
  if ((to_set & FUSE_SET_ATTR_SIZE) && uint64_t(attr->st_size) != self(req).bytes) {
    reply::err(req, EPERM);
    return;
  }
  struct stat st = attr_of(ino, self(req));
  reply::attr(req, &st, 1.0);
}

void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  if (ino != FUSE_ROOT_ID) {
    reply::err(req, ENOTDIR);
    return;
  }
  std::vector<char> buf(size);
  size_t used = 0;
  const char* names[] = {".", "..", kCardName, kStatName, kMarkName};
  const fuse_ino_t inos[] = {FUSE_ROOT_ID, FUSE_ROOT_ID, kCardIno, kStatIno, kMarkIno};
  for (off_t i = off; i < 5; ++i) {
    struct stat st = attr_of(inos[i], self(req));
    size_t n = fuse_add_direntry(req, buf.data() + used, size - used, names[i], &st, i + 1);
    if (n > size - used) break;
    used += n;
  }
  reply::buf(req, buf.data(), used);
}

// DIR/stat: the counters of this moment, kept with the open file so that
// reads at any offset see one snapshot; op_release frees it.
void open_stat(fuse_req_t req, fuse_file_info* fi) {
  if ((fi->flags & O_ACCMODE) != O_RDONLY) {
    reply::err(req, EACCES);
    return;
  }
  fi->direct_io = 1;
  fi->fh = reinterpret_cast<uint64_t>(new std::string(sdcard::counters_text(*self(req).card)));
  if (reply::open(req, fi) != 0) delete reinterpret_cast<std::string*>(fi->fh);
}

void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  if (ino == kStatIno) {
    open_stat(req, fi);
    return;
  }
  if (ino == kMarkIno) {
    fi->direct_io = 1;
    reply::open(req, fi);
    return;
  }
  if (ino != kCardIno) {
    reply::err(req, EISDIR);
    return;
  }
  fi->direct_io = 1;
  fi->keep_cache = 0;
  fi->fh = (fi->flags & (O_SYNC | O_DSYNC)) ? 1 : 0;  // 1: writes are FUA
  reply::open(req, fi);
}

// Reads the sector-aligned range covering [off, off+size) into buf.
Status read_aligned(sdcard::Card& card, uint64_t first, std::vector<std::byte>& buf) {
  iovec v{buf.data(), buf.size()};
  return card.read(first / kSector, std::span<const iovec>(&v, 1));
}

void read_stat(fuse_req_t req, size_t size, off_t off, fuse_file_info* fi) {
  const std::string& text = *reinterpret_cast<const std::string*>(fi->fh);
  if (off < 0 || uint64_t(off) >= text.size()) {
    reply::buf(req, nullptr, 0);
    return;
  }
  reply::buf(req, text.data() + off, std::min(size, text.size() - size_t(off)));
}

void op_release(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  if (ino == kStatIno) delete reinterpret_cast<std::string*>(fi->fh);
  reply::err(req, 0);
}

void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  if (ino == kStatIno) {
    read_stat(req, size, off, fi);
    return;
  }
  Export& e = self(req);
  if (uint64_t(off) >= e.bytes) {
    reply::buf(req, nullptr, 0);
    return;
  }
  size = size_t(std::min<uint64_t>(size, e.bytes - uint64_t(off)));
  const uint64_t first = uint64_t(off) / kSector * kSector;
  const uint64_t end = (uint64_t(off) + size + kSector - 1) / kSector * kSector;
  std::vector<std::byte> buf(end - first);
  Status st = traced(req, blockdev::blktrace::kTcRead, first, buf.size(), [&] { return read_aligned(*e.card, first, buf); });
  if (!st.is_ok()) {
    reply::err(req, st.code());
    return;
  }
  reply::buf(req, reinterpret_cast<const char*>(buf.data()) + (uint64_t(off) - first), size);
}

void op_write(fuse_req_t req, fuse_ino_t ino, const char* data, size_t size, off_t off, fuse_file_info* fi) {
  Export& e = self(req);
  if (ino == kMarkIno) {  // a marker line, into the command log (if any)
    std::string_view text(data, size);
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
    if (e.log) e.log->mark(text);
    reply::write(req, size);
    return;
  }
  if (uint64_t(off) + size > e.bytes) {
    reply::err(req, ENOSPC);
    return;
  }
  const bool fua = fi->fh == 1;
  namespace bt = blockdev::blktrace;
  const uint32_t bits = bt::kTcWrite | (fua ? bt::kTcFua | bt::kTcSync : 0);
  Status st;
  if (uint64_t(off) % kSector == 0 && size % kSector == 0) {
    iovec v{const_cast<char*>(data), size};
    st = traced(req, bits, uint64_t(off), size,
                [&] { return e.card->write(uint64_t(off) / kSector, std::span<const iovec>(&v, 1), fua); });
  } else {
    const uint64_t first = uint64_t(off) / kSector * kSector;
    const uint64_t end = (uint64_t(off) + size + kSector - 1) / kSector * kSector;
    std::vector<std::byte> buf(end - first);
    st = traced(req, bt::kTcRead, first, buf.size(), [&] { return read_aligned(*e.card, first, buf); });
    if (st.is_ok()) {
      std::memcpy(buf.data() + (uint64_t(off) - first), data, size);
      iovec v{buf.data(), buf.size()};
      st = traced(req, bits, first, buf.size(),
                  [&] { return e.card->write(first / kSector, std::span<const iovec>(&v, 1), fua); });
    }
  }
  if (!st.is_ok())
    reply::err(req, st.code());
  else
    reply::write(req, size);
}

void op_fsync(fuse_req_t req, fuse_ino_t, int, fuse_file_info*) {
  Status st = traced(req, blockdev::blktrace::kTcFlush | blockdev::blktrace::kTcWrite, 0, 0,
                     [&] { return self(req).card->flush(); });
  reply::err(req, st.is_ok() ? 0 : st.code());
}

void op_fallocate(fuse_req_t req, fuse_ino_t, int mode, off_t off, off_t len, fuse_file_info*) {
  // Punching a hole is the card's trim (blkdiscard on a loop device).
  const bool punch = (mode & FALLOC_FL_PUNCH_HOLE) && (mode & FALLOC_FL_KEEP_SIZE);
  if (!punch || off < 0 || len <= 0) {
    reply::err(req, EOPNOTSUPP);
    return;
  }
  const uint64_t first = (uint64_t(off) + kSector - 1) / kSector;
  const uint64_t end = std::min<uint64_t>(uint64_t(off + len), self(req).bytes) / kSector;
  namespace bt = blockdev::blktrace;
  Status st = end <= first ? Status::ok()
                           : traced(req, bt::kTcDiscard | bt::kTcWrite, first * kSector, (end - first) * kSector,
                                    [&] { return self(req).card->discard(first, end - first); });
  reply::err(req, st.is_ok() ? 0 : st.code());
}

void op_statfs(fuse_req_t req, fuse_ino_t) {
  struct statvfs sv {};
  sv.f_bsize = sv.f_frsize = 512;
  sv.f_blocks = self(req).bytes / 512;
  sv.f_files = 2;
  sv.f_namemax = 255;
  reply::statfs(req, &sv);
}

fuse_lowlevel_ops make_ops() {
  fuse_lowlevel_ops ops{};
  ops.lookup = guard<op_lookup>;
  ops.getattr = guard<op_getattr>;
  ops.setattr = guard<op_setattr>;
  ops.readdir = guard<op_readdir>;
  ops.open = guard<op_open>;
  ops.read = guard<op_read>;
  ops.release = guard<op_release>;
  ops.write = guard<op_write>;
  ops.fsync = guard<op_fsync>;
  ops.fallocate = guard<op_fallocate>;
  ops.statfs = guard<op_statfs>;
  return ops;
}

int serve(Export& e, const std::string& dir, fuse::StartupReport& report) {
  std::vector<std::string> argv = {"cardfs-card", "-o", "fsname=cardfs-card,subtype=cardfs-card"};
  std::vector<char*> cargv;
  for (std::string& a : argv) cargv.push_back(a.data());
  fuse_args args = FUSE_ARGS_INIT(int(cargv.size()), cargv.data());
  const fuse_lowlevel_ops ops = make_ops();
  fuse_session* se = fuse_session_new(&args, &ops, sizeof ops, &e);
  if (se == nullptr) {
    report.fail(Status::error(EIO, "cannot start a FUSE session"));
    return 1;
  }
  int rc = 1;
  if (fuse_set_signal_handlers(se) == 0) {
    if (fuse_session_mount(se, dir.c_str()) == 0) {
      report.ready();  // DIR/card is there: a daemonised parent returns now
      rc = fuse_session_loop(se) == 0 ? 0 : 1;
      fuse_session_unmount(se);
    } else {
      report.fail(Status::error(EIO, "cannot mount on " + dir));
    }
    fuse_remove_signal_handlers(se);
  }
  fuse_session_destroy(se);
  return rc;
}

// The serving side, in the daemon (or in this process with -f).
int export_card(const std::string& image, const std::string& dir, bool realtime, const std::string& trace,
                const std::string& record, fuse::StartupReport& report) {
  RealClock clock;
  sdcard::CardOptions opts;
  opts.realtime = realtime;
  opts.progress = fsck::scan_progress_on_terminal(image);
  std::unique_ptr<blockdev::CommandLog> log;  // outlives the card
  if (!record.empty()) {
    auto created = blockdev::CommandLog::create(record);
    if (!created.is_ok()) {
      report.fail(created.status().with_context("--record"));
      return 1;
    }
    log = std::move(*created);
    opts.recorder = log.get();
  }
  auto card = sdcard::Card::open(image, clock, opts);
  if (!card.is_ok()) {
    report.fail(card.status());
    return 1;
  }
  Export e{card->get(), (*card)->sector_count() * kSector, nullptr, log.get()};
  // The mmcblk0 device number, as a mount's queue traces it.
  blockdev::Tracer tracer(clock, blockdev::blktrace::make_dev(179, 0));
  if (!trace.empty()) {
    if (Status st = tracer.start(trace); !st.is_ok()) {
      report.fail(st.with_context("--trace"));
      return 1;
    }
    e.tracer = &tracer;
  }
  int rc = serve(e, dir, report);
  if (Status st = tracer.stop(); !st.is_ok()) {
    std::fprintf(stderr, "%s: writing the trace: %s\n", kWho, st.message().c_str());
    rc = 1;
  }
  Status st = (*card)->close();
  if (st.is_ok() && log) st = log->close().with_context("--record");
  if (!st.is_ok()) {
    std::fprintf(stderr, "%s: closing %s: %s\n", kWho, image.c_str(), st.message().c_str());
    return 1;
  }
  // What the card did while exported (the close's own programs included);
  // a daemon's stdout is /dev/null: the counters are in DIR/stat meanwhile.
  std::fputs(sdcard::counters_text(**card).c_str(), stdout);
  std::fflush(stdout);
  return rc;
}

}  // namespace

int run_card_export(const std::string& image, const std::string& dir, bool realtime,
                    bool foreground, const std::string& trace, const std::string& record) {
  // The daemon moves to "/": it gets absolute paths. The card is opened in
  // the daemon (its threads would not survive the fork); an error there
  // still reaches this terminal through run_daemon's report.
  // Exporting writes the card: never an image a daemon serves. Taken before
  // forking, the claim is the daemon's (flock follows the open file) for as
  // long as the export runs, so no mount starts meanwhile.
  auto claim = ImageClaim::take_or_refuse(image, "not exporting it");
  if (!claim.is_ok()) {
    std::fprintf(stderr, "%s: %s\n", kWho, claim.status().message().c_str());
    return 1;
  }
  std::error_code ec;
  const std::string abs_image = std::filesystem::absolute(image, ec).string();
  const std::string abs_dir = std::filesystem::absolute(dir, ec).string();
  const std::string abs_trace = trace.empty() ? "" : std::filesystem::absolute(trace, ec).string();
  const std::string abs_record = record.empty() ? "" : std::filesystem::absolute(record, ec).string();
  return fuse::run_daemon(
      foreground,
      [&](fuse::StartupReport& report) { return export_card(abs_image, abs_dir, realtime, abs_trace, abs_record, report); },
      kWho);
}

}  // namespace cardfs::tools
