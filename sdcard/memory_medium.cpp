#include "sdcard/memory_medium.h"

#include <algorithm>
#include <cstring>

namespace cardfs::sdcard {

Status MemoryMedium::check(uint64_t offset, uint64_t len, const char* what) const {
  // Past the end: the EIO a file's short transfer gives.
  if (offset > size_ || len > size_ - offset)
    return Status::error(EIO, std::string("short ") + what + " of memory image at " + std::to_string(offset));
  return Status::ok();
}

void MemoryMedium::put(uint64_t offset, const std::byte* src, uint64_t len) {
  if (recording_) {
    Logged l{offset, std::vector<std::byte>(len), std::vector<std::byte>(src, src + len)};
    get(offset, l.before.data(), len);
    log_.push_back(std::move(l));
  }
  while (len > 0) {
    const uint64_t at = offset % kChunk, n = std::min(len, kChunk - at);
    std::unique_ptr<std::byte[]>& c = chunks_[offset / kChunk];
    if (!c) c.reset(new std::byte[kChunk]());  // zeroed
    std::memcpy(c.get() + at, src, n);
    offset += n;
    src += n;
    len -= n;
  }
}

void MemoryMedium::get(uint64_t offset, std::byte* dst, uint64_t len) const {
  while (len > 0) {
    const uint64_t at = offset % kChunk, n = std::min(len, kChunk - at);
    auto it = chunks_.find(offset / kChunk);
    if (it == chunks_.end())
      std::memset(dst, 0, n);
    else
      std::memcpy(dst, it->second.get() + at, n);
    offset += n;
    dst += n;
    len -= n;
  }
}

Status MemoryMedium::write(std::span<const IoOp> ops) {
  for (const IoOp& op : ops) {
    uint64_t off = op.offset;
    const uint64_t len = op.bytes();
    if (Status st = check(off, len, "write"); !st.is_ok()) return st;
    for (const iovec& v : op.iov) {
      put(off, static_cast<const std::byte*>(v.iov_base), v.iov_len);
      off += v.iov_len;
    }
  }
  return Status::ok();
}

Status MemoryMedium::write_meanwhile(std::span<const IoOp> ops, const Meanwhile& meanwhile) {
  CARDFS_RETURN_IF_ERROR(write(ops));
  return write(meanwhile());
}

Status MemoryMedium::read(std::span<const IoOp> ops) {
  for (const IoOp& op : ops) {
    uint64_t off = op.offset;
    const uint64_t len = op.bytes();
    if (Status st = check(off, len, "read"); !st.is_ok()) return st;
    for (const iovec& v : op.iov) {
      get(off, static_cast<std::byte*>(v.iov_base), v.iov_len);
      off += v.iov_len;
    }
    bytes_read_ += len;
  }
  return Status::ok();
}

Status MemoryMedium::copy(uint64_t from, uint64_t to, uint64_t len) {
  CARDFS_RETURN_IF_ERROR(check(from, len, "read"));
  CARDFS_RETURN_IF_ERROR(check(to, len, "write"));
  std::vector<std::byte> buf(std::min<uint64_t>(len, kChunk));
  for (uint64_t done = 0; done < len;) {
    const uint64_t n = std::min<uint64_t>(buf.size(), len - done);
    get(from + done, buf.data(), n);
    put(to + done, buf.data(), n);
    done += n;
  }
  return Status::ok();
}

Status MemoryMedium::sync() {
  ++syncs_;
  log_.clear();
  return Status::ok();
}

void MemoryMedium::crash(const Reached& reached) {
  std::vector<Logged> log = std::move(log_);
  const bool was = recording_;
  recording_ = false;
  // Back to the last sync, then what reached the disk, in order.
  for (size_t i = log.size(); i-- > 0;) put(log[i].offset, log[i].before.data(), log[i].before.size());
  for (size_t i = 0; i < log.size(); ++i) {
    const uint64_t n = std::min<uint64_t>(reached(i, log[i].offset, log[i].after.size()), log[i].after.size());
    put(log[i].offset, log[i].after.data(), n);
  }
  log_.clear();
  recording_ = was;
}

Result<std::vector<Extent>> MemoryMedium::data_extents(uint64_t offset, uint64_t len) const {
  std::vector<Extent> out;
  const uint64_t end = offset + len;
  for (uint64_t c = offset / kChunk; c * kChunk < end; ++c) {
    if (!chunks_.contains(c)) continue;
    const uint64_t from = std::max(offset, c * kChunk), to = std::min(end, (c + 1) * kChunk);
    if (!out.empty() && out.back().offset + out.back().length == from)
      out.back().length += to - from;
    else
      out.push_back({from, to - from});
  }
  return out;
}

Status MemoryMedium::set_size(uint64_t bytes) {
  // Shrinking drops what lies beyond, as ftruncate does.
  for (auto it = chunks_.begin(); it != chunks_.end();) {
    const uint64_t start = it->first * kChunk;
    if (start >= bytes) {
      it = chunks_.erase(it);
      continue;
    }
    if (start + kChunk > bytes) std::memset(it->second.get() + (bytes - start), 0, start + kChunk - bytes);
    ++it;
  }
  size_ = bytes;
  return Status::ok();
}

}  // namespace cardfs::sdcard
