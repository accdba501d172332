// BlockGroups::Group: one group's descriptor and bitmaps in memory
// (internal to the allocator's files).
#pragma once

#include <mutex>
#include <vector>

#include "fusefs/groups.h"

namespace cardfs::fusefs {

struct BlockGroups::Group {
  mutable std::mutex mu;
  GroupDesc gd;
  GroupLayout layout;
  std::vector<std::byte> bmap, imap;
  bool dirty = false;
};

}  // namespace cardfs::fusefs
