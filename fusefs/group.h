// BlockGroups::Group: one group's descriptor and bitmaps in memory
// (internal to the allocator's files).
#pragma once

#include <mutex>
#include <vector>

#include "fusefs/groups.h"

namespace cardfs::fusefs {

struct BlockGroups::Group {
  mutable Mutex mu;  // after windows_mu_; one group at a time
  GroupDesc gd CARDFS_GUARDED_BY(mu);
  GroupLayout layout;  // fixed
  std::vector<std::byte> bmap CARDFS_GUARDED_BY(mu), imap CARDFS_GUARDED_BY(mu);
  bool dirty CARDFS_GUARDED_BY(mu) = false;
};

}  // namespace cardfs::fusefs
