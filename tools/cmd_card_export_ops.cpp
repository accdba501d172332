// The files of `cardfs card export` and the FUSE low-level operations
// that serve them (tools/cmd_card_export.h; the daemon around them is
// tools/cmd_card_export.cpp).
#include <fcntl.h>
#include <sys/stat.h>

#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "sdcard/counters_text.h"
#include "tools/cmd_card_export.h"

namespace cardfs::tools::card_export {
namespace {

using fuse::guard;
namespace reply = fuse::reply;

constexpr fuse_ino_t kCardIno = 2;
constexpr fuse_ino_t kStatIno = 3;
constexpr fuse_ino_t kMarkIno = 4;
constexpr const char* kCardName = "card";
constexpr const char* kStatName = "stat";
constexpr const char* kMarkName = "mark";

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

// Writes [off, off+size) to the card: sectors written whole, a partial
// first or last sector read, patched and written back.
Status write_card(fuse_req_t req, const char* data, size_t size, off_t off, bool fua) {
  Export& e = self(req);
  namespace bt = blockdev::blktrace;
  const uint32_t bits = bt::kTcWrite | (fua ? bt::kTcFua | bt::kTcSync : 0);
  if (uint64_t(off) % kSector == 0 && size % kSector == 0) {
    iovec v{const_cast<char*>(data), size};
    return traced(req, bits, uint64_t(off), size,
                  [&] { return e.card->write(uint64_t(off) / kSector, std::span<const iovec>(&v, 1), fua); });
  }
  const uint64_t first = uint64_t(off) / kSector * kSector;
  const uint64_t end = (uint64_t(off) + size + kSector - 1) / kSector * kSector;
  std::vector<std::byte> buf(end - first);
  CARDFS_RETURN_IF_ERROR(
      traced(req, bt::kTcRead, first, buf.size(), [&] { return read_aligned(*e.card, first, buf); }));
  std::memcpy(buf.data() + (uint64_t(off) - first), data, size);
  iovec v{buf.data(), buf.size()};
  return traced(req, bits, first, buf.size(),
                [&] { return e.card->write(first / kSector, std::span<const iovec>(&v, 1), fua); });
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
  Status st = write_card(req, data, size, off, fi->fh == 1);  // fh 1: opened O_SYNC/O_DSYNC, FUA
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

}  // namespace

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

}  // namespace cardfs::tools::card_export
