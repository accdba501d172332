// Clang's thread-safety annotations (-Wthread-safety), no-ops under g++,
// and a mutex clang can reason about.
//
// libstdc++'s std::mutex carries no annotations, so a field guarded by one
// cannot be checked: a mutex whose fields are annotated is a
// cardfs::Mutex, held through cardfs::MutexLock (or lock()/unlock() in a
// function that says it acquires or releases it). Waiting on a condition
// variable: std::condition_variable_any over the MutexLock.
// The clang build that checks them is the fuzz build (.ci/run,
// tests/fsck/fuzz/run.sh), where -Wthread-safety is an error; locally:
// scripts/thread_safety.sh.
#pragma once

#include <mutex>

#if defined(__clang__)
#define CARDFS_TSA(x) __attribute__((x))
#else
#define CARDFS_TSA(x)
#endif

#define CARDFS_CAPABILITY(x) CARDFS_TSA(capability(x))
#define CARDFS_SCOPED_CAPABILITY CARDFS_TSA(scoped_lockable)
#define CARDFS_GUARDED_BY(x) CARDFS_TSA(guarded_by(x))
#define CARDFS_PT_GUARDED_BY(x) CARDFS_TSA(pt_guarded_by(x))
#define CARDFS_ACQUIRED_BEFORE(...) CARDFS_TSA(acquired_before(__VA_ARGS__))
#define CARDFS_ACQUIRED_AFTER(...) CARDFS_TSA(acquired_after(__VA_ARGS__))
#define CARDFS_REQUIRES(...) CARDFS_TSA(requires_capability(__VA_ARGS__))
#define CARDFS_ACQUIRE(...) CARDFS_TSA(acquire_capability(__VA_ARGS__))
#define CARDFS_RELEASE(...) CARDFS_TSA(release_capability(__VA_ARGS__))
#define CARDFS_TRY_ACQUIRE(...) CARDFS_TSA(try_acquire_capability(__VA_ARGS__))
#define CARDFS_EXCLUDES(...) CARDFS_TSA(locks_excluded(__VA_ARGS__))
#define CARDFS_NO_THREAD_SAFETY_ANALYSIS CARDFS_TSA(no_thread_safety_analysis)

namespace cardfs {

class CARDFS_CAPABILITY("mutex") Mutex {
 public:
  void lock() CARDFS_ACQUIRE() { mu_.lock(); }
  void unlock() CARDFS_RELEASE() { mu_.unlock(); }
  bool try_lock() CARDFS_TRY_ACQUIRE(true) { return mu_.try_lock(); }

 private:
  std::mutex mu_;
};

// Holds a Mutex for its scope; unlock()/lock() let a condition variable
// (std::condition_variable_any) wait on it.
class CARDFS_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) CARDFS_ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~MutexLock() CARDFS_RELEASE() {
    if (held_) mu_.unlock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void lock() CARDFS_ACQUIRE() {
    mu_.lock();
    held_ = true;
  }
  void unlock() CARDFS_RELEASE() {
    mu_.unlock();
    held_ = false;
  }

 private:
  Mutex& mu_;
  bool held_ = true;
};

}  // namespace cardfs
