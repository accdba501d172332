// make_image IMAGE SIZE_MB [PROFILE]: a card image with a fresh cardfs on
// it, for the mount tests (the same steps as mkfs.cardfs, without its CLI).
#include <cstdio>
#include <cstdlib>
#include <string>

#include "base/clock.h"
#include "base/parse.h"
#include "blockdev/queue.h"
#include "blockdev/sdcard_driver.h"
#include "cache/page_cache.h"
#include "fusefs/mkfs.h"
#include "sdcard/card.h"
#include "sdcard/profiles.h"

using namespace cardfs;

static int fail(const Status& st) {
  std::fprintf(stderr, "make_image: %s\n", st.to_string().c_str());
  return 1;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: make_image IMAGE SIZE_MB [PROFILE]\n");
    return 2;
  }
  std::string profile_name = argc > 3 ? argv[3] : "class10";
  auto profile = sdcard::find_profile(profile_name);
  if (!profile.is_ok()) return fail(profile.status());
  // SIZE_MB through base/parse.h: "64x" or "-1" is an error, not 64 or 2^64-1.
  auto mib = parse_uint(argv[2], IntegerSyntax::kDecimal, UINT64_MAX >> 20);
  if (!mib.is_ok()) return fail(mib.status().with_context("SIZE_MB"));
  const uint64_t bytes = *mib << 20;
  RealClock clock;
  auto card = sdcard::Card::create(argv[1], **profile, bytes, clock);
  if (!card.is_ok()) return fail(card.status());
  {
    blockdev::SdcardDriver driver(**card);
    blockdev::Queue queue(driver, clock);
    cache::PageCache cache(queue, clock, 4096);
    fusefs::FormatOptions f;
    f.au_size = (*profile)->au_bytes;
    f.now_sec = uint64_t(std::time(nullptr));
    for (int i = 0; i < 16; ++i) f.uuid[size_t(i)] = uint8_t(std::rand());
    auto sum = fusefs::format(cache, bytes, f);
    if (!sum.is_ok()) return fail(sum.status());
    Status st = cache.sync_all();
    if (!st.is_ok()) return fail(st);
    queue.wait_idle();
  }
  Status st = (*card)->close();
  if (!st.is_ok()) return fail(st);
  return 0;
}
