// cardfs's own CPU per create and per unlink, in-process (no FUSE round
// trip, no other process): what the daemon spends above the transport's
// floor on each request (issue 23, item 2), reported rather than checked
// (a measurement, not a test): scripts/bench/meta_bench.sh. Each file goes
// through what the kernel sends for `fsops create` and `fsops unlink`: a
// negative LOOKUP, CREATE (mknod + open), RELEASE; then UNLINK and the
// FORGET. CPU time is the calling thread's (CLOCK_THREAD_CPUTIME_ID), so
// the journal's commit thread is not counted; with a virtual clock it
// commits only when a transaction fills.
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "tests/fusefs/fs_fixture.h"

using namespace cardfs;
using namespace cardfs::fusefs;
using namespace cardfs::fusefs::testing;

namespace {

double thread_cpu_ns() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) * 1e9 + double(ts.tv_nsec);
}

struct Round {
  double create_ns, unlink_ns;
};

Round one_round(bool journal, int files) {
  FsOptions o = sized(512ull << 20);
  o.journal = journal;
  TestFs t(o);
  auto dir = t->mkdir(kRootIno, "d", 0755, {});
  REQUIRE(dir.is_ok());
  std::vector<std::string> names;
  for (int i = 0; i < files; ++i) names.push_back("f" + std::to_string(1000000 + i));
  std::vector<Ino> inos;
  inos.reserve(files);
  const double c0 = thread_cpu_ns();
  for (auto& n : names) {
    REQUIRE(t->lookup(dir->ino, n).status().code() == ENOENT);
    auto a = t->mknod(dir->ino, n, S_IFREG | 0644, 0, {});
    REQUIRE(a.is_ok());
    REQUIRE(t->open(a->ino).is_ok());
    t->release(a->ino);
    inos.push_back(a->ino);
  }
  const double c1 = thread_cpu_ns();
  for (int i = 0; i < files; ++i) {
    REQUIRE(t->unlink(dir->ino, names[i]).is_ok());
    t->forget(inos[i], 1);
  }
  const double c2 = thread_cpu_ns();
  return {(c1 - c0) / files, (c2 - c1) / files};
}

}  // namespace

TEST_CASE("cardfs's own CPU per create and unlink of 10 000 files in one directory") {
  const int files = 10000, rounds = 5;
  for (bool journal : {true, false}) {
    std::vector<double> c, u;
    for (int r = 0; r < rounds; ++r) {
      Round x = one_round(journal, files);
      c.push_back(x.create_ns);
      u.push_back(x.unlink_ns);
    }
    std::sort(c.begin(), c.end());
    std::sort(u.begin(), u.end());
    char line[200];
    std::snprintf(line, sizeof line, "%s: create %.2f us (%.2f..%.2f), unlink+forget %.2f us (%.2f..%.2f), medians of %d",
                  journal ? "journal" : "no journal", c[rounds / 2] / 1e3, c.front() / 1e3,
                  c.back() / 1e3, u[rounds / 2] / 1e3, u.front() / 1e3, u.back() / 1e3, rounds);
    WARN(line);
  }
}
