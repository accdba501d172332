// IoPlan: pieces of medium I/O (an offset, a buffer, a length) gathered in
// any number, then turned into one IoOp per run of pieces that follow each
// other in the medium, so that a page's 4 KiB data units read or written
// in order stay one I/O (and large reads can still bypass the host's
// cache). Internal to ImageStore.
#pragma once

#include <sys/uio.h>

#include <vector>

#include "sdcard/medium.h"

namespace cardfs::sdcard {

class IoPlan {
 public:
  void clear() { pieces_.clear(); }
  bool empty() const { return pieces_.empty(); }
  void add(uint64_t offset, const void* buf, size_t len) {
    pieces_.push_back({offset, const_cast<void*>(buf), len});
  }
  // The ops; valid until the next add() or clear().
  std::span<const IoOp> ops() {
    iovs_.clear();
    iovs_.reserve(pieces_.size());  // no reallocation: the ops point into it
    ops_.clear();
    uint64_t end = 0;
    for (const Piece& p : pieces_) {
      iovs_.push_back({p.buf, p.len});
      if (!ops_.empty() && p.offset == end)
        ops_.back().iov = std::span<const iovec>(ops_.back().iov.data(), ops_.back().iov.size() + 1);
      else
        ops_.push_back({p.offset, std::span<const iovec>(&iovs_.back(), 1)});
      end = p.offset + p.len;
    }
    return ops_;
  }
  uint64_t bytes() const {
    uint64_t n = 0;
    for (const Piece& p : pieces_) n += p.len;
    return n;
  }

 private:
  struct Piece {
    uint64_t offset;
    void* buf;
    size_t len;
  };
  std::vector<Piece> pieces_;
  std::vector<iovec> iovs_;
  std::vector<IoOp> ops_;
};

}  // namespace cardfs::sdcard
