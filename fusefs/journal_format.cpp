#include "fusefs/journal_format.h"

#include <algorithm>
#include <cstring>

#include "base/coding.h"
#include "base/crc32c.h"

namespace cardfs::fusefs::journal {
namespace {

Status corrupt(const std::string& what) { return Status::error(EIO, "journal: " + what); }

uint32_t block_crc(std::span<const std::byte> block, uint32_t seed) {
  return crc32c(seed, block.first(block.size() - kTailSize));
}

void seal(std::span<std::byte> block, uint32_t seed) {
  put_u32(block.data() + block.size() - kTailSize, block_crc(block, seed));
}

bool sealed(std::span<const std::byte> block, uint32_t seed) {
  return block.size() > kHeaderSize + kTailSize &&
         get_u32(block.data() + block.size() - kTailSize) == block_crc(block, seed);
}

void put_header(Encoder& e, BlockType type, uint32_t sequence) {
  e.u32(kMagic);
  e.u32(type);
  e.u32(sequence);
}

bool valid_block_size(uint32_t bs) { return bs == 1024 || bs == 2048 || bs == 4096; }

}  // namespace

uint32_t tags_per_block(uint32_t bs) { return (bs - kHeaderSize - 4 - kTailSize) / kTagSize; }
uint32_t revokes_per_block(uint32_t bs) { return (bs - kHeaderSize - 4 - kTailSize) / 8; }

void encode_super(const JournalSuper& js, uint32_t seed, std::span<std::byte> block) {
  std::fill(block.begin(), block.end(), std::byte{0});
  Encoder e(block);
  put_header(e, kJsb, 0);
  e.u32(js.block_size);
  e.u32(js.maxlen);
  e.u32(js.first);
  e.u32(js.sequence);
  e.u32(js.start);
  for (uint8_t b : js.uuid) e.u8(b);
  seal(block, seed);
}

Result<JournalSuper> decode_super(std::span<const std::byte> block, uint32_t seed,
                                  uint64_t blocks) {
  if (!valid_block_size(uint32_t(block.size()))) return corrupt("bad superblock buffer");
  Decoder d(block);
  if (d.u32() != kMagic || d.u32() != kJsb) return corrupt("no journal superblock (bad magic)");
  d.u32();
  if (!sealed(block, seed)) return corrupt("superblock checksum mismatch");
  JournalSuper js;
  js.block_size = d.u32();
  js.maxlen = d.u32();
  js.first = d.u32();
  js.sequence = d.u32();
  js.start = d.u32();
  for (uint8_t& b : js.uuid) b = d.u8();
  if (!d.ok()) return corrupt("superblock truncated");
  if (js.block_size != block.size()) return corrupt("superblock block size differs from the filesystem's");
  if (js.maxlen > blocks || js.maxlen < 4) return corrupt("superblock maxlen out of range");
  if (js.first < 1 || js.first + 2 >= js.maxlen) return corrupt("superblock first out of range");
  if (js.start != 0 && (js.start < js.first || js.start >= js.maxlen))
    return corrupt("superblock start out of range");
  return js;
}

void encode_descriptor(std::span<const Tag> tags, uint32_t sequence, uint32_t seed,
                       std::span<std::byte> block) {
  std::fill(block.begin(), block.end(), std::byte{0});
  Encoder e(block);
  put_header(e, kDescriptor, sequence);
  e.u32(uint32_t(tags.size()));
  for (const Tag& t : tags) {
    e.u64(t.block);
    e.u32(t.flags);
    e.u32(t.crc);
  }
  seal(block, seed);
}

void encode_revoke(std::span<const uint64_t> blocks, uint32_t sequence, uint32_t seed,
                   std::span<std::byte> block) {
  std::fill(block.begin(), block.end(), std::byte{0});
  Encoder e(block);
  put_header(e, kRevoke, sequence);
  e.u32(uint32_t(blocks.size()));
  for (uint64_t b : blocks) e.u64(b);
  seal(block, seed);
}

void encode_commit(const Commit& c, uint32_t sequence, uint32_t seed, std::span<std::byte> block) {
  std::fill(block.begin(), block.end(), std::byte{0});
  Encoder e(block);
  put_header(e, kCommit, sequence);
  e.u32(c.blocks);
  e.u64(uint64_t(c.time.sec));
  e.u32(c.time.nsec);
  seal(block, seed);
}

std::optional<LogBlock> decode_log_block(std::span<const std::byte> block, uint32_t seed) {
  const uint32_t bs = uint32_t(block.size());
  if (!valid_block_size(bs) || get_u32(block.data()) != kMagic || !sealed(block, seed))
    return std::nullopt;
  Decoder d(block);
  d.u32();
  LogBlock lb;
  const uint32_t type = d.u32();
  lb.sequence = d.u32();
  if (type == kDescriptor) {
    const uint32_t n = d.u32();
    if (n == 0 || n > tags_per_block(bs)) return std::nullopt;
    lb.tags.resize(n);
    for (Tag& t : lb.tags) {
      t.block = d.u64();
      t.flags = d.u32();
      t.crc = d.u32();
    }
  } else if (type == kRevoke) {
    const uint32_t n = d.u32();
    if (n > revokes_per_block(bs)) return std::nullopt;
    lb.revoked.resize(n);
    for (uint64_t& b : lb.revoked) b = d.u64();
  } else if (type == kCommit) {
    lb.commit.blocks = d.u32();
    lb.commit.time.sec = int64_t(d.u64());
    lb.commit.time.nsec = d.u32();
  } else {
    return std::nullopt;
  }
  if (!d.ok()) return std::nullopt;
  lb.type = BlockType(type);
  return lb;
}

uint32_t tag_crc(std::span<const std::byte> home_bytes, uint32_t seed) {
  return crc32c(seed, home_bytes);
}

bool needs_escape(std::span<const std::byte> bytes) {
  return bytes.size() >= 4 && get_u32(bytes.data()) == kMagic;
}
void escape(std::span<std::byte> bytes) { std::memset(bytes.data(), 0, 4); }
void unescape(std::span<std::byte> bytes) { put_u32(bytes.data(), kMagic); }

uint32_t transaction_blocks(uint32_t logged, uint32_t revoked, uint32_t bs) {
  const uint32_t per_desc = tags_per_block(bs), per_rev = revokes_per_block(bs);
  return (logged + per_desc - 1) / per_desc + logged + (revoked + per_rev - 1) / per_rev + 1;
}

TransactionImage build_transaction(std::span<const LoggedBlock> logged,
                                   std::span<const uint64_t> revoked, uint32_t sequence,
                                   const Timespec& time, uint32_t bs, uint32_t seed) {
  TransactionImage img;
  const uint32_t per_desc = tags_per_block(bs);
  for (size_t at = 0; at < logged.size(); at += per_desc) {
    const size_t n = std::min<size_t>(per_desc, logged.size() - at);
    std::vector<Tag> tags(n);
    const size_t desc_index = img.blocks.size();
    img.blocks.emplace_back(bs);
    for (size_t i = 0; i < n; ++i) {
      const LoggedBlock& lb = logged[at + i];
      std::vector<std::byte> copy(lb.bytes.begin(), lb.bytes.end());
      tags[i] = {lb.home, i + 1 == n ? kTagLast : 0u, tag_crc(copy, seed)};
      if (needs_escape(copy)) {
        escape(copy);
        tags[i].flags |= kTagEscaped;
      }
      img.blocks.push_back(std::move(copy));
    }
    encode_descriptor(tags, sequence, seed, img.blocks[desc_index]);
    img.copies += uint32_t(n);
  }
  const uint32_t per_rev = revokes_per_block(bs);
  for (size_t at = 0; at < revoked.size(); at += per_rev) {
    img.blocks.emplace_back(bs);
    encode_revoke(revoked.subspan(at, std::min<size_t>(per_rev, revoked.size() - at)), sequence,
                  seed, img.blocks.back());
  }
  img.blocks.emplace_back(bs);
  encode_commit({img.copies, time}, sequence, seed, img.blocks.back());
  return img;
}

// The pointers of one map level as a list of data blocks, checking each is
// the next of the run; the map's own blocks go to ext.map_blocks.
namespace {
struct MapWalk {
  const Superblock& sb;
  const ReadBlock& read;
  JournalExtent& ext;
  uint64_t remaining;

  Status take(uint64_t ptr, int depth) {
    if (remaining == 0) return ptr == 0 ? Status::ok() : corrupt("journal inode maps extra blocks");
    if (ptr < sb.first_data_block || ptr >= sb.blocks_count)
      return corrupt("journal block " + std::to_string(ptr) + " outside the filesystem");
    if (depth == 0) {
      if (ext.blocks == 0) ext.first = ptr;
      if (ptr != ext.first + ext.blocks) return corrupt("journal blocks are not contiguous");
      ++ext.blocks;
      --remaining;
      return Status::ok();
    }
    ext.map_blocks.push_back(ptr);
    std::vector<std::byte> buf(sb.block_size());
    CARDFS_RETURN_IF_ERROR(read(ptr, buf));
    for (uint32_t i = 0; i < sb.block_size() / 4 && remaining; ++i) {
      const uint32_t p = get_u32(buf.data() + 4 * i);
      if (p == 0) return corrupt("journal inode has a hole");
      CARDFS_RETURN_IF_ERROR(take(p, depth - 1));
    }
    return Status::ok();
  }
};
}  // namespace

Result<JournalExtent> map_journal(const DiskInode& inode, const Superblock& sb,
                                  const ReadBlock& read) {
  const uint32_t bs = sb.block_size();
  if ((inode.mode & 0170000) != 0100000) return corrupt("journal inode is not a regular file");
  if (inode.size % bs != 0 || inode.size / bs < 4 || inode.size / bs > sb.blocks_count)
    return corrupt("journal inode size out of range");
  JournalExtent ext;
  MapWalk walk{sb, read, ext, inode.size / bs};
  for (int i = 0; i < kBlockPointers && walk.remaining; ++i) {
    const int depth = i < kDirectBlocks ? 0 : i - kDirectBlocks + 1;
    if (inode.block[i] == 0) return corrupt("journal inode has a hole");
    CARDFS_RETURN_IF_ERROR(walk.take(inode.block[i], depth));
  }
  if (walk.remaining) return corrupt("journal inode maps too few blocks");
  return ext;
}

uint32_t default_journal_blocks(uint64_t blocks) {
  if (blocks < 2048) return 0;
  if (blocks < 32768) return 1024;
  if (blocks < 256 * 1024) return 4096;
  if (blocks < 512 * 1024) return 8192;
  if (blocks < 4096 * 1024) return 16384;
  if (blocks < 8192 * 1024) return 32768;
  if (blocks < 16384 * 1024) return 65536;
  if (blocks < 32768 * 1024) return 131072;
  return 262144;
}

}  // namespace cardfs::fusefs::journal
