// The cardfs on-disk format: one header, explicit widths and offsets.
//
// Little-endian throughout, encoded and decoded field by field with
// base/coding.h (never by casting buffers). Every decode checks the bounds
// of what it reads and reports an image that breaks them as EIO.
//
// Disk layout (block size B = 1024, 2048 or 4096; a group is 8*B blocks):
//   byte 0..1023     boot area (unused)
//   byte 1024..2047  primary superblock; block first_data_block holds it
//                    (block 1 when B = 1024, else block 0)
//   group g starts at block first_data_block + g * blocks_per_group:
//     [superblock copy + group descriptor table]  only in groups 0, 1 and
//                    powers of 3, 5 and 7 (sparse_super)
//     block bitmap (1 block), inode bitmap (1 block), inode table
//     data blocks
//
// Superblock (1024 bytes; backups at offset 0 of their group's first block)
//    0 u32 magic            4 u32 version          8 u32 feature_compat
//   12 u32 feature_ro_compat 16 u32 feature_incompat 20 u32 log_block_size
//   24 u64 blocks_count     32 u64 free_blocks     40 u32 inodes_count
//   44 u32 free_inodes      48 u32 blocks_per_group 52 u32 inodes_per_group
//   56 u32 first_data_block 60 u16 inode_size      62 u16 desc_size
//   64 u64 reserved_blocks  72 u16 state           74 u16 mount_count
//   76 u16 max_mount_count  78 u16 block_group_nr (of this copy)
//   80 u64 mount_time       88 u64 write_time      96 u64 check_time
//  104 u64 mkfs_time (seconds since the epoch)
//  112 u32 au_size_bytes   116 u32 default_mount_opts
//  120 u32 hash_seed[4]    136 u8 uuid[16]        152 char label[16]
//  168 u32 first_ino       172 u32 journal_ino    176 u32 lost_found_ino
//  180 u8 hash_version     181..183 zero          184 u32 last_orphan
//  188..1019 zero         1020 u32 crc32c
//  (last_orphan: the newest inode of the orphan list, 0 when it is empty;
//  kRoCompatOrphanPresent is set exactly while it is not)
//
// Group descriptor (64 bytes; the table follows each superblock copy)
//    0 u64 block_bitmap     8 u64 inode_bitmap    16 u64 inode_table
//   24 u32 free_blocks     28 u32 free_inodes     32 u32 used_dirs
//   36 u16 flags           38 u16 zero            40 u32 block_bitmap_crc
//   44 u32 inode_bitmap_crc 48..59 zero           60 u32 crc32c
//
// Inode (256 bytes; inode n is entry (n-1) % inodes_per_group of group
// (n-1) / inodes_per_group's table)
//    0 u16 mode            2 u16 links_count      4 u32 uid
//    8 u32 gid            12 u32 flags           16 u64 size
//   24 u64 blocks (512-byte units, data + indirect + xattr blocks)
//   32 i64 atime_sec      40 u32 atime_nsec      44 u32 mtime_nsec
//   48 i64 mtime_sec      56 i64 ctime_sec       64 u32 ctime_nsec
//   68 u32 crtime_nsec    72 i64 crtime_sec      80 u32 generation
//   84 u32 rdev           88 u64 xattr_block
//   96 u32 block[13]: 10 direct, single, double, triple indirect; 8 spare
//      (with kIncompatUnwritten, bit 31 of a data block pointer — direct or
//      in the last indirect level — marks it unwritten: reads as zeros)
//      bytes follow so that 96..155 (60 bytes) hold an inline symlink target
//  156 u32 next_orphan (the next older orphan, 0 at the end of the list;
//      meaningful only while the inode is on the orphan list)
//  160..251 zero          252 u32 crc32c
//
// Directory entry (ext2's, 4-byte aligned records filling each block)
//    0 u32 inode (0: unused)  4 u16 rec_len  6 u8 name_len  7 u8 file_type
//    8 name (name_len bytes, no NUL)
// Every directory block ends with a 12-byte tail: an entry with inode 0,
// rec_len 12, name_len 0, type 0xDE, then u32 crc32c of the block before it.
//
// Checksums are CRC-32C seeded with crc32c(uuid): superblock (bytes 0..1019),
// descriptors (group number + bytes 0..59), bitmaps (whole block, kept in the
// descriptor), inodes (inode number + bytes 0..251), directory blocks
// (directory inode number + bytes before the tail). An all-zero inode is a
// free one and carries no checksum.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "base/status.h"

namespace cardfs::fusefs {

inline constexpr uint32_t kMagic = 0x53464443;  // "CDFS"
inline constexpr uint32_t kVersion = 1;
inline constexpr uint64_t kSuperblockOffset = 1024;
inline constexpr uint32_t kSuperblockSize = 1024;
inline constexpr uint32_t kDescSize = 64;
inline constexpr uint32_t kInodeSize = 256;
inline constexpr uint32_t kDirTailSize = 12;
inline constexpr uint32_t kDirEntryHeader = 8;
inline constexpr uint32_t kMaxNameLen = 255;
inline constexpr uint32_t kMaxLinks = 65000;
inline constexpr uint32_t kInlineSymlinkMax = 60;
inline constexpr int kDirectBlocks = 10;
inline constexpr int kBlockPointers = 13;  // 10 direct + single, double, triple

// Reserved inode numbers.
inline constexpr uint32_t kRootIno = 2;
inline constexpr uint32_t kJournalIno = 3;  // the journal (fusefs/journal_format.h)
inline constexpr uint32_t kFirstIno = 11;   // first for ordinary files
inline constexpr uint32_t kLostFoundIno = 11;

// Feature flags. Unknown incompat bits refuse the mount, unknown ro_compat
// bits refuse a read-write mount, unknown compat bits are ignored.
inline constexpr uint32_t kCompatDirIndex = 0x1;
// Inode journal_ino holds a journal (fusefs/journal_format.h, docs/journal.md).
inline constexpr uint32_t kCompatHasJournal = 0x4;
inline constexpr uint32_t kRoCompatSparseSuper = 0x1;
inline constexpr uint32_t kRoCompatLargeFile = 0x2;
// The orphan list is not empty (superblock last_orphan): inodes whose last
// link went while they were in use wait there to be freed by the next
// read-write mount or fsck. Code that does not know the list must not
// mount read-write (it would leak them) — as ext4's orphan_present.
inline constexpr uint32_t kRoCompatOrphanPresent = 0x4;
inline constexpr uint32_t kIncompatFiletype = 0x1;
inline constexpr uint32_t kIncompatMetadataCsum = 0x2;
// Data block pointers may carry kUnwrittenBit: allocated (counted, owned)
// but never written, so it reads as zeros (fallocate). Needs block numbers
// below 2^31, so the superblock's blocks_count is at most kUnwrittenMaxBlocks.
inline constexpr uint32_t kIncompatUnwritten = 0x4;
inline constexpr uint32_t kSupportedCompat = kCompatDirIndex | kCompatHasJournal;
inline constexpr uint32_t kSupportedRoCompat =
    kRoCompatSparseSuper | kRoCompatLargeFile | kRoCompatOrphanPresent;
inline constexpr uint32_t kSupportedIncompat =
    kIncompatFiletype | kIncompatMetadataCsum | kIncompatUnwritten;
inline constexpr uint32_t kUnwrittenBit = 0x80000000u;
inline constexpr uint64_t kUnwrittenMaxBlocks = kUnwrittenBit;

// A data block pointer as stored (direct, or an entry of a single-level
// indirect block) split into the block and the unwritten mark; the mark
// exists only on filesystems with kIncompatUnwritten. Pointers to indirect
// blocks never carry it.
struct DataPointer {
  uint64_t block = 0;
  bool unwritten = false;
};
inline DataPointer decode_data_pointer(uint32_t raw, bool unwritten_feature) {
  if (unwritten_feature && (raw & kUnwrittenBit)) return {raw & ~kUnwrittenBit, true};
  return {raw, false};
}

inline constexpr uint16_t kStateClean = 0x1;
inline constexpr uint16_t kStateErrors = 0x2;

inline constexpr uint32_t kInodeFlagIndex = 0x1000;  // directory has a hash index

inline constexpr uint8_t kHashVersionSeeded = 1;  // the only hash version so far

// Directory entry file types (ext2's).
enum FileType : uint8_t {
  kFtUnknown = 0, kFtRegular = 1, kFtDir = 2, kFtChar = 3,
  kFtBlock = 4, kFtFifo = 5, kFtSocket = 6, kFtSymlink = 7,
};
uint8_t file_type_from_mode(uint32_t mode);

struct Superblock {
  uint32_t magic = kMagic;
  uint32_t version = kVersion;
  uint32_t feature_compat = 0;
  uint32_t feature_ro_compat = 0;
  uint32_t feature_incompat = 0;
  uint32_t log_block_size = 2;  // block size = 1024 << log_block_size
  uint64_t blocks_count = 0;
  uint64_t free_blocks = 0;
  uint32_t inodes_count = 0;
  uint32_t free_inodes = 0;
  uint32_t blocks_per_group = 0;
  uint32_t inodes_per_group = 0;
  uint32_t first_data_block = 0;
  uint16_t inode_size = kInodeSize;
  uint16_t desc_size = kDescSize;
  uint64_t reserved_blocks = 0;
  uint16_t state = kStateClean;
  uint16_t mount_count = 0;
  uint16_t max_mount_count = 0;
  uint16_t block_group_nr = 0;
  uint64_t mount_time = 0;
  uint64_t write_time = 0;
  uint64_t check_time = 0;
  uint64_t mkfs_time = 0;
  uint32_t au_size = 0;
  uint32_t default_mount_opts = 0;
  std::array<uint32_t, 4> hash_seed{};
  std::array<uint8_t, 16> uuid{};
  std::array<char, 16> label{};
  uint32_t first_ino = kFirstIno;
  uint32_t journal_ino = kJournalIno;
  uint32_t lost_found_ino = kLostFoundIno;
  uint8_t hash_version = kHashVersionSeeded;
  uint32_t last_orphan = 0;  // head of the orphan list (0: empty)

  bool operator==(const Superblock&) const = default;
  uint32_t block_size() const { return 1024u << log_block_size; }
  uint32_t group_count() const;
  uint32_t csum_seed() const;
};

struct GroupDesc {
  uint64_t block_bitmap = 0;
  uint64_t inode_bitmap = 0;
  uint64_t inode_table = 0;
  uint32_t free_blocks = 0;
  uint32_t free_inodes = 0;
  uint32_t used_dirs = 0;
  uint16_t flags = 0;
  uint32_t block_bitmap_crc = 0;
  uint32_t inode_bitmap_crc = 0;
};

// Time with nanoseconds, as stat() reports it.
struct Timespec {
  int64_t sec = 0;
  uint32_t nsec = 0;
  auto operator<=>(const Timespec&) const = default;
};

struct DiskInode {
  uint16_t mode = 0;
  uint16_t links_count = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t flags = 0;
  uint64_t size = 0;
  uint64_t blocks = 0;  // 512-byte units
  Timespec atime, mtime, ctime, crtime;
  uint32_t generation = 0;
  uint32_t rdev = 0;
  uint64_t xattr_block = 0;
  std::array<uint32_t, kBlockPointers> block{};
  std::array<uint8_t, 8> spare{};  // the tail of an inline symlink target
  uint32_t next_orphan = 0;        // on the orphan list: the next older orphan
};

// ---- encoding (buffers must be at least the structure's size)
void encode_superblock(const Superblock& sb, std::span<std::byte> out);
// Checks magic, checksum, version, features and every geometry field.
// read_only: unknown ro_compat features are accepted.
Result<Superblock> decode_superblock(std::span<const std::byte> in, bool read_only = false);

void encode_group_desc(const GroupDesc& gd, uint32_t group, uint32_t seed,
                       std::span<std::byte> out);
Result<GroupDesc> decode_group_desc(std::span<const std::byte> in, uint32_t group, uint32_t seed);

void encode_inode(const DiskInode& ino, uint32_t number, uint32_t seed, std::span<std::byte> out);
// An all-zero record decodes as a free inode (mode 0).
Result<DiskInode> decode_inode(std::span<const std::byte> in, uint32_t number, uint32_t seed);
// The same without the checksum (fsck and inspect judge it separately);
// every other bound is still checked.
Result<DiskInode> decode_inode_unverified(std::span<const std::byte> in, uint32_t number);
bool inode_checksum_ok(std::span<const std::byte> in, uint32_t number, uint32_t seed);
// Rewrites the next_orphan field of an encoded record in place and its
// checksum (the orphan list relinks a record it does not own).
void set_record_next_orphan(std::span<std::byte> rec, uint32_t number, uint32_t seed,
                            uint32_t next);
// The next_orphan field of an encoded record.
uint32_t record_next_orphan(std::span<const std::byte> rec);

// Inline symlink targets live in the pointer area (bytes 96..155).
std::string inline_symlink_target(const DiskInode& ino);
void set_inline_symlink_target(DiskInode& ino, std::string_view target);

// ---- geometry
// True for groups 0, 1 and powers of 3, 5, 7: they hold superblock backups.
bool group_has_super(uint32_t group);
uint64_t group_first_block(const Superblock& sb, uint32_t group);
// Blocks in this group (the last one may be short).
uint32_t group_block_count(const Superblock& sb, uint32_t group);
uint32_t gdt_blocks(const Superblock& sb);
uint32_t inode_table_blocks(const Superblock& sb);
// Where mkfs puts a group's metadata (descriptors are checked against it).
struct GroupLayout {
  uint64_t first = 0;         // first block of the group
  uint32_t count = 0;         // blocks in the group
  uint64_t block_bitmap = 0;
  uint64_t inode_bitmap = 0;
  uint64_t inode_table = 0;
  uint64_t first_data = 0;    // first block after the inode table
};
GroupLayout group_layout(const Superblock& sb, uint32_t group);
struct BlockOffset {
  uint64_t block = 0;
  uint32_t offset = 0;
};
// Where group `group`'s superblock copy lives (group 0: the primary).
BlockOffset superblock_location(const Superblock& sb, uint32_t group);
// Where inode `ino` lives, given its group's inode table.
BlockOffset inode_location(const Superblock& sb, uint64_t inode_table, uint32_t ino);
// Largest file size the 13 pointers can map, in bytes.
uint64_t max_file_size(uint32_t block_size);

}  // namespace cardfs::fusefs
