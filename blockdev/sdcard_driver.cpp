#include "blockdev/sdcard_driver.h"

#include <pthread.h>

#include "base/log.h"

namespace cardfs::blockdev {

SdcardDriver::SdcardDriver(sdcard::Card& card, uint32_t depth)
    : card_(card), depth_(std::max(depth, 1u)), thread_([this] { run(); }) {}

SdcardDriver::~SdcardDriver() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void SdcardDriver::start(DriverCommand cmd, std::function<void(int)> done) {
  {
    std::lock_guard lock(mu_);
    pending_.push_back({std::move(cmd), std::move(done)});
  }
  cv_.notify_one();
}

void SdcardDriver::run() {
  pthread_setname_np(pthread_self(), "mmcqd/0");  // what traces call the card's thread
  for (;;) {
    Pending p;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      if (pending_.empty()) return;  // stopping, and nothing left
      p = std::move(pending_.front());
      pending_.pop_front();
    }
    const Status st = execute(p.cmd);
    if (!st.is_ok()) logger("blockdev")->warn("card command failed: {}", st.to_string());
    p.done(st.is_ok() ? 0 : -st.code());
  }
}

Status SdcardDriver::execute(const DriverCommand& cmd) {
  switch (cmd.op) {
    case BioOp::kRead:
      return card_.read(cmd.sector, cmd.iov);
    case BioOp::kWrite:
      if (cmd.preflush) CARDFS_RETURN_IF_ERROR(card_.flush());
      return card_.write(cmd.sector, cmd.iov, cmd.fua);
    case BioOp::kFlush:
      return card_.flush();
    case BioOp::kDiscard:
      if (cmd.preflush) CARDFS_RETURN_IF_ERROR(card_.flush());
      return card_.discard(cmd.sector, cmd.sectors);
  }
  return Status::error(EINVAL, "unknown command");
}

}  // namespace cardfs::blockdev
