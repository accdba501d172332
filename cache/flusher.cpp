// The flusher (one per cache, i.e. per device) and balance_dirty_pages.
//
// The flusher wakes every dirty_writeback_centisecs of the injected clock,
// writes back inodes dirtied more than dirty_expire_centisecs ago, then
// writes back oldest-first while dirty pages exceed dirty_background_ratio.
// Between passes it sleeps on the injected clock until the next period
// (Clock::wait_until), woken early through fl_cv by a kick (a writer over
// the background limit, a tunables change) or stop_flusher(); an idle
// daemon wakes once a period, not every few milliseconds.
#include <pthread.h>

#include <algorithm>
#include <chrono>

#include "base/log.h"
#include "cache/cache_impl.h"

namespace cardfs::cache {

namespace {
constexpr size_t kBackgroundChunk = 1024;  // pages per inode per turn (MAX_WRITEBACK_PAGES)
constexpr Nanos kMinPause = std::chrono::milliseconds(1);
constexpr Nanos kMaxPause = std::chrono::milliseconds(100);

Nanos centisecs(uint32_t cs) { return std::chrono::milliseconds(uint64_t(cs) * 10); }
}  // namespace

// Dirty inodes, oldest first, except that the block device (metadata)
// comes last: file data goes out in ascending streams and the metadata
// after it in one burst, instead of metadata writes landing between data
// runs and closing the card's few open AUs. Drops the clean ones from the list.
static std::vector<std::shared_ptr<AddressSpace>> dirty_inodes(PageCache::Impl& c) {
  std::vector<std::shared_ptr<AddressSpace>> out;
  std::shared_ptr<AddressSpace> meta;
  std::lock_guard lock(c.dirty_list_mu);
  for (auto it = c.dirty_list.begin(); it != c.dirty_list.end();) {
    if ((*it)->has_dirty()) {
      ((*it)->is_bdev() ? meta : out.emplace_back()) = *it;
      ++it;
    } else {
      (*it)->on_dirty_list = false;
      it = c.dirty_list.erase(it);
    }
  }
  if (meta) out.push_back(std::move(meta));
  return out;
}

// Inodes dirtied at least dirty_expire_centisecs ago, data before metadata.
// Linux keeps one dirtied_when per inode for its pages and its inode and
// writes the pages first (__writeback_single_inode), so an inode's
// metadata never reaches the disk ahead of its data. cardfs's metadata is
// one address space (the block device) for all inodes: when it has
// expired, every inode's dirty data goes out ahead of it, expired or not,
// instead of the metadata going now and the data a period later.
size_t PageCache::Impl::expire_pass(Nanos now, Nanos expire) {
  auto inodes = dirty_inodes(*this);  // the block device last
  const bool meta_expired =
      !inodes.empty() && inodes.back()->is_bdev() && inodes.back()->dirtied_when() + expire <= now;
  size_t pages = 0;
  for (auto& as : inodes) {
    if (held(*as)) continue;  // the journal's checkpoint writes it
    if (meta_expired || as->dirtied_when() + expire <= now)
      pages += write_back_as(*as, 0, ~0ull, WbMode::kNoWait, SIZE_MAX);
  }
  return pages;
}

size_t PageCache::Impl::background_pass(uint64_t target, bool expired_only) {
  Nanos now = clock.now();
  Nanos expire;
  {
    std::lock_guard lock(tun_mu);
    expire = centisecs(tun.dirty_expire_centisecs);
  }
  if (expired_only) return expire_pass(now, expire);
  size_t pages = 0;
  // The target is checked again once `slack` pages went out, not after
  // every inode: with thousands of small dirty files, stopping right under
  // it meant the next written page kicked another pass, and each pass
  // walks the whole dirty list (Linux's background round likewise writes
  // MAX_WRITEBACK_PAGES before it checks its threshold again).
  const size_t slack = size_t(std::clamp<uint64_t>(target / 8, 1, kBackgroundChunk));
  size_t since_check = slack;
  for (int round = 0; round < 64; ++round) {
    size_t before = pages;
    for (auto& as : dirty_inodes(*this)) {
      if (since_check >= slack) {
        if (uint64_t(std::max<int64_t>(counters.nr_dirty.load(), 0)) <= target) return pages;
        since_check = 0;
      }
      // Metadata waits for fsync, sync or its expiry unless it alone is over
      // the target: then it cannot be what pins memory.
      // Held metadata is the journal's checkpoint's to write.
      if (as->is_bdev() && (held(*as) || as->dirty_count() <= target)) continue;
      const size_t n = write_back_as(*as, 0, ~0ull, WbMode::kNoWait, kBackgroundChunk);
      pages += n;
      since_check += n;
    }
    if (pages == before) break;
  }
  return pages;
}

void PageCache::run_flusher_once() {
  Impl& c = *impl_;
  Counters::inc(c.counters.flusher_wakeups);
  c.background_pass(0, true);
  uint64_t bg = c.bg_limit_pages.load();
  if (uint64_t(std::max<int64_t>(c.counters.nr_dirty.load(), 0)) > bg) {
    Counters::inc(c.counters.bg_writeback_runs);
    c.background_pass(bg, false);
  }
  c.dev.plug_flush();
}

void PageCache::Impl::kick_flusher() {
  std::lock_guard lock(fl_mu);
  if (!fl_kick) {
    fl_kick = true;
    fl_cv.notify_all();
  }
}

void PageCache::start_flusher() {
  Impl& c = *impl_;
  std::lock_guard lock(c.fl_mu);
  if (c.fl_running) return;
  c.fl_stop = false;
  c.fl_running = true;
  c.next_periodic = c.clock.now() + centisecs(tunables().dirty_writeback_centisecs);
  c.fl_thread = std::thread([this] {
    // As Linux's per-device write-back threads (flush-MAJ:MIN) are named.
    pthread_setname_np(pthread_self(), "flush-data");
    Impl& c = *impl_;
    // Write-back shows in traces as Linux's flusher does (blockdev/bio.h).
    blockdev::set_thread_trace_name(blockdev::kernel_thread_name(blockdev::KernelThread::kFlusher));
    for (;;) {
      bool kicked;
      {
        std::unique_lock l(c.fl_mu);
        c.clock.wait_until(l, c.fl_cv, c.next_periodic, [&] { return c.fl_stop || c.fl_kick; });
        if (c.fl_stop) return;
        kicked = c.fl_kick;
        c.fl_kick = false;
      }
      Nanos now = c.clock.now();
      // A shorter period set while asleep takes effect now.
      c.next_periodic =
          std::min(c.next_periodic, now + centisecs(tunables().dirty_writeback_centisecs));
      if (now >= c.next_periodic) {
        c.next_periodic = now + centisecs(tunables().dirty_writeback_centisecs);
        run_flusher_once();
      } else if (kicked) {
        Counters::inc(c.counters.flusher_wakeups);
        Counters::inc(c.counters.bg_writeback_runs);
        c.background_pass(c.bg_limit_pages.load(), false);
        c.dev.plug_flush();
      }
    }
  });
}

void PageCache::stop_flusher() {
  Impl& c = *impl_;
  {
    std::lock_guard lock(c.fl_mu);
    if (!c.fl_running) return;
    c.fl_stop = true;
    c.fl_cv.notify_all();
  }
  c.fl_thread.join();
  std::lock_guard lock(c.fl_mu);
  c.fl_running = false;
}

int64_t PageCache::Impl::throttled_pages() {
  // Held metadata does not count: only a journal commit (which waits for
  // this writer's operation to end) can release it.
  return counters.nr_dirty.load(std::memory_order_relaxed) +
         counters.nr_writeback.load(std::memory_order_relaxed) -
         (hold_metadata.load() ? int64_t(bdev->dirty_count()) : 0);
}

void PageCache::Impl::balance_dirty_pages() {
  auto over = [&](uint64_t limit) {
    int64_t n = throttled_pages();
    return n > 0 && uint64_t(n) > limit;
  };
  if (!over(bg_limit_pages.load(std::memory_order_relaxed))) return;
  if (fl_running.load()) kick_flusher();
  if (!over(dirty_limit_pages.load(std::memory_order_relaxed))) return;
  Nanos pause = kMinPause;
  bool throttled = false;
  for (;;) {
    if (fl_running.load()) {
      kick_flusher();
    } else {
      // No flusher thread: the writer does the background write-back itself.
      background_pass(bg_limit_pages.load(), false);
      dev.plug_flush();
    }
    // A device that keeps up costs the writer no sleep.
    if (!over(dirty_limit_pages.load(std::memory_order_relaxed))) break;
    if (!throttled) Counters::inc(counters.throttle_events);
    throttled = true;
    clock.sleep_for(pause);
    Counters::inc(counters.throttle_ns, uint64_t(pause.count()));
    pause = std::min(pause * 2, kMaxPause);
    if (!over(dirty_limit_pages.load(std::memory_order_relaxed))) break;
  }
}

}  // namespace cardfs::cache
