#include "cache/page_pool.h"

#include <sys/mman.h>

#include <new>

namespace cardfs::cache {

static size_t header_bytes() {
  size_t b = PagePool::kSlotsPerChunk * sizeof(Page);
  return (b + kPageSize - 1) / kPageSize * kPageSize;
}

size_t PagePool::chunk_bytes() { return kChunkBytes + header_bytes(); }

// Anonymous memory, faulted in by one call. No MADV_HUGEPAGE: where
// defrag is "madvise" a huge page may cost a direct compaction of seconds.
static std::byte* map_populated(size_t bytes) {
  void* raw = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();  // out of memory is fatal, as in new
  auto* mem = static_cast<std::byte*>(raw);
#ifdef MADV_POPULATE_WRITE
  if (::madvise(mem, bytes, MADV_POPULATE_WRITE) != 0)
#endif
    for (size_t off = 0; off < bytes; off += kPageSize) mem[off] = std::byte{0};
  return mem;
}

PagePool::~PagePool() {
  for (const Chunk& c : chunks_) {
    ::munmap(c.frames, kChunkBytes);
    ::munmap(c.headers, header_bytes());
  }
}

void PagePool::map_chunk() {
  Chunk c{map_populated(kChunkBytes), nullptr};
  try {
    c.headers = map_populated(header_bytes());
  } catch (const std::bad_alloc&) {
    ::munmap(c.frames, kChunkBytes);
    throw;
  }
  chunks_.push_back(c);
  resident_ += kSlotsPerChunk;
  // Chained so that the chunk's first slot is handed out first.
  for (size_t i = kSlotsPerChunk; i > 0; --i) {
    auto* slot = new (c.headers + (i - 1) * sizeof(Page)) FreeSlot;
    slot->frame = c.frames + (i - 1) * kPageSize;
    slot->resident = true;
    slot->next = free_;
    free_ = slot;
  }
}

Page* PagePool::make(AddressSpace* owner, uint64_t index) {
  FreeSlot* slot;
  {
    std::lock_guard lock(mu_);
    if (!free_) map_chunk();
    slot = free_;
    free_ = slot->next;
    ++in_use_;
    if (!slot->resident) ++resident_;  // its frame faults in as it is filled
  }
  std::byte* frame = slot->frame;
  slot->~FreeSlot();
  return new (static_cast<void*>(slot)) Page(owner, index, *this, frame);
}

void PagePool::destroy(Page* p) {
  std::byte* frame = p->data;
  void* storage = p;
  p->~Page();
  auto* slot = new (storage) FreeSlot;
  slot->frame = frame;
  slot->resident = true;
  std::lock_guard lock(mu_);
  slot->next = free_;
  free_ = slot;
  --in_use_;
}

size_t PagePool::mapped_bytes() const {
  std::lock_guard lock(mu_);
  return chunks_.size() * chunk_bytes();
}

size_t PagePool::resident_frames() const {
  std::lock_guard lock(mu_);
  return resident_;
}

void PagePool::trim(size_t max_frames) {
  std::lock_guard lock(mu_);
  for (FreeSlot* s = free_; s && resident_ > max_frames; s = s->next) {
    if (!s->resident) continue;
    // Private anonymous memory: it reads as zeros after, and costs nothing
    // until written (the slot's next page fills it).
    if (::madvise(s->frame, kPageSize, MADV_DONTNEED) != 0) continue;
    s->resident = false;
    --resident_;
  }
}

size_t PagePool::pages_in_use() const {
  std::lock_guard lock(mu_);
  return in_use_;
}

}  // namespace cardfs::cache
