// fallocate's modes on cardfs against kernel ext4: data/fallocate/modes.script
// run in-process must print what ext4 printed (modes.<bs>.golden, recorded
// on a loop device by tests/mount/fallocate_ext4.sh); then what the
// transcript cannot show: zeroing writes no data, shifts keep the free
// counts, ENOSPC and EFBIG leave the file as it was.
#include <linux/falloc.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <random>
#include <sstream>

#include "fusefs/format.h"
#include "tests/fusefs/falloc_script.h"
#include "tests/fusefs/fs_fixture.h"

using namespace cardfs;
using namespace cardfs::fusefs;
using namespace cardfs::fusefs::testing;

namespace {

class FsFile final : public cardfs::testing::FileUnderTest {
 public:
  FsFile(TestFs& t, Ino ino) : t_(t), ino_(ino) {}
  int fallocate(int mode, uint64_t off, uint64_t len) override {
    return t_->fallocate(ino_, mode, off, len).code();
  }
  int write(uint64_t off, std::span<const std::byte> data) override {
    auto n = t_->write(ino_, off, data);
    return n.is_ok() ? (*n == data.size() ? 0 : EIO) : n.status().code();
  }
  int truncate(uint64_t size) override { return t_->truncate(ino_, size).code(); }
  uint64_t size() override { return t_->getattr(ino_)->size; }
  std::vector<std::byte> read(uint64_t off, uint64_t len) override {
    std::vector<std::byte> out(len);
    auto n = t_->read(ino_, off, out);
    out.resize(n.is_ok() ? *n : 0);
    return out;
  }
  std::vector<bool> allocated(uint64_t blocks) override {
    std::vector<bool> a(blocks);
    for (uint64_t b = 0; b < blocks; ++b) a[b] = *t_->bmap(ino_, b) != 0;
    return a;
  }

 private:
  TestFs& t_;
  Ino ino_;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string read_all(TestFs& t, Ino f) {
  std::vector<std::byte> buf(t->getattr(f)->size);
  auto n = t->read(f, 0, buf);
  REQUIRE(n.is_ok());
  return std::string(reinterpret_cast<const char*>(buf.data()), *n);
}

}  // namespace

TEST_CASE("fallocate modes print what kernel ext4 printed for the same script", "[fusefs][fallocate]") {
  for (uint32_t bs : {4096u, 1024u}) {
    INFO("block size " << bs);
    TestFs t(sized(128 << 20, bs));
    Ino f = make_file(t, "f");
    FsFile file(t, f);
    std::ifstream script(CARDFS_FALLOC_DIR "modes.script");
    REQUIRE(script);
    const std::string want = slurp(CARDFS_FALLOC_DIR "modes." + std::to_string(bs) + ".golden");
    REQUIRE(!want.empty());
    const std::string got = cardfs::testing::run_falloc_script(script, file, bs);
    CHECK(got == want);
    CHECK(t->check_free_counts().is_ok());
    const std::string before = read_all(t, f);
    t.remount();
    CHECK(read_all(t, f) == before);
  }
}

TEST_CASE("zeroing a range writes no data: its whole blocks become unwritten in place",
          "[fusefs][fallocate]") {
  TestFs t(sized(64 << 20));
  Ino f = make_file(t, "f");
  REQUIRE(t->write(f, 0, bytes_of(std::string(200 * 4096, 'd'))).is_ok());
  REQUIRE(t->sync().is_ok());
  const uint64_t free0 = t->statfs()->free_blocks, b5 = *t->bmap(f, 5);
  const uint64_t writes0 = t.dev().count(blockdev::BioOp::kWrite);
  REQUIRE(t->fallocate(f, FALLOC_FL_ZERO_RANGE, 4096 + 100, 150 * 4096).is_ok());
  REQUIRE(t->sync().is_ok());
  CHECK(t.dev().count(blockdev::BioOp::kWrite) - writes0 < 12);  // two edge blocks, the indirect block, the inode
  CHECK(t->statfs()->free_blocks == free0);
  CHECK(*t->bmap(f, 5) == b5);  // the same block, marked
  CHECK((t->inspect_inode(f)->block[5] & kUnwrittenBit) != 0);
  CHECK((t->inspect_inode(f)->block[0] & kUnwrittenBit) == 0);
  std::string want(200 * 4096, 'd');
  want.replace(4096 + 100, 150 * 4096, 150 * 4096, '\0');
  CHECK(read_all(t, f) == want);
  t.remount();
  CHECK(read_all(t, f) == want);
  CHECK(t->check_free_counts().is_ok());
}

TEST_CASE("collapse and insert move dirty cached data with its blocks (1 KiB blocks, 4 KiB pages)",
          "[fusefs][fallocate]") {
  TestFs t(sized(32 << 20, 1024));
  Ino f = make_file(t, "f");
  std::string model;
  for (int i = 0; i < 300; ++i) model += std::string(1024, char('a' + i % 26));
  REQUIRE(t->write(f, 0, bytes_of(model)).is_ok());  // dirty in the cache, past the single indirect
  REQUIRE(t->fallocate(f, FALLOC_FL_COLLAPSE_RANGE, 3 * 1024, 5 * 1024).is_ok());
  model.erase(3 * 1024, 5 * 1024);
  CHECK(read_all(t, f) == model);
  REQUIRE(t->write(f, 1024 + 7, bytes_of("new")).is_ok());  // dirty again, in a page the shift moves
  model.replace(1024 + 7, 3, "new");
  REQUIRE(t->fallocate(f, FALLOC_FL_INSERT_RANGE, 1024, 270 * 1024).is_ok());
  model.insert(1024, std::string(270 * 1024, '\0'));
  CHECK(read_all(t, f) == model);
  CHECK(*t->bmap(f, 1) == 0);
  CHECK(*t->bmap(f, 270) == 0);
  CHECK(*t->bmap(f, 271) != 0);
  t.remount();
  CHECK(read_all(t, f) == model);
  CHECK(t->check_free_counts().is_ok());
  REQUIRE(t->truncate(f, 0).is_ok());
  CHECK(t->inspect_inode(f)->blocks == 0);  // no indirect block left behind
}

TEST_CASE("insert on a full filesystem is ENOSPC and leaves the file as it was",
          "[fusefs][fallocate]") {
  TestFs t(sized(16 << 20, 1024));
  Ino f = make_file(t, "f");
  const std::string data(9 * 1024, 'x');
  REQUIRE(t->write(f, 0, bytes_of(data)).is_ok());
  // Fill the rest, so the single indirect block the shift needs is not there.
  Ino filler = make_file(t, "filler");
  const uint64_t free = t->statfs()->free_blocks;
  (void)t->fallocate(filler, 0, 0, (free - 3) * 1024);
  while (t->statfs()->free_blocks > 0) {
    const uint64_t size = t->getattr(filler)->size;
    if (!t->fallocate(filler, 0, size, 1024).is_ok()) break;
  }
  REQUIRE(t->statfs()->free_blocks == 0);
  const uint64_t blocks0 = t->inspect_inode(f)->blocks;
  CHECK(t->fallocate(f, FALLOC_FL_INSERT_RANGE, 0, 4 * 1024).code() == ENOSPC);
  CHECK(read_all(t, f) == data);
  CHECK(t->inspect_inode(f)->blocks == blocks0);
  CHECK(t->check_free_counts().is_ok());
}

TEST_CASE("insert past the maximum size is EFBIG - collapse and insert of a directory EISDIR",
          "[fusefs][fallocate]") {
  TestFs t(sized(16 << 20));
  Ino f = make_file(t, "f");
  REQUIRE(t->write(f, 0, bytes_of("abc")).is_ok());
  REQUIRE(t->truncate(f, max_file_size(4096) - 4096).is_ok());
  CHECK(t->fallocate(f, FALLOC_FL_INSERT_RANGE, 0, 8192).code() == EFBIG);
  CHECK(t->getattr(f)->size == max_file_size(4096) - 4096);
  CHECK(t->fallocate(kRootIno, FALLOC_FL_COLLAPSE_RANGE, 0, 4096).code() == EISDIR);
  CHECK(t->fallocate(kRootIno, FALLOC_FL_INSERT_RANGE, 0, 4096).code() == EISDIR);
}

// fsx's idea, in-process (fsx itself finds collapse and insert refused
// through FUSE): random writes, truncates and every fallocate mode against a
// byte model of the file, the whole file compared after each operation.
TEST_CASE("fsx-style: random operations with every fallocate mode keep the file equal to a model",
          "[fusefs][fallocate]") {
  for (uint32_t bs : {1024u, 4096u}) {
    INFO("block size " << bs);
    TestFs t(sized(64 << 20, bs));
    Ino f = make_file(t, "f");
    std::string model;
    std::mt19937 rng(20261207 + bs);
    auto pick = [&](uint64_t n) { return n ? rng() % n : 0; };
    const uint64_t span = 600 * uint64_t(bs);  // past the direct and into the single indirect pointers
    for (int op = 0; op < 400; ++op) {
      const uint64_t off = pick(span), len = 1 + pick(span / 4);
      const uint64_t aoff = off / bs * bs, alen = (len + bs - 1) / bs * bs;
      const int kind = int(pick(7));
      INFO("op " << op << " kind " << kind << " off " << off << " len " << len);
      if (kind == 0) {
        std::string data(len, char('a' + op % 26));
        REQUIRE(t->write(f, off, bytes_of(data)).is_ok());
        if (model.size() < off + len) model.resize(off + len, '\0');
        model.replace(off, len, data);
      } else if (kind == 1) {
        REQUIRE(t->truncate(f, off).is_ok());
        model.resize(off, '\0');
      } else if (kind == 2) {
        REQUIRE(t->fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len).is_ok());
        if (off < model.size()) model.replace(off, std::min(len, model.size() - off), std::min(len, model.size() - off), '\0');
      } else if (kind == 3) {
        const bool keep = pick(2);
        REQUIRE(t->fallocate(f, FALLOC_FL_ZERO_RANGE | (keep ? FALLOC_FL_KEEP_SIZE : 0), off, len).is_ok());
        if (!keep && off + len > model.size()) model.resize(off + len, '\0');
        if (off < model.size()) model.replace(off, std::min(len, model.size() - off), std::min(len, model.size() - off), '\0');
      } else if (kind == 4) {
        const int rc = t->fallocate(f, FALLOC_FL_COLLAPSE_RANGE, aoff, alen).code();
        CHECK(rc == (aoff + alen < model.size() ? 0 : EINVAL));
        if (rc == 0) model.erase(aoff, alen);
      } else if (kind == 5) {
        const int rc = t->fallocate(f, FALLOC_FL_INSERT_RANGE, aoff, alen).code();
        CHECK(rc == (aoff < model.size() ? 0 : EINVAL));
        if (rc == 0) model.insert(aoff, alen, '\0');
      } else {
        const bool keep = pick(2);
        REQUIRE(t->fallocate(f, keep ? FALLOC_FL_KEEP_SIZE : 0, off, len).is_ok());
        if (!keep && off + len > model.size()) model.resize(off + len, '\0');
      }
      REQUIRE(t->getattr(f)->size == model.size());
      REQUIRE(read_all(t, f) == model);
    }
    CHECK(t->check_free_counts().is_ok());
    t.remount();
    CHECK(read_all(t, f) == model);
  }
}
