// The card's command log (blockdev/command_log.h): what a card received,
// read back with its data and markers, and readable as a blktrace by replay.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstring>

#include "base/clock.h"
#include "blockdev/command_log.h"
#include "blockdev/trace_format.h"
#include "sdcard/memory_medium.h"
#include "sdcard/page_store.h"
#include "sdcard/profiles.h"
#include "tests/support/scratch_dir.h"

namespace cardfs::blockdev {
namespace {

std::vector<std::byte> bytes_of(uint64_t n, uint8_t seed) {
  std::vector<std::byte> v(n);
  for (uint64_t i = 0; i < n; ++i) v[i] = std::byte(uint8_t(seed + i * 7));
  return v;
}

std::vector<std::byte> joined(const std::vector<iovec>& iov) {
  std::vector<std::byte> out;
  for (const iovec& v : iov)
    out.insert(out.end(), static_cast<std::byte*>(v.iov_base), static_cast<std::byte*>(v.iov_base) + v.iov_len);
  return out;
}

TEST_CASE("a command log holds every card command in order, a write's data and the markers between") {
  testing::ScratchDir dir("command-log");
  const std::string name = dir.path("log");
  const auto big = bytes_of(100 * 1024, 3);  // several driver-data chunks
  const auto small = bytes_of(4096, 9);
  {
    auto log = CommandLog::create(name);
    REQUIRE(log.is_ok());
    VirtualClock clock;
    sdcard::CardOptions o;
    o.recorder = log->get();
    auto card = sdcard::Card::create(sdcard::memory_store(std::make_shared<sdcard::MemoryMedium>()),
                                     **sdcard::find_profile("class10"), 16 << 20, clock, o);
    REQUIRE(card.is_ok());
    const iovec one{const_cast<std::byte*>(big.data()), big.size()};
    REQUIRE((*card)->write(2048, {&one, 1}, false).is_ok());
    (*log)->mark("committed 1");
    REQUIRE((*card)->flush().is_ok());
    // Two segments: the log joins them.
    const iovec two[2] = {{const_cast<std::byte*>(small.data()), 1024}, {const_cast<std::byte*>(small.data()) + 1024, 3072}};
    REQUIRE((*card)->write(16, two, true).is_ok());
    REQUIRE((*card)->discard(4096, 64).is_ok());
    (*log)->mark("committed 2");
    (*log)->mark("done");
    REQUIRE((*log)->close().is_ok());
  }
  auto r = CommandLogReader::open(name);
  REQUIRE(r.is_ok());
  const auto& c = (*r)->commands();
  REQUIRE(c.size() == 4);
  CHECK((c[0].kind == sdcard::CommandKind::kWrite && c[0].sector == 2048 && c[0].sectors == 200 && !c[0].fua));
  CHECK(joined(c[0].data) == big);
  CHECK(c[0].marks_before.empty());
  CHECK((c[1].kind == sdcard::CommandKind::kFlush && c[1].marks_before == std::vector<std::string>{"committed 1"}));
  CHECK((c[2].kind == sdcard::CommandKind::kWrite && c[2].fua && c[2].index == 3));
  CHECK(joined(c[2].data) == small);
  CHECK((c[3].kind == sdcard::CommandKind::kDiscard && c[3].sector == 4096 && c[3].sectors == 64));
  CHECK((*r)->trailing_marks() == std::vector<std::string>{"committed 2", "done"});
  CHECK(c[3].time_ns > c[0].time_ns);  // the card's clock
  CHECK_FALSE((*r)->truncated());
}

TEST_CASE("a command log cut short by a crash reads up to its last whole command") {
  testing::ScratchDir dir("command-log-cut");
  const std::string name = dir.path("log");
  const auto data = bytes_of(64 * 1024, 1);
  {
    auto log = CommandLog::create(name);
    REQUIRE(log.is_ok());
    const iovec v{const_cast<std::byte*>(data.data()), data.size()};
    (*log)->record({.kind = sdcard::CommandKind::kFlush, .index = 1});
    (*log)->record({.kind = sdcard::CommandKind::kWrite, .sector = 0, .sectors = 128, .data = {&v, 1}, .index = 2});
    REQUIRE((*log)->close().is_ok());
  }
  // Cut inside the write's second data record.
  const std::string file = name + ".blktrace.0";
  REQUIRE(::truncate(file.c_str(), 3 * 48 + 32 * 1024 + 100) == 0);
  auto r = CommandLogReader::open(name);
  REQUIRE(r.is_ok());
  CHECK((*r)->commands().size() == 1);
  CHECK((*r)->truncated());
}

}  // namespace
}  // namespace cardfs::blockdev
