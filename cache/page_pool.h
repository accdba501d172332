// PagePool: the memory of the cache's pages, headers and frames (internal).
//
// Every cached page costs its 4 KiB frame and its Page header, and both
// come from here: chunks of kSlotsPerChunk frames (2 MiB, mapped and
// faulted in by one call) each with an array of as many headers beside
// it. A slot is a frame and a header, paired for the chunk's life; free
// slots are chained through their headers' storage. So a page costs
// exactly kPageSize + sizeof(Page), with no allocator's rounding, chunk
// header or free-list vector on top (a `new Page` and a vector of free
// frames added 16 bytes and up), and what the pool has mapped is a
// number it can say (mapped_bytes). The cache's limit bounds how many
// slots are in use, so the pool maps at most that many plus one chunk;
// slots stay mapped until the pool goes, but when the limit shrinks,
// trim() gives the frames of free slots back to the system (a frame
// given back is faulted in again when its slot is next used).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "cache/page.h"

namespace cardfs::cache {

class PagePool {
 public:
  static constexpr size_t kSlotsPerChunk = 512;
  static constexpr size_t kChunkBytes = kSlotsPerChunk * kPageSize;  // frames of one chunk
  // A chunk's whole mapping: its frames and its headers.
  static size_t chunk_bytes();

  PagePool() = default;
  ~PagePool();  // every page made must have been destroyed
  PagePool(const PagePool&) = delete;
  PagePool& operator=(const PagePool&) = delete;

  // A new page (refs 1, contents of its frame undefined) in a free slot.
  Page* make(AddressSpace* owner, uint64_t index);
  // Runs p's destructor and frees its slot (the frame is kept mapped).
  void destroy(Page* p);

  size_t mapped_bytes() const;  // chunks mapped so far, frames and headers
  size_t pages_in_use() const;
  // Frames resident: in use, or free and not given back.
  size_t resident_frames() const;
  // Gives back the frames of free slots until at most max_frames are resident.
  void trim(size_t max_frames);

 private:
  struct FreeSlot {
    FreeSlot* next;
    std::byte* frame;
    bool resident;  // false once trim() gave the frame back
  };
  static_assert(sizeof(FreeSlot) <= sizeof(Page) && alignof(FreeSlot) <= alignof(Page));
  void map_chunk();  // caller holds mu_

  mutable std::mutex mu_;
  FreeSlot* free_ = nullptr;
  size_t in_use_ = 0;
  size_t resident_ = 0;
  struct Chunk {
    std::byte* frames;
    std::byte* headers;
  };
  std::vector<Chunk> chunks_;
};

}  // namespace cardfs::cache
