// Open files: open/create, read/write in the two data modes, flush,
// release, fsync, fallocate, lseek (SEEK_DATA / SEEK_HOLE) and
// copy_file_range.
#include <fcntl.h>
#include <linux/falloc.h>

#include <cstdlib>
#include <cstring>
#include <memory>

#include "fusefs/fuse/fuse_fs.h"
#include "fusefs/fuse/waiting_ops.h"

namespace cardfs::fuse {
namespace {

using fusefs::Attr;

// Fills fi for a new handle on a regular file.
void setup_handle(FuseFs& self, fuse_file_info* fi) {
  auto of = std::make_unique<OpenFile>();
  of->flags = fi->flags;
  // -o direct_io: cardfs's cache is the only data cache. O_DIRECT opens
  // bypass the kernel's cache in either mode.
  of->o_direct = (fi->flags & O_DIRECT) != 0;
  of->direct = self.options().direct_io || of->o_direct;
  fi->direct_io = of->direct;
  fi->keep_cache = !of->direct;
  // close() has nothing to tell cardfs (op_flush writes nothing back):
  // FOPEN_NOFLUSH spares every close a round trip to the daemon.
  fi->noflush = 1;
  self.adopt_handle(std::move(of), fi);
}

void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  FuseFs& self = fuse_fs(req);
  if (Status st = check_open(req, ino, fi->flags); !st.is_ok()) return reply_status(req, st);
  if (self.control().owns(ino)) return control_open(req, ino, fi);
  // Counted by the filesystem: an unlinked file keeps its data while open.
  if (Status st = self.fs().open(FuseFs::to_fs(ino)); !st.is_ok()) return reply_status(req, st);
  setup_handle(self, fi);
  if (reply::open(req, fi) != 0) {
    self.drop_handle(fi);
    self.fs().release(FuseFs::to_fs(ino));
  }
}

Result<Attr> do_create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  CARDFS_RETURN_IF_ERROR(check_new_name(req, parent, name));
  uint32_t m = S_IFREG | (mode & 07777);
  CARDFS_ASSIGN_OR_RETURN(fusefs::Creds c, new_inode_owner(req, parent, m));
  CARDFS_ASSIGN_OR_RETURN(NewInodeAcls acls, new_inode_acls(req, parent, m));
  return set_new_inode_acls(req, fuse_fs(req).fs().mknod(FuseFs::to_fs(parent), name, m, 0, c),
                            acls);
}

void op_create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
               fuse_file_info* fi) {
  FuseFs& self = fuse_fs(req);
  auto r = do_create(req, parent, name, mode);
  if (!r.is_ok()) return reply_status(req, r.status());
  if (Status st = self.fs().open(r->ino); !st.is_ok()) {
    self.fs().forget(r->ino, 1);
    return reply_status(req, st);
  }
  setup_handle(self, fi);
  fuse_entry_param e = self.entry_of(*r);
  if (reply::create(req, &e, fi) != 0) {
    self.drop_handle(fi);
    self.fs().release(r->ino);
    self.fs().forget(r->ino, 1);
  }
}

// Page-aligned memory, as O_DIRECT transfers need (the request buffers
// libfuse hands us sit behind its headers, at no particular alignment).
struct FreeDeleter {
  void operator()(std::byte* p) const { std::free(p); }
};
using AlignedBuffer = std::unique_ptr<std::byte[], FreeDeleter>;
AlignedBuffer aligned_buffer(size_t size) {
  size_t rounded = (size + 4095) / 4096 * 4096;
  return AlignedBuffer(static_cast<std::byte*>(std::aligned_alloc(4096, rounded ? rounded : 4096)));
}

// The worker's read buffer, kept between READs: a fresh one per request
// (up to max_pages, 1 MiB) costs an mmap and a page fault per 4 KiB.
std::byte* read_buffer(size_t size) {
  thread_local AlignedBuffer buf;
  thread_local size_t capacity = 0;
  if (size > capacity || !buf) {
    buf = aligned_buffer(size);
    capacity = buf ? (size + 4095) / 4096 * 4096 : 0;
  }
  return buf.get();
}

void direct_read_reply(FuseFs& self, fuse_req_t req, fuse_ino_t ino, size_t size, off_t off) {
  std::byte* buf = read_buffer(size);
  if (!buf) return reply_errno(req, ENOMEM);
  auto n = self.fs().direct_read(FuseFs::to_fs(ino), uint64_t(off), {buf, size});
  if (!n.is_ok()) return reply_status(req, n.status());
  reply::buf(req, reinterpret_cast<const char*>(buf), *n);
}

// A buffered READ is answered from the cache's pages themselves: the
// kernel copies them into its page cache with no copy in between. The
// pages stay pinned, and lent (no write changes them), until the reply is
// written; they are lent only once the filesystem's locks are dropped.
void buffered_read_reply(FuseFs& self, fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                         OpenFile& of) {
  thread_local cache::ReadView view;
  cache::ReadaheadState ra;
  {
    std::lock_guard lock(of.ra_mu);
    ra = of.ra;
  }
  auto n = self.fs().read_view(FuseFs::to_fs(ino), uint64_t(off), size, view, &ra);
  {
    std::lock_guard lock(of.ra_mu);
    of.ra = ra;
  }
  if (n.is_ok()) {
    std::span<const iovec> iov = view.lend();
    reply::iov(req, iov.data(), int(iov.size()));
  } else {
    reply_status(req, n.status());
  }
  view.clear();
}

void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  FuseFs& self = fuse_fs(req);
  OpenFile& of = *open_file(fi);
  if (of.o_direct) return direct_read_reply(self, req, ino, size, off);
  buffered_read_reply(self, req, ino, size, off, of);
}

Result<size_t> write_data(FuseFs& self, fusefs::Ino ino, const char* buf, size_t size, off_t off,
                          const OpenFile& of) {
  std::span<const std::byte> data{reinterpret_cast<const std::byte*>(buf), size};
  if (!of.o_direct) return self.fs().write(ino, uint64_t(off), data);
  if (reinterpret_cast<uintptr_t>(buf) % 512 == 0) return self.fs().direct_write(ino, uint64_t(off), data);
  AlignedBuffer bounce = aligned_buffer(size);
  if (!bounce) return Status::error(ENOMEM, "no memory for a direct write");
  std::memcpy(bounce.get(), buf, size);
  return self.fs().direct_write(ino, uint64_t(off), {bounce.get(), size});
}

// After a write through a handle that must reach the card before the reply.
Status sync_if_write_through(FuseFs& self, fusefs::Ino ino, const OpenFile& of) {
  if (!self.write_through(of)) return Status::ok();
  const bool datasync = !self.options().sync && (of.flags & O_SYNC) != O_SYNC;
  return self.fs().fsync(ino, datasync);
}

Result<size_t> do_write(FuseFs& self, fuse_ino_t ino, const char* buf, size_t size, off_t off,
                        const OpenFile& of) {
  fusefs::Ino fs_ino = FuseFs::to_fs(ino);
  CARDFS_ASSIGN_OR_RETURN(size_t n, write_data(self, fs_ino, buf, size, off, of));
  CARDFS_RETURN_IF_ERROR(sync_if_write_through(self, fs_ino, of));
  return n;
}

void op_write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
              fuse_file_info* fi) {
  FuseFs& self = fuse_fs(req);
  auto n = do_write(self, ino, buf, size, off, *open_file(fi));
  if (!n.is_ok()) return reply_status(req, n.status());
  reply::write(req, *n);
}

void op_flush(fuse_req_t req, fuse_ino_t, fuse_file_info*) {
  // close() does not mean durable: the data sits in cardfs's cache, as in
  // the kernel's, until write-back or fsync.
  reply::err(req, 0);
}

void op_release(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  FuseFs& self = fuse_fs(req);
  self.drop_handle(fi);
  // Hands the file's unused reservation window back to the allocator, so
  // files closed after writing do not keep blocks others must search past.
  if (!self.control().owns(ino)) self.fs().release(FuseFs::to_fs(ino));
  reply::err(req, 0);
}

void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info*) {
  reply_status(req, fuse_fs(req).fs().fsync(FuseFs::to_fs(ino), datasync != 0));
}

void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
                  fuse_file_info*) {
  FuseFs& self = fuse_fs(req);
  // The filesystem checks the mode as ext4 does (EOPNOTSUPP for the others).
  // Linux's FUSE module forwards only KEEP_SIZE, PUNCH_HOLE and ZERO_RANGE:
  // it answers COLLAPSE_RANGE and INSERT_RANGE with EOPNOTSUPP itself.
  if (offset < 0 || length <= 0) return reply_errno(req, EINVAL);
  reply_status(req, self.fs().fallocate(FuseFs::to_fs(ino), mode, uint64_t(offset),
                                        uint64_t(length)));
}

// SEEK_DATA / SEEK_HOLE from the block map: a hole is an unmapped block.
Result<off_t> do_lseek(FuseFs& self, fuse_ino_t ino, off_t off, int whence) {
  if (whence != SEEK_DATA && whence != SEEK_HOLE) return Status::error(EINVAL, "whence");
  if (off < 0) return Status::error(ENXIO, "negative offset");
  CARDFS_ASSIGN_OR_RETURN(uint64_t at, self.fs().seek_data_or_hole(FuseFs::to_fs(ino), uint64_t(off),
                                                                   whence == SEEK_DATA));
  return off_t(at);
}

void op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, fuse_file_info*) {
  auto r = do_lseek(fuse_fs(req), ino, off, whence);
  if (!r.is_ok()) return reply_status(req, r.status());
  reply::lseek(req, *r);
}

// copy_file_range: the bytes go from the source's pages in cardfs's cache
// to the destination's inside the daemon. Without it the kernel reads them
// up through FUSE and writes them back down: two trips instead of none.
Result<size_t> do_copy_range(FuseFs& self, fuse_ino_t in, uint64_t off_in, fuse_ino_t out,
                             uint64_t off_out, const OpenFile& of_out, size_t len) {
  constexpr size_t kChunk = kMaxWrite;
  constexpr size_t kMaxCopy = 64u << 20;  // bounds one request's time; callers loop
  len = std::min(len, kMaxCopy);
  AlignedBuffer buf = aligned_buffer(std::min(len, kChunk));
  if (!buf) return Status::error(ENOMEM, "no memory for copy_file_range");
  size_t done = 0;
  Status failed;
  while (done < len) {
    std::span<std::byte> chunk{buf.get(), std::min(kChunk, len - done)};
    auto n = self.fs().read(FuseFs::to_fs(in), off_in + done, chunk);
    if (!n.is_ok() || *n == 0) {
      failed = n.status();
      break;
    }
    auto w = self.fs().write(FuseFs::to_fs(out), off_out + done, chunk.first(*n));
    if (!w.is_ok()) {
      failed = w.status();
      break;
    }
    done += *w;
    if (*w < *n) break;
  }
  if (done == 0 && !failed.is_ok()) return failed;  // else a short copy, as write(2)
  if (done > 0) CARDFS_RETURN_IF_ERROR(sync_if_write_through(self, FuseFs::to_fs(out), of_out));
  return done;
}

void op_copy_file_range(fuse_req_t req, fuse_ino_t in, off_t off_in, fuse_file_info*,
                        fuse_ino_t out, off_t off_out, fuse_file_info* fi_out, size_t len,
                        int flags) {
  FuseFs& self = fuse_fs(req);
  // The kernel copies through read and write itself for these answers.
  if (self.control().owns(in) || self.control().owns(out)) return reply_errno(req, EOPNOTSUPP);
  if (flags != 0) return reply_errno(req, EINVAL);
  auto n = do_copy_range(self, in, uint64_t(off_in), out, uint64_t(off_out), *open_file(fi_out), len);
  if (!n.is_ok()) return reply_status(req, n.status());
  reply::write(req, *n);
}

// Whether a READ or WRITE would sleep (waiting_ops.h): O_DIRECT always
// goes to the card, a write-through handle waits for it; buffered I/O asks
// the cache. The control files never wait.
struct ReadWaits {
  static bool test(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
    FuseFs& self = fuse_fs(req);
    if (self.control().owns(ino)) return false;
    if (open_file(fi)->o_direct) return true;
    return self.fs().read_may_wait(FuseFs::to_fs(ino), uint64_t(off), size);
  }
};

struct WriteWaits {
  static bool test(fuse_req_t req, fuse_ino_t ino, const char*, size_t size, off_t off,
                   fuse_file_info* fi) {
    FuseFs& self = fuse_fs(req);
    if (self.control().owns(ino)) return false;
    const OpenFile& of = *open_file(fi);
    if (of.o_direct || self.write_through(of)) return true;
    return self.fs().write_may_wait(FuseFs::to_fs(ino), uint64_t(off), size);
  }
};

}  // namespace

void add_file_operations(fuse_lowlevel_ops& o) {
  // open, release and copy_file_range see the control files themselves:
  // open checks permissions first, release frees either kind of handle,
  // copy_file_range has two inodes.
  // Those that may sleep run on a fuse-wait worker (waiting_ops.h): reads
  // and writes when the cache says so, fsync, fallocate (it may zero
  // through the cache and waits for a commit) and copy_file_range (up to
  // 64 MiB read and written) always.
  o.open = guard<op_open>;
  o.create = guard_waiting<op_create, DuringCommit>;
  o.read = guard_waiting<routed<op_read, control_read>, ReadWaits>;
  o.write = guard_waiting_write<routed<op_write, control_write>, WriteWaits>;
  o.flush = guard<op_flush>;
  o.release = guard<op_release>;
  o.fsync = guard_waiting<routed<op_fsync, 0>>;
  o.fallocate = guard_waiting<routed<op_fallocate, EOPNOTSUPP>>;
  o.lseek = guard<routed<op_lseek, ESPIPE>>;
  o.copy_file_range = guard_waiting<op_copy_file_range>;
}

}  // namespace cardfs::fuse
