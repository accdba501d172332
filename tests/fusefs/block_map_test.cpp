// The 13 block pointers (seed 002 "Implementation of Unix Files", seed 003
// sparse files): thresholds of each indirection level, holes, truncate,
// punch hole and fallocate (unwritten blocks).
#include <linux/falloc.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <set>

#include "fusefs/format.h"
#include "tests/fusefs/fs_fixture.h"

using namespace cardfs;
using namespace cardfs::fusefs;
using namespace cardfs::fusefs::testing;

namespace {

void write_at(TestFs& t, Ino ino, uint64_t off, const std::string& s) {
  auto n = t->write(ino, off, bytes_of(s));
  INFO(n.status().to_string());
  REQUIRE(n.is_ok());
  REQUIRE(*n == s.size());
}

std::string read_at(TestFs& t, Ino ino, uint64_t off, size_t len) {
  std::vector<std::byte> buf(len);
  auto n = t->read(ino, off, buf);
  REQUIRE(n.is_ok());
  buf.resize(*n);
  return string_of(buf);
}

// Fills file blocks [first, end) of f's disk blocks with stale bytes, as
// a card that held other data would: an unwritten block must never show them.
void stain_blocks(TestFs& t, Ino f, uint64_t first, uint64_t end) {
  const uint32_t bs = t.summary().sb.block_size();
  std::vector<std::byte> stale(bs, std::byte{0xee});
  for (uint64_t fb = first; fb < end; ++fb) {
    auto b = t->bmap(f, fb);
    REQUIRE(b.is_ok());
    REQUIRE(*b != 0);
    t.dev().poke_bytes(*b * bs, stale);
  }
}

// Read bios that touched the disk blocks of f's file blocks [first, end).
uint64_t data_reads(TestFs& t, Ino f, uint64_t first, uint64_t end) {
  const uint32_t bs = t.summary().sb.block_size();
  uint64_t n = 0;
  for (uint64_t fb = first; fb < end; ++fb)
    if (uint64_t b = *t->bmap(f, fb)) n += t.dev().reads_overlapping(b * bs, (b + 1) * bs);
  return n;
}

DiskInode inode_of(TestFs& t, Ino ino) {
  auto d = t->inspect_inode(ino);
  REQUIRE(d.is_ok());
  return *d;
}

}  // namespace

TEST_CASE("10 blocks use no indirect block - the 11th allocates the single indirect one") {
  TestFs t(sized(32 << 20, 1024));
  Ino f = make_file(t, "f");
  const uint64_t free0 = t->statfs()->free_blocks;
  write_at(t, f, 0, std::string(10 * 1024, 'a'));
  DiskInode d = inode_of(t, f);
  CHECK(d.block[10] == 0);
  CHECK(d.blocks == 10 * 2);
  CHECK(t->statfs()->free_blocks == free0 - 10);
  write_at(t, f, 10 * 1024, "b");
  d = inode_of(t, f);
  CHECK(d.block[10] != 0);
  CHECK(d.block[11] == 0);
  CHECK(d.blocks == 12 * 2);  // 11 data blocks + the single indirect block
  CHECK(t->statfs()->free_blocks == free0 - 12);
}

TEST_CASE("double and triple indirect levels start at the right file sizes (1 KiB blocks)") {
  TestFs t(sized(32 << 20, 1024));
  Ino f = make_file(t, "f");
  const uint64_t p = 256;
  // Last block of the single indirect range, then the first double one.
  write_at(t, f, (10 + p - 1) * 1024, "x");
  CHECK(inode_of(t, f).block[11] == 0);
  write_at(t, f, (10 + p) * 1024, "y");
  DiskInode d = inode_of(t, f);
  CHECK(d.block[11] != 0);
  CHECK(d.block[12] == 0);
  write_at(t, f, (10 + p + p * p - 1) * 1024, "z");
  CHECK(inode_of(t, f).block[12] == 0);
  write_at(t, f, (10 + p + p * p) * 1024, "w");
  d = inode_of(t, f);
  CHECK(d.block[12] != 0);
  // 4 data blocks; single; double + 2 singles under it; triple + double + single.
  CHECK(d.blocks == (4 + 1 + 3 + 3) * 2);
  CHECK(read_at(t, f, (10 + p + p * p) * 1024, 1) == "w");
  CHECK(read_at(t, f, 5000, 3) == std::string(3, '\0'));
}

TEST_CASE("one byte at 64 MiB allocates one data block plus its indirect blocks") {
  TestFs t(sized(32 << 20));
  Ino f = make_file(t, "sparse");
  const uint64_t free0 = t->statfs()->free_blocks;
  write_at(t, f, 64ull << 20, "!");
  // File block 16384 with 4 KiB blocks is past 10 + 1024: double indirect.
  CHECK(t->statfs()->free_blocks == free0 - 3);
  DiskInode d = inode_of(t, f);
  CHECK(d.size == (64ull << 20) + 1);
  CHECK(d.blocks == 3 * 8);
  CHECK(d.block[0] == 0);
  CHECK(d.block[10] == 0);
  CHECK(d.block[11] != 0);
  CHECK(read_at(t, f, 12345678, 4096) == std::string(4096, '\0'));
  CHECK(read_at(t, f, 64ull << 20, 10) == "!");
  t.remount();
  CHECK(read_at(t, f, 64ull << 20, 10) == "!");
  CHECK(*t->bmap(f, 100) == 0);
  CHECK(t->check_free_counts().is_ok());
}

TEST_CASE("writes past the largest file the pointers can map fail with EFBIG") {
  TestFs t(sized(16 << 20, 1024));
  Ino f = make_file(t, "big");
  const uint64_t max = max_file_size(1024);
  CHECK(t->write(f, max, bytes_of("x")).status().code() == EFBIG);
  auto n = t->write(f, max - 1, bytes_of("xy"));
  INFO(n.status().to_string());
  REQUIRE(n.is_ok());
  CHECK(*n == 1);  // clipped at the limit, as Linux does
  CHECK(t->getattr(f)->size == max);
  CHECK(t->truncate(f, max + 1).code() == EFBIG);
}

TEST_CASE("truncate frees data and emptied indirect blocks, and zeroes the tail") {
  TestFs t(sized(32 << 20, 1024));
  Ino f = make_file(t, "f");
  const uint64_t free0 = t->statfs()->free_blocks;
  write_at(t, f, 0, std::string(300 * 1024, 'q'));  // into the double indirect range
  CHECK(inode_of(t, f).block[11] != 0);
  REQUIRE(t->truncate(f, 5 * 1024 + 100).is_ok());
  DiskInode d = inode_of(t, f);
  CHECK(d.block[10] == 0);
  CHECK(d.block[11] == 0);
  CHECK(d.blocks == 6 * 2);
  CHECK(t->statfs()->free_blocks == free0 - 6);
  REQUIRE(t->truncate(f, 8 * 1024).is_ok());  // grow: the old tail reads as zeros
  CHECK(read_at(t, f, 5 * 1024 + 98, 4) == std::string("qq") + std::string(2, '\0'));
  t.remount();
  CHECK(read_at(t, f, 5 * 1024 + 98, 4) == std::string("qq") + std::string(2, '\0'));
  REQUIRE(t->truncate(f, 0).is_ok());
  CHECK(t->statfs()->free_blocks == free0);
  CHECK(t->check_free_counts().is_ok());
}

TEST_CASE("punching a hole frees whole blocks and zeroes partial ones") {
  TestFs t(sized(32 << 20, 1024));
  Ino f = make_file(t, "f");
  write_at(t, f, 0, std::string(20 * 1024, 'p'));
  const uint64_t free0 = t->statfs()->free_blocks;
  REQUIRE(t->fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 1500, 4 * 1024).is_ok());
  // [1500, 5596): blocks 2, 3, 4 are whole and freed; 1 and 5 are partial.
  CHECK(t->statfs()->free_blocks == free0 + 3);
  CHECK(*t->bmap(f, 2) == 0);
  CHECK(*t->bmap(f, 1) != 0);
  CHECK(read_at(t, f, 1498, 4) == std::string("pp") + std::string(2, '\0'));
  CHECK(read_at(t, f, 5594, 4) == std::string(2, '\0') + "pp");
  CHECK(t->getattr(f)->size == 20 * 1024);
  CHECK(t->fallocate(f, FALLOC_FL_PUNCH_HOLE, 0, 10).code() == EOPNOTSUPP);  // as vfs_fallocate
  t.remount();
  CHECK(read_at(t, f, 1498, 4) == std::string("pp") + std::string(2, '\0'));
}

TEST_CASE("hard links share one inode and its link count") {
  TestFs t;
  Ino f = make_file(t, "a");
  write_at(t, f, 0, "shared");
  REQUIRE(t->mkdir(kRootIno, "d", 0755, {}).is_ok());
  Ino d = t->lookup(kRootIno, "d")->ino;
  auto l = t->link(f, d, "b");
  REQUIRE(l.is_ok());
  CHECK(l->ino == f);
  CHECK(l->nlink == 2);
  CHECK(t->lookup(d, "b")->ino == f);
  REQUIRE(t->unlink(kRootIno, "a").is_ok());
  CHECK(t->getattr(f)->nlink == 1);
  CHECK(read_at(t, f, 0, 6) == "shared");
  CHECK(t->link(d, kRootIno, "dirlink").status().code() == EPERM);
  t.remount();
  CHECK(t->getattr(f)->nlink == 1);
  CHECK(read_at(t, t->lookup(d, "b")->ino, 0, 6) == "shared");
}

// ---- fallocate: unwritten blocks (kIncompatUnwritten)

TEST_CASE("fallocate writes no data: its blocks read as zeros without a device read",
          "[fusefs][unwritten]") {
  TestFs t(sized(64 << 20));
  CHECK((t.summary().sb.feature_incompat & kIncompatUnwritten) != 0);  // mkfs turns it on
  Ino f = make_file(t, "f");
  const uint64_t free0 = t->statfs()->free_blocks;
  REQUIRE(t->sync().is_ok());
  const uint64_t writes0 = t.dev().count(blockdev::BioOp::kWrite);
  REQUIRE(t->fallocate(f, 0, 0, 300 * 4096).is_ok());  // direct, single indirect
  REQUIRE(t->sync().is_ok());
  // inode, indirect block, bitmap, descriptors, superblock: logged and
  // written home; the journal's descriptor, commit block and superblock
  CHECK(t.dev().count(blockdev::BioOp::kWrite) - writes0 < 20);
  CHECK(t->getattr(f)->size == 300 * 4096);
  CHECK(inode_of(t, f).blocks == (300 + 1) * 8);  // st_blocks counts them
  CHECK(t->statfs()->free_blocks == free0 - 301);
  CHECK((inode_of(t, f).block[0] & kUnwrittenBit) != 0);
  stain_blocks(t, f, 0, 300);
  t.remount();  // persists, and a cold cache
  CHECK(read_at(t, f, 0, 300 * 4096) == std::string(300 * 4096, '\0'));
  CHECK(data_reads(t, f, 0, 300) == 0);
  CHECK(t->check_free_counts().is_ok());
}

TEST_CASE("a partial write into an unwritten block zeroes the rest of that block",
          "[fusefs][unwritten]") {
  for (uint32_t bs : {1024u, 4096u}) {
    INFO("block size " << bs);
    TestFs t(sized(32 << 20, bs));
    Ino f = make_file(t, "f");
    REQUIRE(t->fallocate(f, 0, 0, 20 * bs).is_ok());  // past the direct pointers at 1 KiB
    stain_blocks(t, f, 0, 20);
    const uint64_t b3 = *t->bmap(f, 3), b15 = *t->bmap(f, 15);
    write_at(t, f, 3 * bs + 100, "hello");
    write_at(t, f, 15 * bs + bs - 2, "xyz");  // ends in block 16
    std::string want(20 * bs, '\0');
    want.replace(3 * bs + 100, 5, "hello");
    want.replace(15 * bs + bs - 2, 3, "xyz");
    CHECK(read_at(t, f, 0, 20 * bs) == want);
    CHECK(*t->bmap(f, 3) == b3);  // written in place
    CHECK(*t->bmap(f, 15) == b15);
    t.remount();
    CHECK(read_at(t, f, 0, 20 * bs) == want);
    CHECK(data_reads(t, f, 0, 3) + data_reads(t, f, 4, 15) + data_reads(t, f, 17, 20) == 0);
    CHECK(t->check_free_counts().is_ok());
  }
}

TEST_CASE("fdatasync after writing into an unwritten block keeps the data across a crash",
          "[fusefs][unwritten]") {
  TestFs t(sized(32 << 20));
  Ino f = make_file(t, "f");
  REQUIRE(t->fallocate(f, 0, 0, 4 * 4096).is_ok());
  REQUIRE(t->fsync(f, false).is_ok());
  write_at(t, f, 4096, "durable");
  REQUIRE(t->fsync(f, /*datasync=*/true).is_ok());  // the mark's clearing is metadata it owes
  REQUIRE(t.try_mount().is_ok());                    // crash: nothing else written
  CHECK(read_at(t, f, 4096, 7) == "durable");
}

TEST_CASE("KEEP_SIZE allocates past EOF - the size grows only with writes", "[fusefs][unwritten]") {
  TestFs t(sized(32 << 20));
  Ino f = make_file(t, "f");
  write_at(t, f, 0, "abc");
  const uint64_t free0 = t->statfs()->free_blocks;
  REQUIRE(t->fallocate(f, FALLOC_FL_KEEP_SIZE, 0, 8 * 4096).is_ok());
  CHECK(t->getattr(f)->size == 3);
  CHECK(t->statfs()->free_blocks == free0 - 7);  // block 0 was there already
  CHECK(read_at(t, f, 0, 100) == "abc");         // nothing past EOF
  write_at(t, f, 5 * 4096, "z");
  CHECK(t->getattr(f)->size == 5 * 4096 + 1);
  CHECK(read_at(t, f, 0, 5 * 4096 + 1) == "abc" + std::string(5 * 4096 - 3, '\0') + "z");
  CHECK(t->statfs()->free_blocks == free0 - 7);  // the write used an allocated block
  REQUIRE(t->fallocate(f, 0, 0, 10 * 4096).is_ok());
  CHECK(t->getattr(f)->size == 10 * 4096);
  t.remount();
  CHECK(read_at(t, f, 5 * 4096, 1) == "z");
  REQUIRE(t->truncate(f, 0).is_ok());  // frees unwritten blocks like any others
  CHECK(t->statfs()->free_blocks == free0 + 1);
  CHECK(inode_of(t, f).blocks == 0);
  CHECK(t->check_free_counts().is_ok());
}

TEST_CASE("punching a hole over unwritten blocks frees them", "[fusefs][unwritten]") {
  TestFs t(sized(32 << 20, 1024));
  Ino f = make_file(t, "f");
  const uint64_t free0 = t->statfs()->free_blocks;
  REQUIRE(t->fallocate(f, 0, 0, 20 * 1024).is_ok());
  write_at(t, f, 0, "p");
  REQUIRE(t->fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 1500, 4 * 1024).is_ok());
  CHECK(t->statfs()->free_blocks == free0 - 21 + 3);  // 20 + indirect, blocks 2..4 freed
  CHECK(*t->bmap(f, 2) == 0);
  CHECK(*t->bmap(f, 5) != 0);
  CHECK(read_at(t, f, 0, 20 * 1024) == "p" + std::string(20 * 1024 - 1, '\0'));
  REQUIRE(t->unlink(kRootIno, "f").is_ok());
  t->forget(f, 1);
  CHECK(t->statfs()->free_blocks == free0);
  CHECK(t->check_free_counts().is_ok());
}

TEST_CASE("fallocate beyond the free space is ENOSPC and allocates nothing - EFBIG past the "
          "maximum size", "[fusefs][unwritten]") {
  TestFs t(sized(16 << 20));
  Ino f = make_file(t, "f");
  const uint64_t free0 = t->statfs()->free_blocks;
  CHECK(t->fallocate(f, 0, 0, (free0 + 1) * 4096).code() == ENOSPC);
  CHECK(t->statfs()->free_blocks == free0);
  CHECK(t->getattr(f)->size == 0);
  // Only the holes need space: allocating most of the disk twice over the
  // same range succeeds.
  const uint64_t most = free0 * 2 / 3 * 4096;
  REQUIRE(t->fallocate(f, 0, 0, most).is_ok());
  CHECK(t->fallocate(f, 0, 0, most).is_ok());
  CHECK(t->fallocate(f, 0, 0, most + free0 / 2 * 4096).code() == ENOSPC);
  CHECK(t->fallocate(f, 0, max_file_size(4096) - 4096, 8192).code() == EFBIG);
  CHECK(t->fallocate(f, 0x40, 0, 1).code() == EOPNOTSUPP);
  CHECK(t->fallocate(kRootIno, 0, 0, 1).code() == EISDIR);
}

TEST_CASE("an image made without unwritten blocks gets the feature at its first fallocate",
          "[fusefs][unwritten]") {
  TestFs t(sized(16 << 20));
  t.unmount();
  std::vector<std::byte> raw(kSuperblockSize);
  t.dev().peek_bytes(kSuperblockOffset, raw);
  auto sb = decode_superblock(raw);
  REQUIRE(sb.is_ok());
  sb->feature_incompat &= ~kIncompatUnwritten;  // as mkfs made it before
  encode_superblock(*sb, raw);
  t.dev().poke_bytes(kSuperblockOffset, raw);
  REQUIRE(t.try_mount().is_ok());
  CHECK((t->superblock().feature_incompat & kIncompatUnwritten) == 0);
  Ino f = make_file(t, "f");
  REQUIRE(t->fallocate(f, 0, 0, 4096).is_ok());
  CHECK((t->superblock().feature_incompat & kIncompatUnwritten) != 0);
  t.remount();
  CHECK((t->superblock().feature_incompat & kIncompatUnwritten) != 0);
  CHECK(read_at(t, f, 0, 4096) == std::string(4096, '\0'));
  // Code that does not know the bit refuses the image, as for any unknown
  // incompatible feature; and the bit is refused where 31-bit pointers cannot
  // address the filesystem.
  sb->feature_incompat |= kIncompatUnwritten;
  sb->blocks_count = kUnwrittenMaxBlocks + 1;
  encode_superblock(*sb, raw);
  CHECK(decode_superblock(raw).status().code() == EIO);
}

TEST_CASE("pointer_path: the slots through direct, single, double and triple indirect blocks") {
  const uint64_t p = 1024;  // pointers per 4 KiB block
  auto at = [&](uint64_t fb) { return *pointer_path(fb, p); };
  CHECK(at(9).depth == 0);
  CHECK(at(9).slot[0] == 9);
  CHECK(at(10).depth == 1);
  CHECK(at(10).slot[0] == 10);
  CHECK(at(10).slot[1] == 0);
  CHECK(at(10 + p - 1).slot[1] == p - 1);
  const PointerPath d = at(10 + p + p + 3);  // double: second indirect block, slot 3
  CHECK(d.depth == 2);
  CHECK(d.slot[0] == 11);
  CHECK(d.slot[1] == 1);
  CHECK(d.slot[2] == 3);
  const PointerPath t = at(10 + p + p * p);  // the first block of the triple
  CHECK(t.depth == 3);
  CHECK(t.slot[0] == 12);
  CHECK((t.slot[1] | t.slot[2] | t.slot[3]) == 0);
  CHECK(at(10 + p + p * p + p * p * p - 1).slot[3] == p - 1);
  CHECK(pointer_path(10 + p + p * p + p * p * p, p).status().code() == EFBIG);
}

// SEEK_DATA/SEEK_HOLE against a model of which file blocks are mapped, at
// every level's edges (1 KiB blocks: 256 pointers per indirect block).
TEST_CASE("SEEK_DATA and SEEK_HOLE find the next mapped and unmapped block at every indirection level") {
  TestFs t(sized(32 << 20, 1024));
  Ino f = make_file(t, "sparse");
  const uint64_t p = 256, single = 10, dbl = single + p, triple = dbl + p * p;
  std::set<uint64_t> mapped;
  for (uint64_t fb : {uint64_t(0), uint64_t(1), uint64_t(9), single, single + 1, dbl - 1, dbl + 300, dbl + 301,
                      triple - 1, triple, triple + p * p + 5}) {
    write_at(t, f, fb * 1024, "d");
    mapped.insert(fb);
  }
  // Fallocated (unwritten) blocks count as data.
  REQUIRE(t->fallocate(f, FALLOC_FL_KEEP_SIZE, (dbl + 1000) * 1024, 3 * 1024).is_ok());
  for (uint64_t fb = dbl + 1000; fb < dbl + 1003; ++fb) mapped.insert(fb);
  const uint64_t size = t->getattr(f)->size;
  const uint64_t blocks = (size + 1023) / 1024;
  auto want_data = [&](uint64_t off) -> std::optional<uint64_t> {
    auto it = mapped.lower_bound(off / 1024);
    if (it == mapped.end() || *it >= blocks) return std::nullopt;
    return std::max(off, *it * 1024);
  };
  auto want_hole = [&](uint64_t off) {
    uint64_t fb = off / 1024;
    while (mapped.count(fb)) ++fb;
    return std::min(size, std::max(off, fb * 1024));
  };
  std::vector<uint64_t> offsets;
  for (uint64_t fb : mapped)
    for (int64_t d : {-1, 0, 1}) offsets.push_back((fb + d) * 1024), offsets.push_back((fb + d) * 1024 + 7);
  for (uint64_t fb : {single, dbl, triple, triple + p * p}) offsets.push_back(fb * 1024 - 1);
  for (uint64_t off : offsets) {
    if (off >= size) continue;
    INFO("offset " << off);
    auto data = t->seek_data_or_hole(f, off, true);
    if (auto w = want_data(off)) {
      REQUIRE(data.is_ok());
      CHECK(*data == *w);
    } else {
      CHECK(data.status().code() == ENXIO);
    }
    auto hole = t->seek_data_or_hole(f, off, false);
    REQUIRE(hole.is_ok());
    CHECK(*hole == want_hole(off));
  }
  CHECK(t->seek_data_or_hole(f, size, true).status().code() == ENXIO);
  CHECK(t->seek_data_or_hole(f, size, false).status().code() == ENXIO);
}

// Walking block by block took ~1 s per 8 GiB of hole, minutes for a file
// of terabytes: the search skips indirect blocks that do not exist.
TEST_CASE("SEEK_DATA over a 2 TiB hole reads only the indirect blocks that exist") {
  TestFs t(sized(32 << 20));
  Ino f = make_file(t, "huge");
  const uint64_t last = (2ull << 40) - 4096;
  write_at(t, f, last, "end");
  t.remount();  // a cold cache: the reads below are the search's own
  REQUIRE(t->getattr(f).is_ok());
  const size_t reads0 = t.dev().count(blockdev::BioOp::kRead);
  auto data = t->seek_data_or_hole(f, 0, true);
  REQUIRE(data.is_ok());
  CHECK(*data == last);
  CHECK(*t->seek_data_or_hole(f, 0, false) == 0);
  CHECK(*t->seek_data_or_hole(f, last, false) == last + 3);  // the implicit hole at the end
  CHECK(t.dev().count(blockdev::BioOp::kRead) - reads0 <= 3);  // the triple, double and single indirect blocks
}
