// WriteBehind: the image file's small writes and preallocations, made by
// a thread of their own (`image-write`) while the card's thread goes on.
// Internal to ImageFile.
//
// Under random 4 KiB writes with fsync on a block-FTL card, every write
// merges an AU, and each merge writes half a dozen small pieces of the
// image (the program's data unit, its record, CRC entry and unit list, the
// merge entry, the erase table's entry) and allocates a chunk: the host
// file system's buffered write path for those was a quarter of the card
// thread's time (issue 23). Queued here, they cost the card thread a copy.
//
// Order and visibility are the file's own as if written at once:
// - the queue is written in order, one item at a time;
// - a read of a range a queued item overlaps waits until the queue is
//   written (settle), others read at once (the host's cache is coherent);
// - sync, finish_writes (a card's flush, FUA write, header write and
//   close: what they cover survives the process), a large or copying
//   write, a size change and close wait for the whole queue (drain) first;
// - a caller that waits writes the queue itself unless the writer is at
//   it, and so does one that finds more than kMaxQueuedBytes queued.
// A failed write or allocation is reported by the next call that takes or
// waits for the queue (once), as EIO naming the offset. What the queue
// holds when the process is killed is lost, but nothing a flush covered:
// a suffix of the writes since the last one, in order, which is what the
// card's power-on scan takes in its stride (a power cut leaves the same).
// Memory: the queue's bytes (at most kMaxQueuedBytes, 8 MiB) and up to
// 4 MiB of buffers kept for reuse.
// Not thread-safe on the caller's side: one caller (the Card, under its
// state lock) at a time.
#pragma once

#include <sys/uio.h>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "base/thread_annotations.h"
#include "sdcard/medium.h"

namespace cardfs::sdcard {

class WriteBehind {
 public:
  static constexpr uint64_t kMaxQueuedBytes = 8u << 20;

  // Writes to `fd` (owned by the caller, open until this is destroyed);
  // `path` names it in errors. The thread starts with the first item.
  WriteBehind(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~WriteBehind();  // drains and stops the thread
  WriteBehind(const WriteBehind&) = delete;
  WriteBehind& operator=(const WriteBehind&) = delete;

  // Queues a copy of the ops' bytes.
  Status write(std::span<const IoOp> ops);
  // Queues fallocate(KEEP_SIZE) of the range (EOPNOTSUPP is no failure).
  Status preallocate(uint64_t offset, uint64_t len);
  // Returns when everything queued is in the host file.
  Status drain();
  // Returns when no queued item overlaps a range `ops` read.
  Status settle(std::span<const IoOp> ops);
  // Items written since construction (tests).
  uint64_t written() const;

 private:
  struct Item {
    uint64_t offset = 0;
    uint64_t len = 0;
    bool allocate = false;  // fallocate, else a write of `bytes`
    std::vector<std::byte> bytes;
  };
  Status enqueue(std::vector<Item>& batch);
  // Writes the queue (waits while the writer does), or its first n items.
  void write_all(MutexLock& l) CARDFS_REQUIRES(mu_);
  void write_front(size_t n) CARDFS_REQUIRES(mu_);  // unlocks mu_ meanwhile
  void run();
  Status perform(const Item& item) const;
  // The failure not yet reported, reported now (cleared).
  Status take_error() CARDFS_REQUIRES(mu_);
  bool overlaps(std::span<const IoOp> ops) const CARDFS_REQUIRES(mu_);

  const int fd_;
  const std::string path_;
  mutable Mutex mu_;
  std::condition_variable_any work_;  // the writer: an item, or stop
  std::condition_variable_any idle_;  // callers: the queue shrank
  std::deque<Item> items_ CARDFS_GUARDED_BY(mu_);  // the front one is being written
  uint64_t queued_bytes_ CARDFS_GUARDED_BY(mu_) = 0;
  uint64_t written_ CARDFS_GUARDED_BY(mu_) = 0;
  bool writer_waiting_ CARDFS_GUARDED_BY(mu_) = false;  // asleep until woken
  bool writing_ CARDFS_GUARDED_BY(mu_) = false;          // the front items are being written
  int idle_waiters_ CARDFS_GUARDED_BY(mu_) = 0;
  bool stop_ CARDFS_GUARDED_BY(mu_) = false;
  Status error_ CARDFS_GUARDED_BY(mu_);
  std::vector<std::vector<std::byte>> spare_ CARDFS_GUARDED_BY(mu_);  // buffers to reuse
  std::vector<Item> batch_;  // write()'s, the caller's own
  std::vector<const Item*> run_;  // write_front's, of the one writing (writing_)
  std::thread thread_;
};

}  // namespace cardfs::sdcard
