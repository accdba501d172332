// Benchmark driver for scripts/bench/cache_bench.sh (not a test).
//
// Cached 4 KiB reads and writes per second through the PageCache API with
// 1 and 2 threads (16 MiB per file, all cached), and sequential 128 KiB
// read/write bandwidth streaming 64 MiB through a 16 MiB cache (readahead,
// reclaim, write-back, throttling) against a zero-latency FakeDevice;
// each as a ratio to memcpy of the same bytes in the same run. Medians of 5.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cache/page_cache.h"
#include "tests/support/fake_device.h"

using namespace cardfs;
using namespace cardfs::cache;

namespace {

// Files are laid out contiguously: file ino's block b at ino * 2^14 + b.
GetBlock linear(uint64_t ino) {
  return [ino](uint64_t fb, bool) -> Result<BlockMapping> {
    return BlockMapping::at((ino * (1ull << 14) + fb) * 8);
  };
}

double seconds(std::function<void()> f) {
  auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Runs body(thread) on n threads; returns elapsed seconds.
double on_threads(int n, const std::function<void(int)>& body) {
  return seconds([&] {
    std::vector<std::thread> ts;
    for (int i = 0; i < n; ++i) ts.emplace_back(body, i);
    for (auto& t : ts) t.join();
  });
}

constexpr uint64_t kFile = 16 << 20;   // cached-op file size, per thread
constexpr int kOps = 200000;           // 4 KiB operations per thread
constexpr uint64_t kSeq = 64 << 20;    // sequential transfer

struct Ratio {
  double ops;
  double peer;
};

void report(const char* name, std::vector<Ratio> runs, const char* unit) {
  std::vector<double> ops, peer, ratio;
  for (auto& r : runs) {
    ops.push_back(r.ops);
    peer.push_back(r.peer);
    ratio.push_back(r.ops / r.peer);
  }
  std::printf("%-34s %12.0f %s   memcpy %12.0f %s   ratio %.3f\n", name, median(ops), unit,
              median(peer), unit, median(ratio));
}

// Zero latency: bios complete inside submit(). Dense storage is touched
// once at creation, so no timed run pays the kernel's first-touch page
// faults; no log, so none grows with the bios; one device serves every run.
cardfs::testing::FakeDevice& device() {
  static cardfs::testing::FakeDevice dev({.sectors = (256ull << 20) / 512, .record = false});
  return dev;
}

Ratio cached_ops(int threads, bool write) {
  cardfs::testing::FakeDevice& dev = device();
  RealClock clock;
  PageCache cache(dev, clock, 4096);
  std::vector<std::shared_ptr<AddressSpace>> files;
  std::vector<std::byte> src(kFile);
  for (int t = 0; t < threads; ++t) {
    files.push_back(cache.create_address_space(t + 1, linear(t + 1)));
    (void)cache.write(*files.back(), 0, src, 0);  // all cached (and dirty)
  }
  std::vector<std::vector<uint32_t>> offsets(threads);
  for (int t = 0; t < threads; ++t) {
    std::mt19937 rng(t);
    for (int i = 0; i < kOps; ++i) offsets[t].push_back(uint32_t(rng() % (kFile / 4096)));
  }
  // Writers use their own file (one writer per inode); readers share file 0.
  double cache_s = on_threads(threads, [&](int t) {
    std::vector<std::byte> buf(4096, std::byte(t));
    ReadaheadState ra;
    AddressSpace& as = *files[write ? t : 0];
    for (uint32_t page : offsets[t]) {
      if (write) (void)cache.write(as, uint64_t(page) * 4096, buf, kFile);
      else (void)cache.read(as, ra, uint64_t(page) * 4096, buf, kFile);
    }
  });
  std::vector<std::vector<std::byte>> mem(threads, std::vector<std::byte>(kFile));
  double mem_s = on_threads(threads, [&](int t) {
    std::vector<std::byte> buf(4096, std::byte(t));
    std::byte* base = mem[write ? t : 0].data();
    for (uint32_t page : offsets[t]) {
      if (write) std::memcpy(base + uint64_t(page) * 4096, buf.data(), 4096);
      else std::memcpy(buf.data(), base + uint64_t(page) * 4096, 4096);
    }
  });
  double n = double(kOps) * threads;
  return {n / cache_s, n / mem_s};
}

// Streaming through a cache of a quarter of the transfer: after a warm-up
// pass (another file), every page comes from reclaim, as in steady state.
Ratio sequential(bool write, bool multipage) {
  cardfs::testing::FakeDevice& dev = device();
  RealClock clock;
  Tunables t;
  t.cache_size = kSeq / 4;
  t.multipage_bios = multipage;
  PageCache cache(dev, clock, 4096, t);
  std::vector<std::byte> buf(128 << 10, std::byte{1});
  auto pass = [&](AddressSpace& as) {
    ReadaheadState ra;
    for (uint64_t off = 0; off < kSeq; off += buf.size()) {
      if (write) (void)cache.write(as, off, buf, off);
      else (void)cache.read(as, ra, off, buf, kSeq);
    }
    if (write) (void)cache.sync_all();
  };
  pass(*cache.create_address_space(2, linear(2)));
  auto as = cache.create_address_space(1, linear(1));
  double cache_s = seconds([&] { pass(*as); });
  std::vector<std::byte> mem(kSeq);
  double mem_s = seconds([&] {
    for (uint64_t off = 0; off < kSeq; off += buf.size()) {
      if (write) std::memcpy(mem.data() + off, buf.data(), buf.size());
      else std::memcpy(buf.data(), mem.data() + off, buf.size());
    }
  });
  return {double(kSeq) / cache_s / 1e6, double(kSeq) / mem_s / 1e6};
}

std::vector<Ratio> runs(const std::function<Ratio()>& f) {
  std::vector<Ratio> out;
  for (int i = 0; i < 5; ++i) out.push_back(f());
  return out;
}

}  // namespace

// With an argument, runs only the cases whose name contains it.
int main(int argc, char** argv) {
  std::string filter = argc > 1 ? argv[1] : "";
  auto run = [&](const char* name, const char* unit, std::function<Ratio()> f) {
    if (std::string(name).find(filter) != std::string::npos) report(name, runs(f), unit);
  };
  std::printf("cardfs page cache benchmark (medians of 5; ratio = cache / memcpy)\n");
  run("cached 4 KiB read, 1 thread", "ops/s", [] { return cached_ops(1, false); });
  run("cached 4 KiB read, 2 threads", "ops/s", [] { return cached_ops(2, false); });
  run("cached 4 KiB write, 1 thread", "ops/s", [] { return cached_ops(1, true); });
  run("cached 4 KiB write, 2 threads", "ops/s", [] { return cached_ops(2, true); });
  run("sequential read, readahead", "MB/s ", [] { return sequential(false, false); });
  run("sequential write+sync, page bios", "MB/s ", [] { return sequential(true, false); });
  run("sequential write+sync, mpage bios", "MB/s ", [] { return sequential(true, true); });
  return 0;
}
