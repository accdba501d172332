// Journal recovery: jbd2's three passes (recovery.c) over any block I/O.
//
//   scan    from the journal superblock's start and sequence, follow
//           descriptor, revoke and commit blocks while each carries the
//           expected sequence and a valid crc; a transaction counts only
//           once its commit block is found (a torn tail is ignored)
//   revoke  note, for every revoked home block, the newest transaction
//           that revoked it
//   replay  write every logged copy home, in log order, unless a revoke
//           from the same or a later transaction cancels it or its crc
//           does not match (counted, not written)
// then flush, and only then mark the journal empty (start 0, sequence past
// the last replayed) and flush again. A power cut anywhere leaves either
// the journal still dirty (replay runs again: it only rewrites home blocks
// with the same bytes, so it is idempotent) or the work done.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "base/status.h"
#include "fusefs/journal_format.h"
#include "fusefs/layout.h"

namespace cardfs::fusefs::journal {

// Filesystem-block I/O for recovery: mount goes through the page cache,
// fsck through its ImageIo.
struct BlockIo {
  ReadBlock read;
  std::function<Status(uint64_t block, std::span<const std::byte> in)> write;
  std::function<Status()> flush;  // everything written so far is durable
};

// Reads group 0's descriptor and the journal inode, then maps it.
Result<JournalExtent> locate(const Superblock& sb, const ReadBlock& read);

struct RecoveryStats {
  bool needed = false;          // the journal was not empty
  uint32_t transactions = 0;    // committed transactions found
  uint32_t replayed = 0;        // blocks written home
  uint32_t revoked = 0;         // copies skipped because revoked
  uint32_t bad_copies = 0;      // copies skipped because their crc did not match
  uint32_t next_sequence = 0;   // the journal superblock's sequence afterwards
};

// Reads the journal superblock: is there anything to replay?
Result<JournalSuper> read_super(const Superblock& sb, const JournalExtent& ext,
                                const ReadBlock& read);
Result<RecoveryStats> recover(const Superblock& sb, const JournalExtent& ext, const BlockIo& io);

}  // namespace cardfs::fusefs::journal
