// The journal's on-disk format (jbd2's, little-endian, with CRC-32C).
//
// The journal lives in the blocks of inode kJournalIno (3), which mkfs
// lays out contiguously: journal block i is filesystem block first + i.
// The superblock's compat feature kCompatHasJournal says it exists.
// Block 0 is the journal superblock; blocks [first, maxlen) are a ring of
// transactions, each
//   descriptor block(s)  tags: home block number, flags, crc32c of the copy
//   copies of the metadata blocks, one per tag, in tag order
//   revoke block(s)      home blocks whose older logged copies must not be replayed
//   commit block         the transaction is complete when this is valid
// Every log block starts with the 12-byte header (magic, type, sequence)
// and ends with a crc32c (seeded as the filesystem's checksums: crc32c of
// the uuid) of the bytes before it. A copy whose first 4 bytes equal the
// magic is logged with them zeroed and kTagEscaped set (jbd2's escape).
//
// Header (every journal block but the copies)
//    0 u32 magic  4 u32 type  8 u32 sequence
// Journal superblock (type kJsb; sequence 0)
//   12 u32 block_size  16 u32 maxlen (blocks, superblock included)
//   20 u32 first (first log block, 1)  24 u32 sequence (first transaction
//   to replay, or the next to write when empty)  28 u32 start (log block of
//   that transaction; 0: the journal is empty, nothing to replay)
//   32 u8 uuid[16] (the filesystem's)  48..B-5 zero  B-4 u32 crc32c
// Descriptor (type kDescriptor)
//   12 u32 count  16 tags of 16 bytes: u64 home block, u32 flags, u32 crc32c
//   of the block's bytes as on the home location (unescaped)
// Revoke (type kRevoke)
//   12 u32 count  16 u64 home block numbers
// Commit (type kCommit)
//   12 u32 blocks (copies in this transaction)  16 i64 commit_sec  24 u32 nsec
//
// All pure functions: encode into / decode from one block, bounds-checked,
// EIO (or an empty optional where "not a journal block" is a normal answer
// during a scan) for anything out of its range.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "base/status.h"
#include "fusefs/layout.h"

namespace cardfs::fusefs::journal {

inline constexpr uint32_t kMagic = 0x4C4E524A;  // "JRNL"
inline constexpr uint32_t kHeaderSize = 12;
inline constexpr uint32_t kTagSize = 16;
inline constexpr uint32_t kTailSize = 4;  // the crc32c at the end of a block
inline constexpr uint32_t kMinBlocks = 1024;  // mke2fs's smallest journal

enum BlockType : uint32_t {
  kDescriptor = 1,
  kCommit = 2,
  kJsb = 4,
  kRevoke = 5,
};

inline constexpr uint32_t kTagEscaped = 0x1;  // first 4 bytes were the magic
inline constexpr uint32_t kTagLast = 0x8;     // last tag of its descriptor

struct JournalSuper {
  uint32_t block_size = 0;
  uint32_t maxlen = 0;
  uint32_t first = 1;
  uint32_t sequence = 1;
  uint32_t start = 0;  // 0: empty
  std::array<uint8_t, 16> uuid{};
};

struct Tag {
  uint64_t block = 0;
  uint32_t flags = 0;
  uint32_t crc = 0;
};

struct Commit {
  uint32_t blocks = 0;
  Timespec time;
};

// How many tags / revoked numbers fit in one block.
uint32_t tags_per_block(uint32_t block_size);
uint32_t revokes_per_block(uint32_t block_size);

void encode_super(const JournalSuper& js, uint32_t seed, std::span<std::byte> block);
// Checks magic, type, crc and that the ring fits: first >= 1, maxlen <= blocks
// (the journal inode's block count), start 0 or within [first, maxlen).
Result<JournalSuper> decode_super(std::span<const std::byte> block, uint32_t seed,
                                  uint64_t blocks);

void encode_descriptor(std::span<const Tag> tags, uint32_t sequence, uint32_t seed,
                       std::span<std::byte> block);
void encode_revoke(std::span<const uint64_t> blocks, uint32_t sequence, uint32_t seed,
                   std::span<std::byte> block);
void encode_commit(const Commit& c, uint32_t sequence, uint32_t seed, std::span<std::byte> block);

// A log block as found while scanning: which type, with which sequence.
// Empty when the block is not a valid journal block (wrong magic, bad crc,
// unknown type, counts out of range): the end of the log.
struct LogBlock {
  BlockType type = kDescriptor;
  uint32_t sequence = 0;
  std::vector<Tag> tags;         // kDescriptor
  std::vector<uint64_t> revoked; // kRevoke
  Commit commit;                 // kCommit
};
std::optional<LogBlock> decode_log_block(std::span<const std::byte> block, uint32_t seed);

// The crc a tag carries for a home block's bytes.
uint32_t tag_crc(std::span<const std::byte> home_bytes, uint32_t seed);
// Escaping a copy for the log (and undoing it on replay).
bool needs_escape(std::span<const std::byte> bytes);
void escape(std::span<std::byte> bytes);
void unescape(std::span<std::byte> bytes);

// A transaction laid out as the log blocks it occupies, in order:
// descriptors each followed by their copies, then revokes, then commit.
struct TransactionImage {
  std::vector<std::vector<std::byte>> blocks;
  uint32_t copies = 0;
};
struct LoggedBlock {
  uint64_t home = 0;
  std::span<const std::byte> bytes;  // block_size bytes as they go home
};
TransactionImage build_transaction(std::span<const LoggedBlock> logged,
                                   std::span<const uint64_t> revoked, uint32_t sequence,
                                   const Timespec& time, uint32_t block_size, uint32_t seed);
// Log blocks build_transaction would use, without building them.
uint32_t transaction_blocks(uint32_t logged, uint32_t revoked, uint32_t block_size);

// ---- where the journal is: the journal inode's block map, which must be
// one contiguous run (mkfs lays it so). read reads one filesystem block.
struct JournalExtent {
  uint64_t first = 0;   // filesystem block of journal block 0
  uint32_t blocks = 0;  // journal blocks
  std::vector<uint64_t> map_blocks;  // the inode's indirect blocks
};
using ReadBlock = std::function<Status(uint64_t block, std::span<std::byte> out)>;
Result<JournalExtent> map_journal(const DiskInode& inode, const Superblock& sb,
                                  const ReadBlock& read);

// mke2fs's default journal size (ext2fs_default_journal_size) in blocks for
// a filesystem of `blocks` blocks; 0: too small for a journal.
uint32_t default_journal_blocks(uint64_t blocks);

}  // namespace cardfs::fusefs::journal
