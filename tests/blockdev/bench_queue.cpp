// Benchmark of the request queue's own cost, over a zero-cost FakeDriver.
// Run by scripts/bench/blockdev_bench.sh; prints medians of 5 runs.
//
//   bios/s, plugged sequential 4 KiB writes (64 per plug: 63 merges each),
//   tracing off and on (ratio on/off in the same run);
//   bios/s, unplugged scattered 4 KiB writes (no merges), tracing off;
//   ns per merge lookup+merge with 1, 64 and 4096 pending requests.
// --quick: one run of a hundredth of the work (ctest runs it so).
// The trace goes to a scratch directory under the working directory.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "blockdev/queue.h"
#include "tests/blockdev/fake_driver.h"
#include "tests/support/scratch_dir.h"

using namespace cardfs;
using namespace cardfs::blockdev;
using Steady = std::chrono::steady_clock;

namespace {

int g_runs = 5;
uint64_t g_scale = 1;  // divides every amount of work (--quick)
std::vector<std::byte> g_page(4096);

BioPtr page_write(uint64_t sector) {
  auto b = std::make_unique<Bio>();
  b->op = BioOp::kWrite;
  b->sector = sector;
  b->segments.push_back({g_page.data(), 4096});
  b->pid = 1;
  b->on_complete = [](int) {};
  return b;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double bios_per_second(bool plugged, const std::string& trace_name, uint64_t nbios) {
  RealClock clock;
  testing::FakeDriver driver(1ull << 40, 1, /*record=*/false);
  Queue q(driver, clock);
  if (!trace_name.empty() && !q.start_trace(trace_name).is_ok()) return 0;
  std::vector<BioPtr> bios;
  bios.reserve(nbios);
  std::mt19937_64 rng(7);
  for (uint64_t i = 0; i < nbios; ++i) bios.push_back(page_write(plugged ? i * 8 : (rng() % (1ull << 30)) * 8));
  const auto t0 = Steady::now();
  for (uint64_t i = 0; i < nbios; i += 64) {
    if (plugged) q.plug_start();
    for (uint64_t k = i; k < i + 64 && k < nbios; ++k) q.submit(std::move(bios[k]));
    if (plugged) q.plug_finish();
  }
  const double s = std::chrono::duration<double>(Steady::now() - t0).count();
  if (!trace_name.empty() && !q.stop_trace().is_ok()) return 0;
  return double(nbios) / s;
}

// Keeps `pending` requests in the elevator (the card holds one command)
// and times bios that back-merge into a randomly chosen one.
double ns_per_merge(uint32_t pending) {
  RealClock clock;
  testing::FakeDriver driver(1ull << 40, 1, false);
  QueueOptions o;
  o.nr_requests = pending + 8;
  Queue q(driver, clock, o);
  driver.hold(true);
  q.submit(page_write(1ull << 35));  // occupies the card
  std::mt19937 rng(11);
  double total_ns = 0;
  uint64_t merges = 0;
  const uint64_t per_phase = std::max<uint64_t>(uint64_t(pending) * 100, 20000) / g_scale;
  while (merges < 400000 / g_scale) {
    std::vector<uint64_t> end(pending);
    for (uint32_t i = 0; i < pending; ++i) {
      end[i] = uint64_t(i) * 4096;
      q.submit(page_write(end[i]));
    }
    std::vector<BioPtr> bios;
    for (uint64_t k = 0; k < per_phase; ++k) {
      const uint32_t i = rng() % pending;
      if (end[i] - uint64_t(i) * 4096 >= 1000) continue;  // keep under max_sectors
      bios.push_back(page_write(end[i] + 8));
      end[i] += 8;
    }
    const auto t0 = Steady::now();
    for (auto& b : bios) q.submit(std::move(b));
    total_ns += std::chrono::duration<double, std::nano>(Steady::now() - t0).count();
    merges += bios.size();
    // Let the phase's requests through, then occupy the card again.
    while (driver.complete_next()) {
    }
    q.submit(page_write(1ull << 35));
  }
  driver.hold(false);
  driver.complete_all();
  q.wait_idle();
  return total_ns / double(merges);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--quick") == 0) {
    g_runs = 1;
    g_scale = 100;
  }
  const cardfs::testing::ScratchDir dir("blockdev-bench");
  std::vector<double> off, on, scattered, m1, m64, m4096;
  for (int r = 0; r < g_runs; ++r) {
    off.push_back(bios_per_second(true, "", (1 << 21) / g_scale));
    on.push_back(bios_per_second(true, dir.path("bench"), (1 << 21) / g_scale));
    scattered.push_back(bios_per_second(false, "", (1 << 19) / g_scale));
    m1.push_back(ns_per_merge(1));
    m64.push_back(ns_per_merge(64));
    m4096.push_back(ns_per_merge(4096));
  }
  if (median(on) == 0) {
    std::fprintf(stderr, "blockdev_bench: the trace to %s could not be written\n", dir.dir().c_str());
    return 1;
  }
  std::printf("plugged sequential 4K writes, tracing off: %.3g bios/s\n", median(off));
  std::printf("plugged sequential 4K writes, tracing on:  %.3g bios/s (on/off = %.2f)\n", median(on),
              median(on) / median(off));
  std::printf("unplugged scattered 4K writes, tracing off: %.3g bios/s\n", median(scattered));
  std::printf("merge into 1 pending request:    %.0f ns/bio\n", median(m1));
  std::printf("merge into 64 pending requests:  %.0f ns/bio (x%.2f of 1)\n", median(m64), median(m64) / median(m1));
  std::printf("merge into 4096 pending requests: %.0f ns/bio (x%.2f of 1)\n", median(m4096),
              median(m4096) / median(m1));
  return 0;
}
