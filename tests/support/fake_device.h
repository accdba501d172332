// FakeDevice: the one BlockDevice fake of the tests of the layers above
// blockdev (cache, fusefs, fsck, inspect) and of the cache's benchmark.
//
// Configured by FakeDeviceOptions:
// - where the bytes live: kDense (one buffer, touched at creation, so a
//   benchmark pays no first-touch faults), kSparse (only the 4 KiB chunks
//   ever written; reads of the rest are zeros, so a test formats a large
//   filesystem cheaply), or forward_to (no bytes: every bio is recorded
//   and passed on, e.g. to a real queue over a card);
// - whether it records each bio (log(), count(), reads_overlapping());
// - read_ahead_kb and io_kb, what the queue would report.
// Bios complete inside submit() unless the test holds them: with
// set_hold_completions they wait for complete_held(); with per_bio each
// completes that long after the one before it, when the test's clock
// reaches that time (advance_to(), as StepClock in tests/cache does).
// fail_next() makes the next bios fail. Plugging is accepted but merges
// nothing (merging is the queue's job, tested in tests/blockdev).
// Thread-safe; completions run outside the device's lock.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "blockdev/block_device.h"

namespace cardfs::testing {

struct RecordedBio {
  blockdev::BioOp op;
  uint64_t sector;
  uint64_t sectors;
  uint32_t flags;
};

enum class Storage { kDense, kSparse };

struct FakeDeviceOptions {
  uint64_t sectors = 0;  // capacity; with forward_to, the inner device's
  Storage storage = Storage::kDense;
  blockdev::BlockDevice* forward_to = nullptr;  // record and pass every bio on
  bool record = true;                           // false: no log (benchmarks)
  uint32_t read_ahead_kb = 128;
  uint32_t io_kb = 0;
  // > 0: each bio completes per_bio after the previous one ends, at the
  // advance_to() that reaches its time (a slow device on a test's clock).
  Nanos per_bio{0};
};

class FakeDevice final : public blockdev::BlockDevice {
 public:
  // A dense device of `sectors` 512-byte sectors that records every bio.
  explicit FakeDevice(uint64_t sectors) : FakeDevice(FakeDeviceOptions{.sectors = sectors}) {}
  explicit FakeDevice(FakeDeviceOptions o);

  void submit(blockdev::BioPtr bio) override;
  uint64_t sector_count() const override { return sectors_; }
  uint32_t read_ahead_kb() const override { return o_.read_ahead_kb; }
  uint32_t io_kb() const override { return o_.io_kb; }
  // submit() zeroes a discard's sectors (mkfs then skips zeroed tables).
  bool discard_zeroes_data() const override {
    return o_.forward_to ? o_.forward_to->discard_zeroes_data() : true;
  }
  void set_io_kb(uint32_t kb) { o_.io_kb = kb; }  // the largest request (max_sectors_kb)
  void plug_start() override;
  void plug_finish() override;
  void plug_flush() override;

  // Every bio received so far, in arrival order (empty without record).
  std::vector<RecordedBio> log() const;
  void clear_log();
  size_t count(blockdev::BioOp op) const;
  // Read bios so far that touched bytes [first, end).
  size_t reads_overlapping(uint64_t first, uint64_t end) const;

  // With hold, bios are stored and complete only through complete_held().
  void set_hold_completions(bool hold);
  size_t complete_held(size_t max = SIZE_MAX);
  // Completes the held bios due at or before t (per_bio).
  void advance_to(Nanos t);
  // No more holding or latency: everything held completes now (a test's
  // final sync).
  void drain();
  // Next n bios (of any op) complete with -err (then behaviour resumes).
  void fail_next(size_t n, int err);

  // Direct access to the stored bytes at a byte offset (no bio, not
  // logged); not with forward_to.
  void peek_bytes(uint64_t byte, std::span<std::byte> out) const;
  void poke_bytes(uint64_t byte, std::span<const std::byte> in);

 private:
  struct Held {
    blockdev::BioPtr bio;
    Nanos due;
  };
  void execute(blockdev::Bio& bio);
  void copy_out(uint64_t byte, std::span<std::byte> out) const;
  void copy_in(uint64_t byte, std::span<const std::byte> in);
  void zero(uint64_t byte, uint64_t len);
  size_t complete_front(size_t n);
  void check_direct(uint64_t byte, size_t len) const;

  FakeDeviceOptions o_;
  const uint64_t sectors_;
  mutable std::mutex mu_;
  std::unique_ptr<std::byte[]> dense_;                            // kDense
  std::unordered_map<uint64_t, std::vector<std::byte>> chunks_;  // kSparse
  std::vector<RecordedBio> log_;
  bool hold_ = false;
  Nanos per_bio_;  // o_.per_bio until drain()
  Nanos now_{0}, busy_until_{0};
  std::deque<Held> held_;
  size_t fail_n_ = 0;
  int fail_err_ = 0;
};

}  // namespace cardfs::testing
