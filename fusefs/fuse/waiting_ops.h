// Waiting operations: where the one-thread FUSE loop (the default, -o
// threads=1) sends the requests that wait on the card, so that the loop
// goes on answering everyone else meanwhile.
//
// An fsync or fsyncdir waits for its journal commit and the card's flush:
// tens of milliseconds, seconds on a realtime card. Run on the loop's one
// thread it would hold up every other caller's lookup, read and stat (and
// `cardfs stat`'s live view) until then. While the loop serves (start() ..
// stop()), guard_waiting<op> runs op on one of a few `fuse-wait` workers
// instead, inside its own RequestScope, and replies from there (libfuse
// takes a reply from any thread). Outside that window (libfuse's
// multi-threaded loop, where every worker may wait; tests without a
// session) it runs on the calling thread, exactly as guard<op>.
//
// The kernel keeps the file open for as long as an fsync is outstanding,
// so no RELEASE or DESTROY of it can overtake the worker. stop() answers
// every queued request before the session goes (a SIGTERM ends the loop
// with requests in flight).
#pragma once

#include <functional>
#include <optional>

#include "fusefs/fuse/op_guard.h"

namespace cardfs::fuse {

namespace waiting_ops {
// Starts `workers` threads; by FuseSession::serve around the one-thread loop.
void start(unsigned workers);
// Runs what was queued, then ends the workers; run() goes inline again.
void stop();
// fn on a worker while started, else on this thread now.
void run(std::function<void()> fn);
}  // namespace waiting_ops

template <auto Op>
struct Waiting;

// (req, ino, datasync, fi): fsync and fsyncdir. fi is libfuse's stack
// copy, valid only during the callback: the worker gets its own copy.
template <void (*Op)(fuse_req_t, fuse_ino_t, int, fuse_file_info*)>
struct Waiting<Op> {
  static void call(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi) {
    std::optional<fuse_file_info> copy;
    if (fi) copy = *fi;
    waiting_ops::run([=]() mutable { Guarded<Op>::call(req, ino, datasync, copy ? &*copy : nullptr); });
  }
};

// guard<op>, run by a waiting worker while the one-thread loop serves.
template <auto Op>
inline constexpr auto guard_waiting = &Waiting<Op>::call;

}  // namespace cardfs::fuse
