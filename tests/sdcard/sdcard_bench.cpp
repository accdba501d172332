// Fast-mode throughput of the card library against plain pwrite/pread on
// a file in the same directory, measured in the same run (not a test: run
// by scripts/bench/sdcard_bench.sh). Prints one line per measurement with
// the median of `rounds` runs and the ratio card/raw, of throughput and of
// CPU time spent (process CPU, io_uring's worker threads included): on a
// shared machine the wall-clock ratio swings with the load, the CPU one
// much less.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "base/clock.h"
#include "sdcard/card.h"
#include "sdcard/profiles.h"

namespace {

using cardfs::sdcard::Card;
constexpr uint64_t MiB = 1 << 20;

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double cpu_s() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Workload {
  uint64_t bytes;      // sequential span
  int random_ops;      // 4 KiB operations
  std::vector<uint64_t> offsets;  // random 4 KiB offsets
};

// Each function returns seconds for the operation set.
using Io = std::function<bool(bool write, uint64_t off, void* buf, size_t len)>;

struct Phase {
  double wall = 0, cpu = 0;
};

struct Times {
  Phase seq_write, seq_rewrite, seq_read, rand_write, rand_read;
};

// Times fn(): wall clock and process CPU.
template <typename Fn>
Phase timed(Fn&& fn) {
  const double w = now_s(), c = cpu_s();
  fn();
  return {now_s() - w, cpu_s() - c};
}

Times run(const Io& io, const std::function<bool()>& sync, const Workload& w) {
  std::vector<char> big(MiB, 'x'), small(4096, 'y');
  Times t{};
  t.seq_write = timed([&] {
    for (uint64_t off = 0; off < w.bytes; off += MiB) io(true, off, big.data(), MiB);
    sync();
  });
  t.seq_rewrite = timed([&] {
    for (uint64_t off = 0; off < w.bytes; off += MiB) io(true, off, big.data(), MiB);
    sync();
  });
  t.seq_read = timed([&] {
    for (uint64_t off = 0; off < w.bytes; off += MiB) io(false, off, big.data(), MiB);
  });
  t.rand_write = timed([&] {
    for (uint64_t off : w.offsets) io(true, off, small.data(), 4096);
    sync();
  });
  t.rand_read = timed([&] {
    for (uint64_t off : w.offsets) io(false, off, small.data(), 4096);
  });
  return t;
}

Times run_raw(const std::string& dir, const Workload& w) {
  const std::string path = dir + "/raw.bin";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
  // Sized up front and sparse, as a card image is.
  if (fd < 0 || ::ftruncate(fd, off_t(w.bytes)) != 0) std::exit(1);
  Io io = [fd](bool write, uint64_t off, void* buf, size_t len) {
    return write ? ::pwrite(fd, buf, len, off_t(off)) == ssize_t(len) : ::pread(fd, buf, len, off_t(off)) == ssize_t(len);
  };
  Times t = run(io, [] { return true; }, w);
  ::close(fd);
  ::unlink(path.c_str());
  return t;
}

Times run_card(const std::string& dir, const Workload& w, const char* profile) {
  const std::string path = dir + "/card.img";
  ::unlink(path.c_str());
  cardfs::VirtualClock clock;
  auto card = Card::create(path, **cardfs::sdcard::find_profile(profile), w.bytes, clock);
  if (!card.is_ok()) {
    std::fprintf(stderr, "%s\n", card.status().to_string().c_str());
    std::exit(1);
  }
  Card& c = **card;
  Io io = [&c](bool write, uint64_t off, void* buf, size_t len) {
    iovec v{buf, len};
    std::span<const iovec> seg(&v, 1);
    return (write ? c.write(off / 512, seg, false) : c.read(off / 512, seg)).is_ok();
  };
  Times t = run(io, [&c] { return c.flush().is_ok(); }, w);
  (void)c.close();
  card->reset();
  ::unlink(path.c_str());
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR [rounds] [MiB] [profile]\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 5;
  Workload w{uint64_t(argc > 3 ? std::atoi(argv[3]) : 256) * MiB, 20000, {}};
  // The page-mapped a2 by default: on a block-FTL profile random writes
  // merge a whole AU per page, which is what such a card does but makes a
  // throughput benchmark measure merges.
  const char* profile = argc > 4 ? argv[4] : "a2";
  std::mt19937_64 rng(1);
  for (int i = 0; i < w.random_ops; ++i) w.offsets.push_back((rng() % (w.bytes / 4096)) * 4096);
  std::vector<Times> raw, card;
  for (int r = 0; r < rounds; ++r) {  // alternate who goes first: the page cache remembers
    if (r % 2 == 0) raw.push_back(run_raw(dir, w));
    card.push_back(run_card(dir, w, profile));
    if (r % 2 == 1) raw.push_back(run_raw(dir, w));
  }
  // Throughput (units / wall seconds) and CPU seconds per unit, medians.
  auto report = [&](const char* name, Phase Times::*field, double units, const char* unit) {
    std::vector<double> a, b, ca, cb;
    for (auto& t : raw) a.push_back(units / (t.*field).wall), ca.push_back((t.*field).cpu / units);
    for (auto& t : card) b.push_back(units / (t.*field).wall), cb.push_back((t.*field).cpu / units);
    std::printf("%-24s raw %10.1f %s   card %10.1f %s   ratio %.2f   cpu ratio %.2f\n", name, median(a), unit,
                median(b), unit, median(b) / median(a), median(ca) / median(cb));
  };
  const double mb = double(w.bytes) / 1e6;
  std::printf("sdcard fast-mode benchmark: profile %s, %d rounds (medians), %llu MiB sequential, %d random 4 KiB ops, dir %s\n",
              profile, rounds, (unsigned long long)(w.bytes / MiB), w.random_ops, dir.c_str());
  report("sequential write 1MiB", &Times::seq_write, mb, "MB/s");
  report("sequential rewrite 1MiB", &Times::seq_rewrite, mb, "MB/s");
  report("sequential read 1MiB", &Times::seq_read, mb, "MB/s");
  report("random write 4KiB", &Times::rand_write, w.random_ops, "IOPS");
  report("random read 4KiB", &Times::rand_read, w.random_ops, "IOPS");
  return 0;
}
