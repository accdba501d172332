// The journal: its on-disk records, mkfs's journal, and recovery at mount.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cstring>

#include "base/coding.h"
#include "fusefs/journal_recovery.h"
#include "tests/fusefs/fs_fixture.h"
#include "tests/support/journal_log.h"

namespace cardfs::fusefs {
namespace {

using testing::TestFs;
using testing::bytes_of;
using testing::string_of;

constexpr uint32_t kSeed = 0x1234;

std::vector<std::byte> block_of(char fill, uint32_t bs = 4096) {
  return std::vector<std::byte>(bs, std::byte(fill));
}

TEST_CASE("journal superblock round-trips and its fields are checked") {
  journal::JournalSuper js;
  js.block_size = 4096;
  js.maxlen = 1024;
  js.sequence = 77;
  js.start = 5;
  js.uuid[3] = 9;
  std::vector<std::byte> blk(4096);
  journal::encode_super(js, kSeed, blk);
  auto back = journal::decode_super(blk, kSeed, 1024);
  REQUIRE(back.is_ok());
  CHECK(back->sequence == 77);
  CHECK(back->start == 5);
  CHECK(back->uuid[3] == 9);
  CHECK_FALSE(journal::decode_super(blk, kSeed + 1, 1024).is_ok());  // other filesystem's seed
  CHECK_FALSE(journal::decode_super(blk, kSeed, 1000).is_ok());      // longer than its inode
  js.start = 1024;  // past the ring
  journal::encode_super(js, kSeed, blk);
  CHECK_FALSE(journal::decode_super(blk, kSeed, 1024).is_ok());
  blk[100] = std::byte{1};  // any flipped byte breaks the crc
  CHECK_FALSE(journal::decode_super(blk, kSeed, 1024).is_ok());
}

TEST_CASE("a transaction's log blocks decode back: tags, escape, revokes, commit") {
  auto a = block_of('a');
  auto magic = block_of('m');
  put_u32(magic.data(), journal::kMagic);  // must be escaped in the log
  std::vector<journal::LoggedBlock> logged{{100, a}, {200, magic}};
  std::vector<uint64_t> revoked{300, 301};
  auto img = journal::build_transaction(logged, revoked, 9, {5, 6}, 4096, kSeed);
  REQUIRE(img.blocks.size() == journal::transaction_blocks(2, 2, 4096));
  REQUIRE(img.blocks.size() == 5);  // descriptor, 2 copies, revoke, commit
  auto desc = journal::decode_log_block(img.blocks[0], kSeed);
  REQUIRE(desc);
  CHECK(desc->type == journal::kDescriptor);
  CHECK(desc->sequence == 9);
  REQUIRE(desc->tags.size() == 2);
  CHECK(desc->tags[0].block == 100);
  CHECK(desc->tags[1].flags == (journal::kTagEscaped | journal::kTagLast));
  CHECK(get_u32(img.blocks[2].data()) == 0);  // escaped copy
  CHECK_FALSE(journal::decode_log_block(img.blocks[2], kSeed));  // a copy is no log block
  CHECK(desc->tags[1].crc == journal::tag_crc(magic, kSeed));
  auto rev = journal::decode_log_block(img.blocks[3], kSeed);
  REQUIRE(rev);
  CHECK(rev->revoked == revoked);
  auto commit = journal::decode_log_block(img.blocks[4], kSeed);
  REQUIRE(commit);
  CHECK(commit->type == journal::kCommit);
  CHECK(commit->commit.blocks == 2);
  CHECK(commit->commit.time.nsec == 6);
}

TEST_CASE("log blocks with counts past the block or a bad crc are the end of the log") {
  std::vector<std::byte> blk(1024);
  std::vector<journal::Tag> tags(journal::tags_per_block(1024));
  journal::encode_descriptor(tags, 1, kSeed, blk);
  CHECK(journal::decode_log_block(blk, kSeed));
  put_u32(blk.data() + 12, journal::tags_per_block(1024) + 1);  // count past the block
  CHECK_FALSE(journal::decode_log_block(blk, kSeed));
  journal::encode_revoke(std::vector<uint64_t>{1}, 1, kSeed, blk);
  put_u32(blk.data() + 12, 1000);
  CHECK_FALSE(journal::decode_log_block(blk, kSeed));
  CHECK_FALSE(journal::decode_log_block(std::vector<std::byte>(1024), kSeed));
  CHECK_FALSE(journal::decode_log_block(std::vector<std::byte>(100), kSeed));
}

TEST_CASE("journal sizes follow mke2fs's table") {
  CHECK(journal::default_journal_blocks(1000) == 0);
  CHECK(journal::default_journal_blocks(16384) == 1024);
  CHECK(journal::default_journal_blocks(200000) == 4096);
  CHECK(journal::default_journal_blocks(1u << 20) == 16384);
  CHECK(journal::default_journal_blocks(40000000) == 262144);
}

// The fixture's filesystem with direct access to its journal.
struct JournalFs {
  TestFs t;
  journal::JournalExtent ext;
  uint32_t bs;
  Superblock sb;  // geometry (t has no filesystem while unmounted)
  JournalFs() : t(testing::sized(64ull << 20)), bs(4096), sb(t->superblock()) {
    REQUIRE((sb.feature_compat & kCompatHasJournal));
    auto e = journal::locate(sb, read_fn());
    REQUIRE(e.is_ok());
    ext = *e;
  }
  journal::ReadBlock read_fn() {
    return [this](uint64_t b, std::span<std::byte> out) {
      t.dev().peek_bytes(b * bs, out);
      return Status::ok();
    };
  }
  std::vector<std::byte> home(uint64_t block) {
    std::vector<std::byte> b(bs);
    t.dev().peek_bytes(block * bs, b);
    return b;
  }
  journal::JournalSuper super() {
    return *journal::read_super(sb, ext, read_fn());
  }
  void log(uint32_t at, uint32_t seq, std::vector<journal::TransactionImage> txns) {
    cardfs::testing::log_transactions(
        sb, ext, read_fn(),
        [this](uint64_t b, std::span<const std::byte> in) { t.dev().poke_bytes(b * bs, in); }, at, seq,
        txns);
  }
  journal::TransactionImage txn(uint32_t seq, std::vector<journal::LoggedBlock> blocks,
                                std::vector<uint64_t> revoked = {}) {
    return journal::build_transaction(blocks, revoked, seq, {1, 0}, bs,
                                      sb.csum_seed());
  }
  // A block no file uses (past the first data of the last group).
  uint64_t spare(int i) {
    return sb.blocks_count - 100 + uint64_t(i);
  }
};

TEST_CASE("mkfs lays a contiguous journal whose blocks are in use - with -O ^journal there is none") {
  JournalFs j;
  CHECK(j.ext.blocks == 1024);
  CHECK(j.super().start == 0);
  CHECK(j.t->check_free_counts().is_ok());
  auto with = j.t.summary().sb.free_blocks;
  testing::FsOptions o = testing::sized(64ull << 20);
  cache::PageCache cache(j.t.dev(), j.t.clock(), 4096);
  FormatOptions f;
  f.journal = false;
  auto sum = format(cache, o.bytes, f);
  REQUIRE(sum.is_ok());
  CHECK_FALSE(sum->sb.feature_compat & kCompatHasJournal);
  CHECK(sum->sb.free_blocks == with + 1024 + journal_map_blocks(1024, 4096));
}

TEST_CASE("mount replays committed transactions in order and empties the journal") {
  JournalFs j;
  j.t.unmount();
  auto a = block_of('a'), b = block_of('b'), c = block_of('c');
  j.log(j.super().first, 1, {j.txn(1, {{j.spare(0), a}, {j.spare(1), a}}),
                             j.txn(2, {{j.spare(1), b}, {j.spare(2), c}})});
  REQUIRE(j.t.try_mount().is_ok());
  CHECK(j.t->recovery().transactions == 2);
  CHECK(j.t->recovery().replayed == 4);
  CHECK(j.home(j.spare(0)) == a);
  CHECK(j.home(j.spare(1)) == b);  // the later copy wins
  CHECK(j.home(j.spare(2)) == c);
  CHECK(j.super().start == 0);
  CHECK(j.super().sequence == 3);
  j.t.unmount();
  REQUIRE(j.t.try_mount().is_ok());
  CHECK_FALSE(j.t->recovery().needed);
}

TEST_CASE("a transaction without its commit block, or after a sequence gap, is not replayed") {
  JournalFs j;
  j.t.unmount();
  auto a = block_of('a'), b = block_of('b');
  auto torn = j.txn(2, {{j.spare(1), b}});
  torn.blocks.pop_back();  // the commit never reached the card
  j.log(j.super().first, 1, {j.txn(1, {{j.spare(0), a}}), torn});
  REQUIRE(j.t.try_mount().is_ok());
  CHECK(j.t->recovery().transactions == 1);
  CHECK(j.home(j.spare(0)) == a);
  CHECK(j.home(j.spare(1)) != b);
  j.t.unmount();
  j.log(j.super().first, 7, {j.txn(8, {{j.spare(3), a}})});  // stale: not the expected 7
  REQUIRE(j.t.try_mount().is_ok());
  CHECK(j.t->recovery().transactions == 0);
  CHECK(j.home(j.spare(3)) != a);
}

TEST_CASE("revoked blocks are not replayed from that or earlier transactions") {
  JournalFs j;
  j.t.unmount();
  auto a = block_of('a'), b = block_of('b');
  j.log(j.super().first, 1, {j.txn(1, {{j.spare(0), a}, {j.spare(1), a}}),
                             j.txn(2, {}, {j.spare(0)}),
                             j.txn(3, {{j.spare(0), b}})});
  REQUIRE(j.t.try_mount().is_ok());
  CHECK(j.t->recovery().revoked == 1);
  CHECK(j.home(j.spare(0)) == b);  // logged again after the revoke
  CHECK(j.home(j.spare(1)) == a);
}

TEST_CASE("transactions wrapping round the end of the ring replay") {
  JournalFs j;
  j.t.unmount();
  const uint32_t at = j.super().maxlen - 2;
  auto a = block_of('a'), b = block_of('b');
  j.log(at, 40, {j.txn(40, {{j.spare(0), a}, {j.spare(1), b}})});
  REQUIRE(j.t.try_mount().is_ok());
  CHECK(j.t->recovery().transactions == 1);
  CHECK(j.home(j.spare(0)) == a);
  CHECK(j.home(j.spare(1)) == b);
}

TEST_CASE("a copy failing its crc is skipped, the rest replayed") {
  JournalFs j;
  j.t.unmount();
  auto a = block_of('a'), b = block_of('b');
  auto txn = j.txn(1, {{j.spare(0), a}, {j.spare(1), b}});
  txn.blocks[1][7] = std::byte{'x'};  // the first copy, damaged in the log
  j.log(j.super().first, 1, {txn});
  REQUIRE(j.t.try_mount().is_ok());
  CHECK(j.t->recovery().bad_copies == 1);
  CHECK(j.home(j.spare(0)) != a);
  CHECK(j.home(j.spare(1)) == b);
}

TEST_CASE("a power cut during replay: replaying again gives the same filesystem") {
  JournalFs j;
  j.t.unmount();
  auto a = block_of('a'), b = block_of('b');
  j.log(j.super().first, 1, {j.txn(1, {{j.spare(0), a}, {j.spare(1), b}})});
  journal::BlockIo io;
  int writes = 0;
  io.read = j.read_fn();
  io.write = [&](uint64_t block, std::span<const std::byte> in) -> Status {
    if (++writes > 1) return Status::error(EIO, "power cut");
    j.t.dev().poke_bytes(block * j.bs, in);
    return Status::ok();
  };
  io.flush = [] { return Status::ok(); };
  CHECK_FALSE(journal::recover(j.sb, j.ext, io).is_ok());
  CHECK(j.home(j.spare(0)) == a);  // half done
  CHECK(j.super().start != 0);      // and still to do
  REQUIRE(j.t.try_mount().is_ok());
  CHECK(j.t->recovery().replayed == 2);
  CHECK(j.home(j.spare(1)) == b);
}

// The committed state of real metadata comes back: the blocks one mounted
// session changed, logged as one transaction over the image before it.
TEST_CASE("replaying a session's changed blocks over the old image gives the new filesystem") {
  JournalFs j;
  j.t.unmount();
  const uint64_t nblocks = j.sb.blocks_count;
  std::vector<std::vector<std::byte>> before(nblocks);
  for (uint64_t b = 0; b < nblocks; ++b) before[b] = j.home(b);
  REQUIRE(j.t.try_mount().is_ok());
  auto made = j.t->mknod(kRootIno, "kept", S_IFREG | 0644, 0, {});
  REQUIRE(made.is_ok());
  REQUIRE(j.t->write(made->ino, 0, bytes_of("journaled")).is_ok());
  REQUIRE(j.t->mkdir(kRootIno, "d", 0755, {}).is_ok());
  j.t.unmount();
  std::vector<std::pair<uint64_t, std::vector<std::byte>>> changed;
  for (uint64_t b = 0; b < nblocks; ++b) {
    auto now = j.home(b);
    if (now == before[b] || (b >= j.ext.first && b < j.ext.first + j.ext.blocks)) continue;
    j.t.dev().poke_bytes(b * j.bs, before[b]);  // back to the old image
    changed.emplace_back(b, std::move(now));
  }
  REQUIRE(changed.size() > 3);  // inode table, bitmaps, directory, data, superblock
  std::vector<journal::LoggedBlock> logged;
  for (auto& [b, bytes] : changed) logged.push_back({b, bytes});
  j.log(j.super().first, 1, {j.txn(1, logged)});
  REQUIRE(j.t.try_mount().is_ok());
  CHECK(j.t->recovery().replayed == changed.size());
  CHECK(j.t->check_free_counts().is_ok());
  auto kept = j.t->lookup(kRootIno, "kept");
  REQUIRE(kept.is_ok());
  std::vector<std::byte> out(9);
  REQUIRE(j.t->read(kept->ino, 0, out).is_ok());
  CHECK(string_of(out) == "journaled");
  CHECK(j.t->lookup(kRootIno, "d").is_ok());
}

}  // namespace
}  // namespace cardfs::fusefs
