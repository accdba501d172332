// CardStack: the layers a mount stands on, over one emulated card, in
// fusefs/fuse/stack.h's order (card → driver → queue → cache → filesystem)
// but on the test's clock and store, with no threads of its own. For tests
// that need the real stack below a Filesystem without FUSE. Header-only:
// the tests that use it link the layers themselves.
#pragma once

#include <memory>

#include "base/clock.h"
#include "blockdev/queue.h"
#include "blockdev/sdcard_driver.h"
#include "cache/page_cache.h"
#include "fusefs/filesystem.h"
#include "sdcard/card.h"

namespace cardfs::testing {

struct CardStack {
  CardStack(std::unique_ptr<sdcard::Card> c, Clock& clock, uint32_t block_size = 4096)
      : card(std::move(c)),
        driver(std::make_unique<blockdev::SdcardDriver>(*card)),
        queue(std::make_unique<blockdev::Queue>(*driver, clock)),
        cache(std::make_unique<cache::PageCache>(*queue, clock, block_size)) {}
  // Top down; the card goes without close(): the power is gone, or the test
  // closed it.
  ~CardStack() {
    fs.reset();
    cache.reset();
    queue.reset();
    driver.reset();
    card.reset();
  }
  CardStack(const CardStack&) = delete;
  CardStack& operator=(const CardStack&) = delete;

  std::unique_ptr<sdcard::Card> card;
  std::unique_ptr<blockdev::SdcardDriver> driver;
  std::unique_ptr<blockdev::Queue> queue;
  std::unique_ptr<cache::PageCache> cache;
  std::unique_ptr<fusefs::Filesystem> fs;  // set by the test once mounted
};

}  // namespace cardfs::testing
