#include "fusefs/fuse/waiting_ops.h"

#include <pthread.h>

#include <condition_variable>
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
  p.stopping = false;
  for (unsigned i = 0; i < workers; ++i) p.workers.emplace_back(worker_loop, std::ref(p));
}

void stop() {
  Pool& p = pool();
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(p.mu);
    p.running = false;
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
      p.work.notify_one();
      return;
    }
  }
  fn();
}

}  // namespace cardfs::fuse::waiting_ops
