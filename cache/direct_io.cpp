// Direct I/O: write back and invalidate the cached range, then move data
// between the caller's buffer and the device with no cached copy
// (generic_file_direct_write / iomap_dio_rw in spirit).
#include <algorithm>
#include <cstring>

#include "cache/cache_impl.h"
#include "cache/io.h"

namespace cardfs::cache {

namespace {

constexpr uint64_t kMaxDirectBio = 1u << 20;

bool aligned(uint64_t offset, size_t len, const void* buf) {
  return offset % 512 == 0 && len % 512 == 0 && reinterpret_cast<uintptr_t>(buf) % 512 == 0;
}

// Zeros for the uncovered part of freshly allocated blocks.
std::byte* zero_page() {
  alignas(4096) static std::byte zeros[kPageSize] = {};
  return zeros;
}

// Appends [data, data + len) at disk sector `sector` in extents of at most
// a page each.
void add_run(std::vector<Extent>& ext, uint64_t sector, std::byte* data, uint64_t len,
             IoUnit* unit) {
  while (len > 0) {
    uint32_t n = uint32_t(std::min<uint64_t>(len, kPageSize));
    ext.push_back({sector, data, n, unit});
    sector += n / 512;
    data += n;
    len -= n;
  }
}

}  // namespace

// Maps [offset, offset + len) block by block and queues the transfer to or
// from buf; holes read as zeros; with create, fresh blocks get zeros where
// the write does not cover them. Returns the bytes queued: a write stops
// short at the first block that cannot be mapped (ENOSPC) after the first,
// so every block it allocated is written.
static Result<uint64_t> build_direct(PageCache::Impl& c, AddressSpace& as, uint64_t offset,
                                     std::byte* buf, uint64_t len, bool write, IoUnit* unit,
                                     std::vector<Extent>& ext) {
  uint64_t bs = c.block_size, end = offset + len;
  for (uint64_t pos = offset; pos < end;) {
    uint64_t block = pos / bs, bstart = block * bs, bend = bstart + bs;
    uint64_t to = std::min(end, bend);
    auto mapped = c.get_block(as, block, write);
    if (mapped.is_ok() && write && !mapped->mapped)
      mapped = Status::error(EIO, "get_block(create) returned a hole");
    if (!mapped.is_ok()) {
      if (!write || pos == offset) return mapped.status();
      return pos - offset;
    }
    const BlockMapping& m = *mapped;
    if (!m.mapped) {
      std::memset(buf + (pos - offset), 0, to - pos);
    } else {
      if (write && m.fresh && pos > bstart) add_run(ext, m.sector, zero_page(), pos - bstart, unit);
      add_run(ext, m.sector + (pos - bstart) / 512, buf + (pos - offset), to - pos, unit);
      if (write && m.fresh && to < bend) {
        add_run(ext, m.sector + (to - bstart) / 512, zero_page(), bend - to, unit);
      }
    }
    pos = to;
  }
  return len;
}

// Moves [offset, offset + len) between buf and the device: the bytes moved
// (fewer than len only for a write that ran out of space).
static Result<uint64_t> run_direct(PageCache::Impl& c, AddressSpace& as, uint64_t offset,
                                   std::byte* buf, uint64_t len, bool write) {
  auto* unit = new IoUnit;
  std::vector<Extent> ext;
  auto built = build_direct(c, as, offset, buf, len, write, unit, ext);
  if (!built.is_ok() || ext.empty()) {
    delete unit;
    return built;
  }
  IoWaiter waiter;
  waiter.add();
  unit->done = [&waiter](int e) { waiter.finish(e); };
  submit_extents(c.dev, write ? blockdev::BioOp::kWrite : blockdev::BioOp::kRead,
                 blockdev::kBioSync, std::move(ext), true, kMaxDirectBio);
  int err = waiter.wait(c.dev);
  if (err != 0) return Status::error(err, write ? "direct write failed" : "direct read failed");
  return *built;
}

Result<size_t> PageCache::direct_read(AddressSpace& as, uint64_t offset,
                                      std::span<std::byte> out, uint64_t file_size) {
  if (!aligned(offset, out.size(), out.data())) {
    return Status::error(EINVAL, "direct read not aligned to 512 bytes");
  }
  if (offset >= file_size || out.empty()) return size_t(0);
  uint64_t valid = std::min<uint64_t>(out.size(), file_size - offset);
  uint64_t len = (valid + 511) / 512 * 512;
  CARDFS_RETURN_IF_ERROR(write_back_range(as, offset, offset + len, true));
  CARDFS_RETURN_IF_ERROR(run_direct(*impl_, as, offset, out.data(), len, false).status());
  Counters::inc(impl_->counters.direct_read_bytes, valid);
  return size_t(valid);
}

Result<size_t> PageCache::direct_write(AddressSpace& as, uint64_t offset,
                                       std::span<const std::byte> data) {
  if (!aligned(offset, data.size(), data.data())) {
    return Status::error(EINVAL, "direct write not aligned to 512 bytes");
  }
  if (data.empty()) return size_t(0);
  uint64_t end = offset + data.size();
  uint64_t first = offset / kPageSize, last = (end - 1) / kPageSize;
  CARDFS_RETURN_IF_ERROR(write_back_range(as, offset, end, true));
  impl_->drop_range(as, first, last);
  // Bio segments are writable pointers; a write only reads them.
  auto* buf = const_cast<std::byte*>(data.data());
  auto done = run_direct(*impl_, as, offset, buf, data.size(), true);
  impl_->drop_range(as, first, last);  // pages a racing reader brought in
  if (!done.is_ok()) return done.status();
  Counters::inc(impl_->counters.direct_write_bytes, *done);
  return size_t(*done);
}

}  // namespace cardfs::cache
