// ReadPath: page lookup for buffered reads and the readahead that fills
// the cache ahead of a sequential reader (internal).
#pragma once

#include <cstdint>
#include <vector>

#include "cache/cache_impl.h"
#include "cache/io.h"

namespace cardfs::cache {

class ReadPath {
 public:
  explicit ReadPath(PageCache::Impl& c);

  // The page at index, uptodate for `need` sectors, pinned; drives
  // readahead through ra. req: pages the caller still wants from index on.
  Result<PageRef> get_page(AddressSpace& as, ReadaheadState& ra, uint64_t index, uint64_t req,
                           uint8_t need, uint64_t file_size);

  // Misses: page_cache_sync_ra. Marker hits: page_cache_async_ra.
  void sync_readahead(AddressSpace& as, ReadaheadState& ra, uint64_t index, uint64_t req,
                      uint64_t file_size);
  void async_readahead(AddressSpace& as, ReadaheadState& ra, uint64_t index, uint64_t req,
                       uint64_t file_size);

 private:
  uint32_t max_ra_pages(uint64_t req) const;
  void submit_window(AddressSpace& as, const ReadaheadState& ra, uint64_t demand_end,
                     uint64_t file_size);
  void read_pages(AddressSpace& as, uint64_t start, uint64_t nr, uint64_t marker,
                  uint64_t demand_end, uint64_t file_size, uint32_t flags);
  void add_page_extents(AddressSpace& as, PageRef p, uint64_t file_size,
                        std::vector<Extent>& ext);
  Status fill_page(AddressSpace& as, Page* p, uint64_t file_size);

  PageCache::Impl& c_;
};

// Sectors of page `index` wholly at or past EOF.
uint8_t beyond_eof_mask(uint64_t index, uint64_t file_size);

}  // namespace cardfs::cache
