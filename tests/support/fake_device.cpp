#include "tests/support/fake_device.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace cardfs::testing {

using blockdev::BioOp;
using blockdev::kSectorSize;

namespace {
constexpr uint64_t kChunk = 4096;  // a sparse device's unit of storage
}

// A test that pokes outside the disk or a forwarding device is wrong:
// Catch2 reports the exception as that test's failure.
void FakeDevice::check_direct(uint64_t byte, size_t len) const {
  if (o_.forward_to || byte + len > sectors_ * kSectorSize)
    throw std::out_of_range("FakeDevice: no stored bytes at " + std::to_string(byte) + "+" +
                            std::to_string(len));
}

FakeDevice::FakeDevice(FakeDeviceOptions o)
    : o_(o), sectors_(o.forward_to ? o.forward_to->sector_count() : o.sectors), per_bio_(o.per_bio) {
  if (o_.forward_to == nullptr && o_.storage == Storage::kDense) {
    dense_.reset(new std::byte[sectors_ * kSectorSize]);
    std::memset(dense_.get(), 0, sectors_ * kSectorSize);  // touched once, here
  }
}

void FakeDevice::submit(blockdev::BioPtr bio) {
  int status = 0;
  {
    std::lock_guard lock(mu_);
    if (o_.record) log_.push_back({bio->op, bio->sector, bio->sectors(), bio->flags});
    if (o_.forward_to) {
      // Outside the lock: the inner device may complete inside submit().
    } else if (fail_n_ > 0) {
      --fail_n_;
      status = -fail_err_;
    } else if (bio->sector + bio->sectors() > sectors_) {
      status = -EIO;
    } else if (hold_ || per_bio_.count() > 0) {
      const Nanos start = std::max(now_, busy_until_);
      if (per_bio_.count() > 0) busy_until_ = start + per_bio_;
      held_.push_back({std::move(bio), per_bio_.count() > 0 ? busy_until_ : Nanos::max()});
      return;
    } else {
      execute(*bio);
    }
  }
  if (o_.forward_to) {
    o_.forward_to->submit(std::move(bio));
    return;
  }
  bio->on_complete(status);
}

void FakeDevice::plug_start() {
  if (o_.forward_to) o_.forward_to->plug_start();
}
void FakeDevice::plug_finish() {
  if (o_.forward_to) o_.forward_to->plug_finish();
}
void FakeDevice::plug_flush() {
  if (o_.forward_to) o_.forward_to->plug_flush();
}

void FakeDevice::execute(blockdev::Bio& bio) {
  uint64_t at = bio.sector * kSectorSize;
  switch (bio.op) {
    case BioOp::kRead:
      for (auto& seg : bio.segments) {
        copy_out(at, {seg.data, seg.len});
        at += seg.len;
      }
      break;
    case BioOp::kWrite:
      for (auto& seg : bio.segments) {
        copy_in(at, {seg.data, seg.len});
        at += seg.len;
      }
      break;
    case BioOp::kDiscard:
      zero(at, bio.discard_sectors * kSectorSize);
      break;
    case BioOp::kFlush:
      break;
  }
}

void FakeDevice::copy_out(uint64_t byte, std::span<std::byte> out) const {
  if (dense_) {
    std::memcpy(out.data(), dense_.get() + byte, out.size());
    return;
  }
  for (size_t done = 0; done < out.size();) {
    const uint64_t pos = byte + done, off = pos % kChunk;
    const size_t n = std::min<size_t>(out.size() - done, kChunk - off);
    auto it = chunks_.find(pos / kChunk);
    if (it == chunks_.end())
      std::memset(out.data() + done, 0, n);
    else
      std::memcpy(out.data() + done, it->second.data() + off, n);
    done += n;
  }
}

void FakeDevice::copy_in(uint64_t byte, std::span<const std::byte> in) {
  if (dense_) {
    std::memcpy(dense_.get() + byte, in.data(), in.size());
    return;
  }
  for (size_t done = 0; done < in.size();) {
    const uint64_t pos = byte + done, off = pos % kChunk;
    const size_t n = std::min<size_t>(in.size() - done, kChunk - off);
    auto& c = chunks_[pos / kChunk];
    if (c.empty()) c.resize(kChunk);
    std::memcpy(c.data() + off, in.data() + done, n);
    done += n;
  }
}

// A discard reads back as zeros, as the card's trim does.
void FakeDevice::zero(uint64_t byte, uint64_t len) {
  if (dense_) {
    std::memset(dense_.get() + byte, 0, len);
    return;
  }
  for (uint64_t done = 0; done < len;) {
    const uint64_t pos = byte + done, off = pos % kChunk;
    const uint64_t n = std::min<uint64_t>(len - done, kChunk - off);
    auto it = chunks_.find(pos / kChunk);
    if (it != chunks_.end()) {
      if (n == kChunk)
        chunks_.erase(it);
      else
        std::memset(it->second.data() + off, 0, n);
    }
    done += n;
  }
}

std::vector<RecordedBio> FakeDevice::log() const {
  std::lock_guard lock(mu_);
  return log_;
}

void FakeDevice::clear_log() {
  std::lock_guard lock(mu_);
  log_.clear();
}

size_t FakeDevice::count(BioOp op) const {
  std::lock_guard lock(mu_);
  return size_t(std::count_if(log_.begin(), log_.end(), [&](auto& b) { return b.op == op; }));
}

size_t FakeDevice::reads_overlapping(uint64_t first, uint64_t end) const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const RecordedBio& b : log_) {
    const uint64_t a = b.sector * kSectorSize, z = (b.sector + b.sectors) * kSectorSize;
    n += b.op == BioOp::kRead && a < end && first < z;
  }
  return n;
}

void FakeDevice::set_hold_completions(bool hold) {
  std::lock_guard lock(mu_);
  hold_ = hold;
}

// Executes and completes the first n held bios (completions unlocked).
size_t FakeDevice::complete_front(size_t n) {
  std::vector<blockdev::BioPtr> done;
  {
    std::lock_guard lock(mu_);
    while (!held_.empty() && done.size() < n) {
      execute(*held_.front().bio);
      done.push_back(std::move(held_.front().bio));
      held_.pop_front();
    }
  }
  for (auto& b : done) b->on_complete(0);
  return done.size();
}

size_t FakeDevice::complete_held(size_t max) { return complete_front(max); }

void FakeDevice::advance_to(Nanos t) {
  size_t due = 0;
  {
    std::lock_guard lock(mu_);
    now_ = std::max(now_, t);
    while (due < held_.size() && held_[due].due <= now_) ++due;
  }
  complete_front(due);
}

void FakeDevice::drain() {
  {
    std::lock_guard lock(mu_);
    hold_ = false;
    per_bio_ = Nanos(0);
  }
  complete_front(SIZE_MAX);
}

void FakeDevice::fail_next(size_t n, int err) {
  std::lock_guard lock(mu_);
  fail_n_ = n;
  fail_err_ = err;
}

void FakeDevice::peek_bytes(uint64_t byte, std::span<std::byte> out) const {
  check_direct(byte, out.size());
  std::lock_guard lock(mu_);
  copy_out(byte, out);
}

void FakeDevice::poke_bytes(uint64_t byte, std::span<const std::byte> in) {
  check_direct(byte, in.size());
  std::lock_guard lock(mu_);
  copy_in(byte, in);
}

}  // namespace cardfs::testing
