// The shared fake device does what the tests above it rely on: the bytes,
// the log, held and slow completions, failures, forwarding.
#include "tests/support/fake_device.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <vector>

using namespace cardfs;
using cardfs::testing::FakeDevice;
using cardfs::testing::Storage;
using blockdev::BioOp;
using namespace std::chrono_literals;

namespace {

// A bio over buf (or a discard of `sectors`), its status stored in *status.
blockdev::BioPtr bio(BioOp op, uint64_t sector, std::vector<std::byte>* buf, int* status,
                     uint64_t sectors = 0) {
  auto b = std::make_unique<blockdev::Bio>();
  b->op = op;
  b->sector = sector;
  b->discard_sectors = sectors;
  if (buf) b->segments.push_back({buf->data(), uint32_t(buf->size())});
  *status = 1;  // "not completed"
  b->on_complete = [status](int s) { *status = s; };
  return b;
}

std::vector<std::byte> filled(size_t n, int v) { return std::vector<std::byte>(n, std::byte(v)); }

}  // namespace

TEST_CASE("a fake device stores what bios write, dense or sparse, and logs each bio", "[support]") {
  const Storage storage = GENERATE(Storage::kDense, Storage::kSparse);
  FakeDevice dev({.sectors = 1 << 16, .storage = storage});
  int st = 0;
  auto out = filled(8192, 7);
  dev.submit(bio(BioOp::kWrite, 100, &out, &st));
  CHECK(st == 0);
  auto in = filled(8192, 0);
  dev.submit(bio(BioOp::kRead, 100, &in, &st));
  CHECK(st == 0);
  CHECK(in == out);
  // Never written: zeros; a discard reads back as zeros too.
  auto far = filled(512, 9);
  dev.peek_bytes(uint64_t(60000) * 512, far);
  CHECK(far == filled(512, 0));
  CHECK(dev.discard_zeroes_data());
  dev.submit(bio(BioOp::kDiscard, 104, nullptr, &st, 4));
  std::vector<std::byte> tail(2048);
  dev.peek_bytes(104 * 512, tail);
  CHECK(tail == filled(2048, 0));
  // Byte-addressed direct access, not on a sector boundary.
  dev.poke_bytes(100 * 512 + 3, filled(5, 1));
  std::vector<std::byte> odd(7);
  dev.peek_bytes(100 * 512 + 2, odd);
  CHECK(odd == std::vector<std::byte>{std::byte(7), std::byte(1), std::byte(1), std::byte(1),
                                      std::byte(1), std::byte(1), std::byte(7)});
  CHECK(dev.count(BioOp::kWrite) == 1);
  CHECK(dev.count(BioOp::kRead) == 1);
  CHECK(dev.reads_overlapping(100 * 512 + 8191, 200 * 512) == 1);
  CHECK(dev.reads_overlapping(116 * 512, 200 * 512) == 0);
  CHECK(dev.log().size() == 3);
  CHECK_THROWS(dev.peek_bytes(uint64_t(1 << 16) * 512 - 1, far));
}

TEST_CASE("a fake device fails bios past its end and those fail_next names", "[support]") {
  FakeDevice dev(64);
  int st = 0;
  auto buf = filled(1024, 1);
  dev.submit(bio(BioOp::kWrite, 63, &buf, &st));
  CHECK(st == -EIO);
  dev.fail_next(1, ENOSPC);
  dev.submit(bio(BioOp::kWrite, 0, &buf, &st));
  CHECK(st == -ENOSPC);
  dev.submit(bio(BioOp::kWrite, 0, &buf, &st));
  CHECK(st == 0);
}

TEST_CASE("a slow fake device completes each bio per_bio after the one before", "[support]") {
  FakeDevice dev({.sectors = 1024, .per_bio = 10ms});
  auto buf = filled(512, 3);
  int a = 0, b = 0;
  dev.submit(bio(BioOp::kWrite, 0, &buf, &a));
  dev.submit(bio(BioOp::kWrite, 1, &buf, &b));
  dev.advance_to(Nanos(9ms));
  CHECK((a == 1 && b == 1));
  dev.advance_to(Nanos(10ms));
  CHECK((a == 0 && b == 1));
  dev.advance_to(Nanos(20ms));
  CHECK(b == 0);
  // Held bios complete only when the test says; drain() ends holding.
  dev.set_hold_completions(true);
  dev.submit(bio(BioOp::kWrite, 2, &buf, &a));
  dev.submit(bio(BioOp::kWrite, 3, &buf, &b));
  CHECK(dev.complete_held(1) == 1);
  CHECK((a == 0 && b == 1));
  dev.drain();
  CHECK(b == 0);
  dev.submit(bio(BioOp::kWrite, 4, &buf, &a));
  CHECK(a == 0);
}

TEST_CASE("a forwarding fake device records each bio and passes it on", "[support]") {
  FakeDevice inner(256);
  FakeDevice rec({.forward_to = &inner});
  CHECK(rec.sector_count() == 256);
  auto buf = filled(1024, 5);
  int st = 0;
  rec.submit(bio(BioOp::kWrite, 8, &buf, &st));
  CHECK(st == 0);
  REQUIRE(rec.log().size() == 1);
  CHECK(rec.log()[0].sector == 8);
  CHECK(rec.log()[0].sectors == 2);
  CHECK(inner.count(BioOp::kWrite) == 1);
  std::vector<std::byte> back(1024);
  inner.peek_bytes(8 * 512, back);
  CHECK(back == buf);
  CHECK_THROWS(rec.peek_bytes(0, back));
}
