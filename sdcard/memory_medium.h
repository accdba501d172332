// MemoryMedium: a card image kept in memory, for tests that exercise the
// card's model without temporary files.
//
// Sparse (64 KiB chunks allocated on first write; the rest reads as
// zeros), so a test card of a few hundred MiB costs only what it wrote.
// The bytes are those the image file would hold, in the same format: a
// test may close a Card and open another on the same MemoryMedium (a
// "power cycle"), or compare it with an image file. sync() counts and
// keeps nothing apart (memory does not lose writes on its own); an
// emulated power cut is the model's (Flash), as with a file. A host crash
// can be emulated too: with record_unsynced(), each write since the last
// sync() is kept aside, and crash() then decides of each how much reached
// the disk (the host's page cache writes back in any order, and only
// fdatasync orders anything).
// Not thread-safe: one Card at a time uses it, under the Card's state lock.
#pragma once

#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "sdcard/medium.h"

namespace cardfs::sdcard {

class MemoryMedium final : public Medium {
 public:
  MemoryMedium() = default;

  Status write(std::span<const IoOp> ops) override;
  Status write_meanwhile(std::span<const IoOp> ops, const Meanwhile& meanwhile) override;
  Status read(std::span<const IoOp> ops) override;
  Status copy(uint64_t from, uint64_t to, uint64_t len) override;
  Status sync() override;
  Status preallocate(uint64_t, uint64_t) override { return Status::ok(); }
  Result<uint64_t> size() const override { return size_; }
  Status set_size(uint64_t bytes) override;
  const std::string& path() const override { return name_; }

  uint64_t syncs() const { return syncs_; }
  // Bytes read since it was made (what an open costs).
  uint64_t bytes_read() const { return bytes_read_; }
  // Host crash emulation (tests). From now on, every write since the
  // last sync() is logged.
  void record_unsynced() { recording_ = true; }
  // For each logged write (in order: its index, offset and length), how
  // many of its leading bytes reached the disk (0: lost; less than the
  // length: torn). The medium is left as that crash would leave it and
  // the log empty.
  using Reached = std::function<uint64_t(size_t index, uint64_t offset, uint64_t len)>;
  void crash(const Reached& reached);
  size_t unsynced_writes() const { return log_.size(); }
  // Its chunks: what was never written is a hole.
  Result<std::vector<Extent>> data_extents(uint64_t offset, uint64_t len) const override;
  // Bytes held in chunks (what the medium costs in memory).
  uint64_t allocated_bytes() const { return chunks_.size() * kChunk; }

 private:
  static constexpr uint64_t kChunk = 64 * 1024;
  Status check(uint64_t offset, uint64_t len, const char* what) const;
  void put(uint64_t offset, const std::byte* src, uint64_t len);
  void get(uint64_t offset, std::byte* dst, uint64_t len) const;

  std::unordered_map<uint64_t, std::unique_ptr<std::byte[]>> chunks_;
  uint64_t size_ = 0;
  uint64_t syncs_ = 0;
  uint64_t bytes_read_ = 0;
  struct Logged {
    uint64_t offset;
    std::vector<std::byte> before, after;
  };
  bool recording_ = false;
  std::vector<Logged> log_;
  std::string name_ = "memory";
};

}  // namespace cardfs::sdcard
