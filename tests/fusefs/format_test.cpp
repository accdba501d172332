// On-disk format: encoding, checksums, geometry, sparse_super, mkfs.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <random>

#include "fusefs/bitmap.h"
#include "fusefs/dir_block.h"
#include "fusefs/layout.h"
#include "tests/fusefs/fs_fixture.h"
#include "tests/support/fake_device.h"

using namespace cardfs;
using namespace cardfs::fusefs;
using namespace cardfs::fusefs::testing;

TEST_CASE("find_clear_bit finds what a bit-by-bit scan finds, whatever the range") {
  // Words skipped whole must give the same answer as the plain scan: maps
  // full but for one bit anywhere, and random ones, over ranges of every
  // alignment (a map of 1 KiB + 3 bytes, so the last word is partial).
  std::vector<std::byte> map(1027);
  auto plain = [&](uint32_t from, uint32_t to) {
    for (uint32_t i = from; i < to; ++i)
      if (!test_bit(map, i)) return i;
    return to;
  };
  const uint32_t bits = uint32_t(map.size() * 8);
  std::mt19937 rng(23);
  for (int round = 0; round < 400; ++round) {
    std::fill(map.begin(), map.end(), std::byte{0xff});
    if (round % 2) {
      clear_bit(map, rng() % bits);
    } else {
      for (auto& b : map) b = std::byte(rng() | rng() | rng());  // mostly set
    }
    for (int q = 0; q < 20; ++q) {
      uint32_t a = rng() % (bits + 1), b = rng() % (bits + 1);
      if (a > b) std::swap(a, b);
      INFO("round " << round << " [" << a << ", " << b << ")");
      REQUIRE(find_clear_bit(map, a, b) == plain(a, b));
    }
    REQUIRE(find_clear_bit(map, 0, bits) == plain(0, bits));
  }
  std::fill(map.begin(), map.end(), std::byte{0xff});
  CHECK(find_clear_bit(map, 0, bits) == bits);
  clear_bit(map, bits - 1);
  CHECK(find_clear_bit(map, 5, bits) == bits - 1);
  CHECK(find_clear_bit(map, 5, bits - 1) == bits - 1);
}

TEST_CASE("superblock backups live in groups 0, 1 and powers of 3, 5, 7") {
  std::vector<uint32_t> groups;
  for (uint32_t g = 0; g < 400; ++g)
    if (group_has_super(g)) groups.push_back(g);
  CHECK(groups == std::vector<uint32_t>{0, 1, 3, 5, 7, 9, 25, 27, 49, 81, 125, 243, 343});
}

TEST_CASE("superblock round-trips and every field is checked") {
  Superblock sb;
  sb.log_block_size = 0;
  sb.first_data_block = 1;
  sb.blocks_per_group = 8192;
  sb.blocks_count = 20000;
  sb.inodes_per_group = 512;
  sb.inodes_count = 3 * 512;
  sb.feature_incompat = kIncompatFiletype | kIncompatMetadataCsum;
  sb.uuid[3] = 9;
  std::vector<std::byte> buf(kSuperblockSize);
  encode_superblock(sb, buf);
  auto back = decode_superblock(buf);
  REQUIRE(back.is_ok());
  CHECK(back->blocks_count == 20000);
  CHECK(back->group_count() == 3);

  SECTION("bad magic") {
    buf[0] = std::byte{0};
    CHECK(decode_superblock(buf).status().code() == EINVAL);
  }
  SECTION("checksum mismatch") {
    buf[30] ^= std::byte{1};
    auto r = decode_superblock(buf);
    CHECK(r.status().code() == EIO);
    CHECK(r.status().message().find("checksum") != std::string::npos);
  }
  SECTION("unknown incompatible feature refuses the mount") {
    sb.feature_incompat |= 0x100;
    encode_superblock(sb, buf);
    CHECK(decode_superblock(buf).status().code() == EOPNOTSUPP);
  }
  SECTION("unknown read-only feature refuses only read-write") {
    sb.feature_ro_compat |= 0x100;
    encode_superblock(sb, buf);
    CHECK(decode_superblock(buf).status().code() == EROFS);
    CHECK(decode_superblock(buf, true).is_ok());
  }
  SECTION("inconsistent geometry") {
    sb.inodes_count = 7;
    encode_superblock(sb, buf);
    CHECK(decode_superblock(buf).status().code() == EIO);
  }
}

TEST_CASE("inodes round-trip with their checksum and nanosecond times") {
  DiskInode in;
  in.mode = 0100644;
  in.links_count = 3;
  in.size = 1ull << 40;
  in.mtime = {1700000000, 123456789};
  in.block = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};
  std::vector<std::byte> buf(kInodeSize);
  encode_inode(in, 42, 7, buf);
  auto back = decode_inode(buf, 42, 7);
  REQUIRE(back.is_ok());
  CHECK(back->mtime == in.mtime);
  CHECK(back->block == in.block);
  CHECK(decode_inode(buf, 43, 7).status().code() == EIO);  // misplaced inode
  buf[100] ^= std::byte{4};
  CHECK(decode_inode(buf, 42, 7).status().code() == EIO);
}

TEST_CASE("inline symlink targets use the 60-byte pointer area") {
  DiskInode in;
  std::string target(60, 'x');
  target[0] = '/';
  target[59] = 'z';
  in.size = 60;
  set_inline_symlink_target(in, target);
  CHECK(inline_symlink_target(in) == target);
}

TEST_CASE("directory blocks: add, find, remove, checksum") {
  std::vector<std::byte> b(1024);
  dir_block::init_empty(b);
  REQUIRE(*dir_block::add(b, ".", 2, kFtDir));
  REQUIRE(*dir_block::add(b, "..", 2, kFtDir));
  int added = 0;
  while (*dir_block::add(b, "name" + std::to_string(added), 100 + added, kFtRegular)) ++added;
  CHECK(added == (1012 - 24) / 16);  // 8-byte header + 5..6 byte names rounded to 16
  auto hit = dir_block::find(b, "name7");
  REQUIRE(hit.is_ok());
  REQUIRE(*hit);
  CHECK((*hit)->inode == 107);
  REQUIRE(dir_block::remove_at(b, (*hit)->offset).is_ok());
  CHECK(!*dir_block::find(b, "name7"));
  CHECK(*dir_block::add(b, "name7", 7, kFtRegular));
  dir_block::seal(b, 5, 99);
  CHECK(dir_block::verify(b, 5, 99, "t").is_ok());
  CHECK(!dir_block::verify(b, 6, 99, "t").is_ok());
  b[40] ^= std::byte{1};
  CHECK(dir_block::verify(b, 5, 99, "t").code() == EIO);
}

// A create finds the name absent and its place in one walk; an unlink
// finds the entry and the record before it. The result must be byte for
// byte what add and remove_at's own walks give, and a place that no
// longer has room (or a wrong record before) must not be trusted.
TEST_CASE("directory blocks: one walk finds a name's place as add would, and its record before as remove_at would") {
  std::vector<std::byte> a(1024), b(1024);
  for (auto* blk : {&a, &b}) {
    dir_block::init_empty(*blk);
    for (int i = 0; i < 20; ++i) REQUIRE(*dir_block::add(*blk, "n" + std::to_string(i), 10 + i, kFtRegular));
    REQUIRE(dir_block::remove_at(*blk, (*dir_block::find(*blk, "n4"))->offset).is_ok());
  }
  auto f = dir_block::find_with_room(b, "a-longer-name", dir_rec_len(13));
  REQUIRE(f.is_ok());
  CHECK_FALSE(f->hit);
  REQUIRE(f->room != dir_block::kNoRecord);
  REQUIRE(*dir_block::add(a, "a-longer-name", 99, kFtRegular));
  REQUIRE(*dir_block::add_at(b, f->room, "a-longer-name", 99, kFtRegular));
  CHECK(a == b);
  // The same room again cannot take a name that no longer fits there.
  CHECK_FALSE(*dir_block::add_at(b, f->room, std::string(200, 'x'), 5, kFtRegular));
  CHECK(a == b);
  auto hit = dir_block::find_with_room(b, "n9", 0);
  REQUIRE(hit.is_ok());
  REQUIRE(hit->hit);
  CHECK(hit->hit->inode == 19);
  CHECK(hit->room == dir_block::kNoRecord);  // not asked for
  REQUIRE(dir_block::remove_at(a, hit->hit->offset).is_ok());
  REQUIRE(dir_block::remove_at(b, hit->hit->offset, hit->prev).is_ok());
  CHECK(a == b);
  // A wrong record before is checked and walked past, not merged into.
  auto n10 = *dir_block::find_with_room(b, "n10", 0);
  REQUIRE(dir_block::remove_at(a, n10.hit->offset).is_ok());
  REQUIRE(dir_block::remove_at(b, n10.hit->offset, 0).is_ok());
  CHECK(a == b);
}

// A Directory's changes keep the tail's checksum current from the bytes
// they change (sealed = true): after any mix of adds, adds at a found
// room, removals (with and without the record before) and retargets, the
// block is byte for byte what the same changes and a seal() give.
TEST_CASE("directory blocks: changes made sealed leave the tail seal() writes") {
  const uint32_t seed = 20261207;
  std::mt19937 rng(seed);
  for (uint32_t size : {1024u, 4096u}) {
    std::vector<std::byte> patched(size), plain(size);
    for (auto* blk : {&patched, &plain}) {
      dir_block::init_empty(*blk);
      dir_block::seal(*blk, 77, 4242);
    }
    std::vector<std::string> names;
    for (int step = 0; step < 3000; ++step) {
      INFO("seed " << seed << " size " << size << " step " << step);
      const int op = int(rng() % 4);
      if (op <= 1 || names.empty()) {
        std::string n = "e" + std::to_string(rng() % 100000) + std::string(rng() % 40, 'x');
        if (std::find(names.begin(), names.end(), n) != names.end()) continue;
        auto f = dir_block::find_with_room(plain, n, dir_rec_len(n.size()));
        REQUIRE(f.is_ok());
        Result<bool> a = false, b = false;
        if (op == 0 || f->room == dir_block::kNoRecord) {
          a = dir_block::add(patched, n, 1000 + step, kFtRegular, /*sealed=*/true);
          b = dir_block::add(plain, n, 1000 + step, kFtRegular);
        } else {
          a = dir_block::add_at(patched, f->room, n, 1000 + step, kFtRegular, true);
          b = dir_block::add_at(plain, f->room, n, 1000 + step, kFtRegular);
        }
        REQUIRE(a.is_ok());
        REQUIRE(b.is_ok());
        REQUIRE(*a == *b);
        if (*a) names.push_back(n);
      } else {
        const size_t i = rng() % names.size();
        auto f = dir_block::find_with_room(plain, names[i], 0);
        REQUIRE(f.is_ok());
        REQUIRE(f->hit);
        if (op == 2) {
          const uint32_t prev = rng() % 2 ? f->prev : dir_block::kNoRecord;
          REQUIRE(dir_block::remove_at(patched, f->hit->offset, prev, true).is_ok());
          REQUIRE(dir_block::remove_at(plain, f->hit->offset, prev).is_ok());
          names.erase(names.begin() + long(i));
        } else {
          dir_block::set_inode(patched, f->hit->offset, 5000 + step, kFtDir, true);
          dir_block::set_inode(plain, f->hit->offset, 5000 + step, kFtDir);
        }
      }
      dir_block::seal(plain, 77, 4242);
      REQUIRE(patched == plain);
      REQUIRE(dir_block::verify(patched, 77, 4242, "").is_ok());
    }
  }
}

TEST_CASE("a record running past the block is corruption, not a crash") {
  std::vector<std::byte> b(1024);
  dir_block::init_empty(b);
  REQUIRE(*dir_block::add(b, "a", 12, kFtRegular));
  b[4] = std::byte{0xF0};  // rec_len of the first record far past the end
  b[5] = std::byte{0x0F};
  CHECK(dir_block::find(b, "a").status().code() == EIO);
}

TEST_CASE("maximum file size follows from the 13 pointers") {
  CHECK(max_file_size(1024) == (10ull + 256 + 256 * 256 + 256ull * 256 * 256) * 1024);
  CHECK(max_file_size(4096) == (10ull + 1024 + 1024 * 1024 + 1024ull * 1024 * 1024) * 4096);
}

TEST_CASE("mkfs writes backups exactly in the sparse groups of a 1 KiB-block filesystem") {
  // 60 groups of 8 MiB: backups in 0, 1, 3, 5, 7, 9, 25, 27, 49.
  TestFs t(sized(60ull * 8192 * 1024 + 1024 * 1024, 1024));
  const auto& sum = t.summary();
  CHECK(sum.backup_groups == std::vector<uint32_t>{0, 1, 3, 5, 7, 9, 25, 27, 49});
  INFO(sum.to_text());
  CHECK(sum.to_text().find("8193, 24577, 40961") != std::string::npos);
  const Superblock sb = t->superblock();
  for (uint32_t g = 1; g < sb.group_count(); ++g) {
    std::vector<std::byte> raw(kSuperblockSize);
    t.dev().peek_bytes(group_first_block(sb, g) * 1024, raw);
    auto copy = decode_superblock(raw);
    CHECK(copy.is_ok() == group_has_super(g));
    if (copy.is_ok()) CHECK(copy->block_group_nr == g);
  }
}

TEST_CASE("a fresh filesystem has root and lost+found and exact free counts") {
  TestFs t;
  auto root = t->getattr(kRootIno);
  REQUIRE(root.is_ok());
  CHECK(root->nlink == 3);
  auto lf = t->lookup(kRootIno, "lost+found");
  REQUIRE(lf.is_ok());
  CHECK(lf->ino == kLostFoundIno);
  CHECK(t->check_free_counts().is_ok());
  auto st = t->statfs();
  REQUIRE(st.is_ok());
  CHECK(st->free_blocks == t.summary().sb.free_blocks);
  CHECK(st->free_files == t.summary().sb.inodes_count - kFirstIno);
  t.remount();
  CHECK(t->check_free_counts().is_ok());
  CHECK(t->statfs()->free_blocks == st->free_blocks);
}

TEST_CASE("mkfs refuses bad options") {
  FormatOptions o;
  o.block_size = 512;
  CHECK(plan_superblock(64 << 20, o).status().code() == EINVAL);
  o.block_size = 4096;
  o.label = std::string(17, 'x');
  CHECK(plan_superblock(64 << 20, o).status().code() == EINVAL);
  o.label = "ok";
  CHECK(plan_superblock(16 * 1024, o).status().code() == EINVAL);
}

// With a journal the counts reach the card in the log at fsync and at
// home at sync (a checkpoint); without one, at home at fsync.
TEST_CASE("fsync writes the superblock when its counts change, and an idle fsync writes nothing") {
  for (bool journal : {false, true}) {
    INFO("journal " << journal);
    FsOptions o;
    o.journal = journal;
    TestFs t(o);
    auto f = t->mknod(kRootIno, "f", S_IFREG | 0644, 0, {});
    REQUIRE(f.is_ok());
    REQUIRE(t->write(f->ino, 0, bytes_of(std::string(10000, 'x'))).is_ok());
    REQUIRE(t->fsync(f->ino, false).is_ok());
    auto st = t->statfs();
    REQUIRE(st.is_ok());
    if (!journal) {  // the on-disk superblock has the counts the allocation left
      auto sb = read_superblock(t.dev());
      REQUIRE(sb.is_ok());
      CHECK(sb->free_blocks == st->free_blocks);
      CHECK(sb->free_inodes == st->free_files);
    }
    // Nothing changed since: a second fsync and a metadata flush write no block.
    const uint64_t writes = t.dev().count(blockdev::BioOp::kWrite);
    REQUIRE(t->fsync(f->ino, false).is_ok());
    REQUIRE(t->flush_metadata().is_ok());
    REQUIRE(t->fsync(f->ino, false).is_ok());
    CHECK(t.dev().count(blockdev::BioOp::kWrite) == writes);
    // An unlink frees an inode and blocks: the next sync writes the new counts.
    REQUIRE(t->unlink(kRootIno, "f").is_ok());
    t->forget(f->ino, 1);
    REQUIRE(t->sync().is_ok());
    auto sb = read_superblock(t.dev());
    REQUIRE(sb.is_ok());
    CHECK(sb->free_blocks == st->free_blocks + 3);
    CHECK(sb->free_inodes == st->free_files + 1);
  }
}

namespace {
// Formats a RAM device whose every byte is `fill` first; returns its bytes.
constexpr uint64_t kDiscardBytes = 24ull << 20;  // 3 groups of 1k blocks
FormatOptions discard_options(bool discard) {
  FormatOptions f;
  f.block_size = 1024;
  f.discard = discard;
  f.now_sec = 1700000000;
  for (int i = 0; i < 16; ++i) f.uuid[i] = uint8_t(i * 5 + 3);
  return f;
}

std::vector<std::byte> formatted_bytes(uint64_t bytes, std::byte fill, bool discard, uint64_t* sectors_written) {
  cardfs::testing::FakeDevice dev(bytes / 512);
  dev.poke_bytes(0, std::vector<std::byte>(bytes, fill));
  VirtualClock clock;
  {
    cache::PageCache cache(dev, clock, 1024);
    REQUIRE(format(cache, bytes, discard_options(discard)).is_ok());
  }
  *sectors_written = 0;
  for (const auto& b : dev.log())
    if (b.op == blockdev::BioOp::kWrite) *sectors_written += b.sectors;
  std::vector<std::byte> out(bytes);
  dev.peek_bytes(0, out);
  return out;
}
}  // namespace

// mkfs discards the device instead of writing the zeroed inode tables
// (mke2fs's discard). Over a device full of old bytes, the discarding
// format must leave exactly what writing every table leaves over zeros.
TEST_CASE("mkfs's discard leaves the bytes writing the inode tables leaves, and writes less") {
  const uint64_t bytes = kDiscardBytes;
  uint64_t discarding = 0, writing = 0;
  auto a = formatted_bytes(bytes, std::byte{0xA5}, true, &discarding);
  auto b = formatted_bytes(bytes, std::byte{0}, false, &writing);
  CHECK(a == b);
  Superblock sb = *plan_superblock(bytes, discard_options(true));
  REQUIRE(sb.group_count() == 3);
  const uint64_t table_sectors = uint64_t(sb.group_count()) * inode_table_blocks(sb) * 2;
  // All but the sectors of the three inodes mkfs fills (root, the journal,
  // lost+found), which both write.
  CHECK(writing - discarding == table_sectors - 3);
}

TEST_CASE("mkfs without discard writes the tables over whatever the device held") {
  const uint64_t bytes = kDiscardBytes;
  uint64_t writing = 0, zeroed = 0;
  auto over_old = formatted_bytes(bytes, std::byte{0xA5}, false, &writing);
  auto over_zeros = formatted_bytes(bytes, std::byte{0}, false, &zeroed);
  Superblock sb = *plan_superblock(bytes, discard_options(false));
  CHECK(writing == zeroed);
  for (uint32_t g = 0; g < sb.group_count(); ++g) {
    const GroupLayout l = group_layout(sb, g);
    const size_t at = l.inode_table * 1024, len = size_t(inode_table_blocks(sb)) * 1024;
    CHECK(std::equal(over_old.begin() + at, over_old.begin() + at + len, over_zeros.begin() + at));
  }
}
