#include "fusefs/fuse/waiting_ops.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace cardfs::fuse::waiting_ops {
namespace {

struct Pool {
  std::mutex mu;
  std::condition_variable work;
  std::deque<std::function<void()>> queue;
  std::vector<std::thread> workers;
  bool running = false;  // run() queues only while set
  bool stopping = false;
  std::atomic<bool> serving{false};  // running, read without mu by serving()
  std::atomic<uint64_t> handed_off{0};
};

Pool& pool() {
  static Pool p;
  return p;
}

void worker_loop(Pool& p) {
  pthread_setname_np(pthread_self(), "fuse-wait");
  std::unique_lock lock(p.mu);
  for (;;) {
    p.work.wait(lock, [&] { return p.stopping || !p.queue.empty(); });
    if (p.queue.empty()) return;  // stopping, and nothing is left
    auto fn = std::move(p.queue.front());
    p.queue.pop_front();
    lock.unlock();
    fn();
    lock.lock();
  }
}

}  // namespace

void start(unsigned workers) {
  Pool& p = pool();
  std::lock_guard lock(p.mu);
  if (p.running) return;
  p.running = true;
  p.serving = true;
  p.stopping = false;
  for (unsigned i = 0; i < workers; ++i) p.workers.emplace_back(worker_loop, std::ref(p));
}

void stop() {
  Pool& p = pool();
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(p.mu);
    p.running = false;
    p.serving = false;
    p.stopping = true;
    workers.swap(p.workers);
  }
  p.work.notify_all();
  for (auto& t : workers) t.join();  // each drains the queue before it ends
}

void run(std::function<void()> fn) {
  Pool& p = pool();
  {
    std::lock_guard lock(p.mu);
    if (p.running) {
      p.queue.push_back(std::move(fn));
      p.handed_off.fetch_add(1, std::memory_order_relaxed);
      p.work.notify_one();
      return;
    }
  }
  fn();
}

bool serving() { return pool().serving.load(std::memory_order_relaxed); }

uint64_t handed_off() { return pool().handed_off.load(std::memory_order_relaxed); }

}  // namespace cardfs::fuse::waiting_ops

namespace cardfs::fuse {

std::shared_ptr<std::byte> aligned_copy(const char* buf, size_t size) {
  const size_t rounded = std::max<size_t>((size + 4095) / 4096 * 4096, 4096);
  auto* p = static_cast<std::byte*>(std::aligned_alloc(4096, rounded));
  if (!p) return nullptr;
  std::memcpy(p, buf, size);
  return std::shared_ptr<std::byte>(p, [](std::byte* b) { std::free(b); });
}

}  // namespace cardfs::fuse
