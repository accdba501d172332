// Waiting operations: where the one-thread FUSE loop (the default, -o
// threads=1) sends the requests that would sleep, so that the loop goes on
// answering everyone else meanwhile.
//
// A request sleeps when it waits for the card (a read of pages not in
// cardfs's cache, an O_DIRECT or O_SYNC write, an fsync's flush), for
// write-back (a write throttled over dirty_ratio, a truncate of pages
// under write-back) or for a journal commit (every operation that takes a
// handle, while one runs). On the loop's one thread that would hold up
// every other caller's lookup, stat and cached read (and `cardfs stat`'s
// live view) for as long, seconds on a slow or realtime card. While the
// loop serves (start() .. stop()), guard_waiting<op, When> asks
// When::test(req, args...) on the loop first (cheap: page lookups and
// counters, fusefs::Filesystem::read_may_wait and friends) and, when it
// says the request may wait, runs op on one of a few `fuse-wait` workers
// instead, inside its own RequestScope, replying from there (libfuse takes
// a reply from any thread). A request that will not wait runs on the loop
// at once, as guard<op>: that is what keeps cached reads, unthrottled
// writes and metadata at one thread's speed. Outside that window
// (libfuse's multi-threaded loop, where every worker may wait; tests
// without a session) it runs on the calling thread, exactly as guard<op>.
//
// Ordering: a request handed to a worker may be overtaken by later
// requests run on the loop. That is no more than libfuse's multi-threaded
// loop allows for every request, and the kernel sends concurrently only
// what may run in either order (docs/fuse.md "Threads": its inode and page
// locks, and the file reference an outstanding READ or WRITE holds, which
// keeps RELEASE behind it). stop() answers every queued request before the
// session goes (a SIGTERM ends the loop with requests in flight).
#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include "fusefs/fuse/op_guard.h"

namespace cardfs::fuse {

namespace waiting_ops {
// Starts `workers` threads; by FuseSession::serve around the one-thread loop.
void start(unsigned workers);
// Runs what was queued, then ends the workers; run() goes inline again.
void stop();
// Whether requests go to workers now (between start() and stop()).
bool serving();
// fn on a worker while started, else on this thread now.
void run(std::function<void()> fn);
// Requests handed to the workers since the process started.
uint64_t handed_off();
}  // namespace waiting_ops

// When: hand the request off whatever it is (fsync, copy_file_range ...).
struct Always {
  template <typename... A>
  static bool test(fuse_req_t, A...) {
    return true;
  }
};

// A journal commit runs: an operation that takes a handle would wait for it.
bool commit_running(fuse_req_t req);  // fuse_fs.cpp
struct DuringCommit {
  template <typename... A>
  static bool test(fuse_req_t req, A...) {
    return commit_running(req);
  }
};

// How an argument travels to a worker: libfuse's request buffer (names), its
// stack copy of fuse_file_info and a setattr's stat last only until the
// callback returns, so the worker gets its own copies. A `const char*` is
// a NUL-terminated name here (WRITE's data goes through WaitingWrite).
template <typename T>
struct Carry {
  using Held = T;
  static Held hold(T v) { return v; }
  static T pass(Held& h) { return h; }
};
template <>
struct Carry<const char*> {
  using Held = std::string;
  static Held hold(const char* s) { return s; }
  static const char* pass(Held& h) { return h.c_str(); }
};
template <>
struct Carry<fuse_file_info*> {
  using Held = std::optional<fuse_file_info>;
  static Held hold(fuse_file_info* fi) { return fi ? Held(*fi) : std::nullopt; }
  static fuse_file_info* pass(Held& h) { return h ? &*h : nullptr; }
};
template <>
struct Carry<struct stat*> {
  using Held = struct stat;
  static Held hold(struct stat* s) { return *s; }
  static struct stat* pass(Held& h) { return &h; }
};

template <auto Op, typename When>
struct Waiting;

template <typename... A, void (*Op)(fuse_req_t, A...), typename When>
struct Waiting<Op, When> {
  using Held = std::tuple<typename Carry<A>::Held...>;

  static void call(fuse_req_t req, A... args) {
    if (!waiting_ops::serving() || !When::test(req, args...)) return Guarded<Op>::call(req, args...);
    auto held = std::make_shared<Held>(Carry<A>::hold(args)...);
    waiting_ops::run([req, held] { replay(req, *held, std::index_sequence_for<A...>{}); });
  }

 private:
  template <size_t... I>
  static void replay(fuse_req_t req, Held& h, std::index_sequence<I...>) {
    Guarded<Op>::call(req, Carry<A>::pass(std::get<I>(h))...);
  }
};

// WRITE: its data lies in libfuse's request buffer, which the loop reuses
// for the next request; the worker gets a copy, page-aligned, so that an
// O_DIRECT write needs no bounce buffer of its own.
std::shared_ptr<std::byte> aligned_copy(const char* buf, size_t size);  // waiting_ops.cpp
template <void (*Op)(fuse_req_t, fuse_ino_t, const char*, size_t, off_t, fuse_file_info*),
          typename When>
struct WaitingWrite {
  static void call(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
                   fuse_file_info* fi) {
    if (!waiting_ops::serving() || !When::test(req, ino, buf, size, off, fi))
      return Guarded<Op>::call(req, ino, buf, size, off, fi);
    std::shared_ptr<std::byte> data = aligned_copy(buf, size);
    if (!data) return Guarded<Op>::call(req, ino, buf, size, off, fi);  // no memory: wait here
    auto held = std::make_shared<fuse_file_info>(*fi);
    waiting_ops::run([=] {
      Guarded<Op>::call(req, ino, reinterpret_cast<const char*>(data.get()), size, off, held.get());
    });
  }
};

// guard<op>, run by a waiting worker while the one-thread loop serves and
// When says it may wait (always, by default).
template <auto Op, typename When = Always>
inline constexpr auto guard_waiting = &Waiting<Op, When>::call;
template <auto Op, typename When>
inline constexpr auto guard_waiting_write = &WaitingWrite<Op, When>::call;

}  // namespace cardfs::fuse
