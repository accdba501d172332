#include "fusefs/meta_aus.h"

namespace cardfs::fusefs {

MetadataAus::MetadataAus(uint64_t au_blocks, uint64_t blocks_count, const std::vector<GroupLayout>& groups)
    : au_blocks_(au_blocks) {
  const uint64_t aus = (blocks_count + au_blocks_ - 1) / au_blocks_;
  std::vector<bool> meta(aus);
  size_t n = 0;
  for (const GroupLayout& l : groups) {
    for (uint64_t au = l.first / au_blocks_; au * au_blocks_ < l.first_data; ++au)
      if (!meta[au]) meta[au] = true, ++n;
  }
  if (aus >= 2 && n * 4 <= aus) meta_au_ = std::move(meta);
}

}  // namespace cardfs::fusefs
