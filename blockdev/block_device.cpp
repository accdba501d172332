#include "blockdev/block_device.h"

#include <condition_variable>
#include <mutex>

namespace cardfs::blockdev {

int submit_and_wait(BlockDevice& dev, BioPtr bio) {
  struct Waiter {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    int status = 0;
  };
  auto w = std::make_shared<Waiter>();
  auto prev = std::move(bio->on_complete);
  bio->on_complete = [w, prev = std::move(prev)](int status) {
    if (prev) prev(status);
    std::lock_guard lock(w->mu);
    w->status = status;
    w->done = true;
    w->cv.notify_all();
  };
  dev.submit(std::move(bio));
  dev.plug_flush();
  std::unique_lock lock(w->mu);
  w->cv.wait(lock, [&] { return w->done; });
  return w->status;
}

}  // namespace cardfs::blockdev
