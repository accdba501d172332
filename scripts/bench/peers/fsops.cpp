// fsops: the metadata workloads of scripts/bench/run.sh, as one process so
// that the figure is the filesystem's time, not fork/exec's.
//   fsops create   DIR N           create N empty files f0000000..
//   fsops stat     DIR N           stat them in name order
//   fsops unlink   DIR N           unlink them
//   fsops randstat DIR N M SEED    stat M names drawn at random from the N
//   fsops write    DIR N BYTES     create N files of BYTES bytes each (small files)
// Prints the elapsed seconds of the loop (CLOCK_MONOTONIC) on stdout; any
// failing call prints the errno and the name on stderr and exits 1. With
// FSOPS_LATENCY set in the environment it also prints each operation's
// latency percentiles on stderr (a figure a loaded machine's tails do not
// dominate as they do the total).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace {

// Per-operation latencies, kept only when FSOPS_LATENCY is set.
std::vector<double> g_laps;
std::chrono::steady_clock::time_point g_last;
const bool g_keep_laps = std::getenv("FSOPS_LATENCY") != nullptr;

void lap() {
  if (!g_keep_laps) return;
  auto now = std::chrono::steady_clock::now();
  g_laps.push_back(std::chrono::duration<double, std::micro>(now - g_last).count());
  g_last = now;
}

void print_laps() {
  if (g_laps.empty()) return;
  std::sort(g_laps.begin(), g_laps.end());
  auto at = [](double q) { return g_laps[size_t(q * double(g_laps.size() - 1))]; };
  std::fprintf(stderr, "fsops: %zu ops, latency us p50 %.1f p90 %.1f p99 %.1f max %.1f\n",
               g_laps.size(), at(0.5), at(0.9), at(0.99), g_laps.back());
}

std::string name_of(const char* dir, unsigned long i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "/f%07lu", i);
  return std::string(dir) + buf;
}

int fail(const char* what, const std::string& path) {
  std::fprintf(stderr, "fsops: %s %s: %s\n", what, path.c_str(), std::strerror(errno));
  return 1;
}

// Creates f0000000.. in dir, each holding bytes bytes (0: empty).
int create_files(const char* dir, unsigned long n, unsigned long bytes = 0) {
  std::string data(bytes, 'x');
  for (unsigned long i = 0; i < n; ++i) {
    std::string p = name_of(dir, i);
    int fd = ::open(p.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
    if (fd < 0) return fail("create", p);
    if (bytes > 0 && ::write(fd, data.data(), bytes) != ssize_t(bytes)) {
      ::close(fd);
      return fail("write", p);
    }
    if (::close(fd) != 0) return fail("close", p);
    lap();
  }
  return 0;
}

int stat_files(const char* dir, unsigned long n) {
  struct stat st;
  for (unsigned long i = 0; i < n; ++i) {
    std::string p = name_of(dir, i);
    if (::stat(p.c_str(), &st) != 0) return fail("stat", p);
    lap();
  }
  return 0;
}

int unlink_files(const char* dir, unsigned long n) {
  for (unsigned long i = 0; i < n; ++i) {
    std::string p = name_of(dir, i);
    if (::unlink(p.c_str()) != 0) return fail("unlink", p);
    lap();
  }
  return 0;
}

int random_stats(const char* dir, unsigned long n, unsigned long m, unsigned long seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<unsigned long> pick(0, n - 1);
  struct stat st;
  for (unsigned long i = 0; i < m; ++i) {
    std::string p = name_of(dir, pick(rng));
    if (::stat(p.c_str(), &st) != 0) return fail("stat", p);
    lap();
  }
  return 0;
}

int usage() {
  std::fprintf(stderr, "usage: fsops create|stat|unlink DIR N | fsops randstat DIR N M SEED | fsops write DIR N BYTES\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) return usage();
  std::string op = argv[1];
  const char* dir = argv[2];
  unsigned long n = std::strtoul(argv[3], nullptr, 10);
  if (n == 0) return usage();
  auto t0 = std::chrono::steady_clock::now();
  g_last = t0;
  int rc;
  if (op == "create") {
    rc = create_files(dir, n);
  } else if (op == "stat") {
    rc = stat_files(dir, n);
  } else if (op == "unlink") {
    rc = unlink_files(dir, n);
  } else if (op == "write" && argc == 5) {
    rc = create_files(dir, n, std::strtoul(argv[4], nullptr, 10));
  } else if (op == "randstat" && argc == 6) {
    rc = random_stats(dir, n, std::strtoul(argv[4], nullptr, 10), std::strtoul(argv[5], nullptr, 10));
  } else {
    return usage();
  }
  if (rc != 0) return rc;
  std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
  std::printf("%.6f\n", dt.count());
  print_laps();
  return 0;
}
