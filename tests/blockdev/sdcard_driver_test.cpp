// The queue over the emulated SD card: seed 001 on the real card, data
// integrity through merges, flush, and card errors reaching every bio.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "blockdev/queue.h"
#include "blockdev/sdcard_driver.h"
#include "sdcard/profiles.h"
#include "tests/support/scratch_dir.h"

using namespace cardfs;
using namespace cardfs::blockdev;
namespace fs = std::filesystem;

namespace {

constexpr uint64_t kMiB = 1 << 20;

struct CardQueue {
  explicit CardQueue(sdcard::CardOptions opts = {}) {
    auto profile = sdcard::find_profile("class10");
    REQUIRE(profile.is_ok());
    auto c = sdcard::Card::create(dir + "/card.img", **profile, 16 * kMiB, clock, opts);
    REQUIRE(c.is_ok());
    card = std::move(*c);
    driver = std::make_unique<SdcardDriver>(*card);
    queue = std::make_unique<Queue>(*driver, clock);
  }
  ~CardQueue() {
    queue.reset();
    driver.reset();
    card.reset();
  }

  BioPtr bio(BioOp op, uint64_t sector, std::byte* mem, uint32_t sectors, std::atomic<int>* status) {
    auto b = std::make_unique<Bio>();
    b->op = op;
    b->sector = sector;
    for (uint32_t off = 0; off < sectors * kSectorSize; off += 4096)
      b->segments.push_back({mem + off, std::min<uint32_t>(4096, sectors * kSectorSize - off)});
    set_submitter_from_current_thread(*b);
    b->on_complete = [status](int st) {
      if (status) *status = st;
    };
    return b;
  }

  cardfs::testing::ScratchDir scratch{"sdq"};  // first: removed after the card closes
  std::string dir = scratch.dir();
  VirtualClock clock;
  std::unique_ptr<sdcard::Card> card;
  std::unique_ptr<SdcardDriver> driver;
  std::unique_ptr<Queue> queue;
};

}  // namespace

TEST_CASE("on the card, 64 plugged page writes are one write command and read back intact") {
  CardQueue q;
  std::vector<std::byte> data(256 * 1024);
  for (size_t i = 0; i < data.size(); ++i) data[i] = std::byte(i * 7 + i / 4096);
  const uint64_t before = q.card->counters().commands;
  {
    Plug plug(*q.queue);
    for (int i = 0; i < 64; ++i)
      q.queue->submit(q.bio(BioOp::kWrite, uint64_t(i) * 8, data.data() + i * 4096, 8, nullptr));
  }
  q.queue->wait_idle();
  CHECK(q.card->counters().commands - before == 1);
  CHECK(q.card->counters().host_sectors_written == 512);
  std::vector<std::byte> back(data.size());
  CHECK(submit_and_wait(*q.queue, q.bio(BioOp::kRead, 0, back.data(), 512, nullptr)) == 0);
  CHECK(std::memcmp(back.data(), data.data(), data.size()) == 0);
}

TEST_CASE("on the card, nomerges=2 sends 64 write commands") {
  CardQueue q;
  REQUIRE(q.queue->write_attr("nomerges", "2").is_ok());
  std::vector<std::byte> data(256 * 1024, std::byte{1});
  const uint64_t before = q.card->counters().commands;
  {
    Plug plug(*q.queue);
    for (int i = 0; i < 64; ++i)
      q.queue->submit(q.bio(BioOp::kWrite, uint64_t(i) * 8, data.data() + i * 4096, 8, nullptr));
  }
  q.queue->wait_idle();
  CHECK(q.card->counters().commands - before == 64);
}

TEST_CASE("a flush bio reaches the card's cache flush") {
  CardQueue q;
  std::vector<std::byte> page(4096, std::byte{2});
  CHECK(submit_and_wait(*q.queue, q.bio(BioOp::kWrite, 0, page.data(), 8, nullptr)) == 0);
  const uint64_t flushes = q.card->counters().flushes;
  auto flush = std::make_unique<Bio>();
  flush->op = BioOp::kFlush;
  flush->flags = kBioPreflush;
  flush->on_complete = [](int) {};
  CHECK(submit_and_wait(*q.queue, std::move(flush)) == 0);
  CHECK(q.card->counters().flushes == flushes + 1);
}

TEST_CASE("a card read error reaches every bio merged into the failing request") {
  sdcard::CardOptions opts;
  opts.faults.read_error_sectors = {40};
  CardQueue q(opts);
  std::vector<std::byte> buf(64 * 4096);
  std::vector<std::atomic<int>> status(16);
  for (auto& s : status) s = 1;
  {
    Plug plug(*q.queue);
    for (int i = 0; i < 16; ++i)
      q.queue->submit(q.bio(BioOp::kRead, uint64_t(i) * 8, buf.data() + i * 4096, 8, &status[i]));
  }
  q.queue->wait_idle();
  for (auto& s : status) CHECK(s == -EIO);
}
