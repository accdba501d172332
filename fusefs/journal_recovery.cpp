#include "fusefs/journal_recovery.h"

#include <cstring>
#include <unordered_map>
#include <vector>

#include "base/log.h"

namespace cardfs::fusefs::journal {
namespace {

struct ScannedTxn {
  uint32_t sequence = 0;
  std::vector<std::pair<uint32_t, Tag>> copies;  // journal block of the copy, its tag
};

struct Scan {
  std::vector<ScannedTxn> committed;
  std::unordered_map<uint64_t, uint32_t> revoked;  // home block -> newest revoking sequence
  uint32_t next_sequence = 0;
};

uint32_t wrap(const JournalSuper& js, uint64_t pos) {
  const uint64_t ring = js.maxlen - js.first;
  return uint32_t(js.first + (pos - js.first) % ring);
}

// Passes 1 and 2: the committed transactions and the revoke table. A
// transaction's revokes count only once its commit block is found.
Result<Scan> scan(const JournalSuper& js, const JournalExtent& ext, const ReadBlock& read,
                  uint32_t seed) {
  Scan s;
  uint32_t seq = js.sequence, pos = js.start;
  uint64_t walked = 0;
  const uint64_t ring = js.maxlen - js.first;
  std::vector<std::byte> buf(js.block_size);
  ScannedTxn txn{seq, {}};
  std::vector<uint64_t> txn_revokes;
  while (walked < ring) {
    CARDFS_RETURN_IF_ERROR(read(ext.first + pos, buf));
    auto lb = decode_log_block(buf, seed);
    if (!lb || lb->sequence != seq) break;
    if (lb->type == kDescriptor) {
      for (size_t i = 0; i < lb->tags.size(); ++i)
        txn.copies.push_back({wrap(js, uint64_t(pos) + 1 + i), lb->tags[i]});
      walked += 1 + lb->tags.size();
      pos = wrap(js, uint64_t(pos) + 1 + lb->tags.size());
      continue;
    }
    if (lb->type == kRevoke) {
      txn_revokes.insert(txn_revokes.end(), lb->revoked.begin(), lb->revoked.end());
    } else if (lb->type == kCommit) {
      if (lb->commit.blocks != txn.copies.size()) break;  // not the commit of what we read
      for (uint64_t b : txn_revokes) s.revoked[b] = seq;
      s.committed.push_back(std::move(txn));
      txn = ScannedTxn{++seq, {}};
      txn_revokes.clear();
    } else {
      break;
    }
    ++walked;
    pos = wrap(js, uint64_t(pos) + 1);
  }
  s.next_sequence = seq;
  return s;
}

}  // namespace

Result<JournalExtent> locate(const Superblock& sb, const ReadBlock& read) {
  const uint32_t bs = sb.block_size();
  std::vector<std::byte> buf(bs);
  CARDFS_RETURN_IF_ERROR(read(group_first_block(sb, 0) + 1, buf));
  CARDFS_ASSIGN_OR_RETURN(GroupDesc gd,
                          decode_group_desc(std::span(buf).first(kDescSize), 0, sb.csum_seed()));
  BlockOffset at = inode_location(sb, gd.inode_table, sb.journal_ino);
  if (at.block >= sb.blocks_count) return Status::error(EIO, "journal: inode table out of range");
  CARDFS_RETURN_IF_ERROR(read(at.block, buf));
  CARDFS_ASSIGN_OR_RETURN(DiskInode inode, decode_inode(std::span(buf).subspan(at.offset, kInodeSize),
                                                        sb.journal_ino, sb.csum_seed()));
  return map_journal(inode, sb, read);
}

Result<JournalSuper> read_super(const Superblock& sb, const JournalExtent& ext,
                                const ReadBlock& read) {
  std::vector<std::byte> buf(sb.block_size());
  CARDFS_RETURN_IF_ERROR(read(ext.first, buf));
  return decode_super(buf, sb.csum_seed(), ext.blocks);
}

Result<RecoveryStats> recover(const Superblock& sb, const JournalExtent& ext, const BlockIo& io) {
  const uint32_t seed = sb.csum_seed();
  CARDFS_ASSIGN_OR_RETURN(JournalSuper js, read_super(sb, ext, io.read));
  RecoveryStats st;
  st.next_sequence = js.sequence;
  if (js.start == 0) return st;
  st.needed = true;
  CARDFS_ASSIGN_OR_RETURN(Scan s, scan(js, ext, io.read, seed));
  std::vector<std::byte> buf(js.block_size);
  for (const ScannedTxn& txn : s.committed) {
    ++st.transactions;
    for (const auto& [jblock, tag] : txn.copies) {
      auto r = s.revoked.find(tag.block);
      if (r != s.revoked.end() && r->second >= txn.sequence) {
        ++st.revoked;
        continue;
      }
      if (tag.block < sb.first_data_block || tag.block >= sb.blocks_count)
        return Status::error(EIO, "journal: tag names block " + std::to_string(tag.block) +
                                      " outside the filesystem");
      CARDFS_RETURN_IF_ERROR(io.read(ext.first + jblock, buf));
      if (tag.flags & kTagEscaped) unescape(buf);
      if (tag_crc(buf, seed) != tag.crc) {
        ++st.bad_copies;
        logger("fusefs")->error("journal: copy of block {} in transaction {} fails its crc",
                                tag.block, txn.sequence);
        continue;
      }
      CARDFS_RETURN_IF_ERROR(io.write(tag.block, buf));
      ++st.replayed;
    }
  }
  // Home blocks durable before the journal stops saying they need replay.
  CARDFS_RETURN_IF_ERROR(io.flush());
  js.start = 0;
  js.sequence = s.next_sequence;
  encode_super(js, seed, buf);
  CARDFS_RETURN_IF_ERROR(io.write(ext.first, buf));
  CARDFS_RETURN_IF_ERROR(io.flush());
  st.next_sequence = js.sequence;
  return st;
}

}  // namespace cardfs::fusefs::journal
