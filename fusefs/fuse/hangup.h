// HangupHandler: SIGHUP re-reads the tunables instead of ending the daemon.
//
// Contract
// - install() replaces the SIGHUP handler libfuse set (which would end the
//   session and unmount) with one that only wakes a thread of this object;
//   that thread runs on_hangup once per SIGHUP received (signals arriving
//   while it runs are merged into one more run). Call it after the FUSE
//   session installed its handlers.
// - The destructor ignores SIGHUP from then on (the daemon is shutting
//   down: a late SIGHUP must not kill it before the write-back), then
//   stops and joins the thread. At most one HangupHandler exists at a time.
// - on_hangup runs on the handler's thread, never in signal context.
#pragma once

#include <functional>
#include <memory>
#include <thread>

#include "base/status.h"

namespace cardfs::fuse {

class HangupHandler {
 public:
  static Result<std::unique_ptr<HangupHandler>> install(std::function<void()> on_hangup);
  ~HangupHandler();
  HangupHandler(const HangupHandler&) = delete;
  HangupHandler& operator=(const HangupHandler&) = delete;

 private:
  HangupHandler(int read_fd, int write_fd, std::function<void()> on_hangup);
  void run();
  const int read_fd_, write_fd_;
  std::function<void()> on_hangup_;
  std::thread thread_;
};

}  // namespace cardfs::fuse
