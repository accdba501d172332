// Tests only: writing committed transactions straight into an image's
// journal, as a crash right after their commit blocks leaves it.
#pragma once

#include <functional>
#include <span>
#include <vector>

#include "fusefs/journal_recovery.h"

namespace cardfs::testing {

using WriteBlock = std::function<void(uint64_t block, std::span<const std::byte>)>;

// Puts txns at journal block `at` on (wrapping round the ring) and points
// the journal superblock at them with sequence `seq`.
inline void log_transactions(const fusefs::Superblock& sb, const fusefs::journal::JournalExtent& ext,
                             const fusefs::journal::ReadBlock& read, const WriteBlock& write,
                             uint32_t at, uint32_t seq,
                             const std::vector<fusefs::journal::TransactionImage>& txns) {
  auto js = fusefs::journal::read_super(sb, ext, read);
  if (!js.is_ok()) throw std::runtime_error(js.status().message());
  js->start = at;
  js->sequence = seq;
  std::vector<std::byte> blk(sb.block_size());
  fusefs::journal::encode_super(*js, sb.csum_seed(), blk);
  write(ext.first, blk);
  for (const auto& txn : txns)
    for (const auto& b : txn.blocks) {
      write(ext.first + at, b);
      at = at + 1 == js->maxlen ? js->first : at + 1;
    }
}

}  // namespace cardfs::testing
