// `cardfs crashtest [--profile P] [--fs cardfs|ext4|...] [--size S]
//  [--points N] [--seed S] [--jobs J] [--keep DIR] [--setup CMD] [--only K]
//  [--mkfs ARGS] [--mount-options O] [--timeout SECS] --check 'CHECK'
//  -- WORKLOAD [ARGS...]`: does an application survive a power cut on this
// card? Records WORKLOAD's card commands once, rebuilds the card as a
// power cut after every flush/FUA (and at seeded random points, some torn)
// would leave it, lets the filesystem recover and runs CHECK in each
// (tools/crashtest/, docs/crashtest.md). Prints the Markdown report and
// writes report.md and report.json into the work directory.
// Exit: 0 every judged state passed, 1 a state failed or the run failed,
// 2 usage, 3 stopped early (host disk full) with no failure among the
// states judged.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/parse.h"
#include "tools/command.h"
#include "tools/crashtest/report.h"
#include "tools/crashtest/run.h"

namespace cardfs::tools {
namespace {

namespace fs = std::filesystem;

struct CrashtestArgs {
  crashtest::RunOptions o;
  std::string size = "256M", mkfs, keep;
  uint64_t timeout = 120;
};

int fail(const Status& st) {
  if (::isatty(STDERR_FILENO)) std::fputs("\r\033[K", stderr);
  std::fprintf(stderr, "cardfs crashtest: %s\n", st.message().c_str());
  return 1;
}

std::vector<std::string> words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

Status write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  return out ? Status::ok() : Status::error(EIO, "writing " + path);
}

int run(CrashtestArgs& a) {
  crashtest::RunOptions& o = a.o;
  o.cardfs = fs::read_symlink("/proc/self/exe").string();
  Result<uint64_t> size = parse_size(a.size);
  if (!size.is_ok()) return fail(size.status());
  o.size_bytes = *size;
  o.mkfs_args = words(a.mkfs);
  o.work_dir = a.keep;
  o.keep = !a.keep.empty();
  o.timeout = std::chrono::seconds(a.timeout);
  if (::isatty(STDERR_FILENO))
    o.progress = [](const std::string& s) { std::fprintf(stderr, "\r\033[Kcardfs crashtest: %s", s.c_str()); };
  Result<crashtest::RunResult> r = crashtest::run_crashtest(o);
  if (!r.is_ok()) return fail(r.status());
  if (o.progress) std::fputs("\r\033[K", stderr);
  // Printed before the files are written: on a host disk that filled up,
  // the states already judged still reach the user.
  const std::string md = crashtest::markdown_report(o, *r);
  std::fputs(md.c_str(), stdout);
  std::fflush(stdout);
  Status st = write_file(r->work_dir + "/report.md", md);
  if (st.is_ok()) st = write_file(r->work_dir + "/report.json", crashtest::json_report(o, *r));
  if (!st.is_ok()) return fail(st);
  // A temporary work directory goes, unless a failure's image is in it.
  std::error_code ec;
  if (!o.keep && r->failed() == 0) fs::remove_all(r->work_dir, ec);
  if (r->failed() > 0) return 1;
  if (!r->stopped.empty()) {
    std::fprintf(stderr, "cardfs crashtest: stopped early: %s (%llu states judged)\n", r->stopped.c_str(),
                 static_cast<unsigned long long>(r->judged()));
    return 3;
  }
  return 0;
}

void add_crashtest(CLI::App& app, CommandContext& ctx) {
  auto a = std::make_shared<CrashtestArgs>();
  crashtest::RunOptions& o = a->o;
  auto* sub = app.add_subcommand("crashtest", "Does an application survive a power cut? Crash states of a workload, checked");
  sub->add_option("-p,--profile", o.profile, "Card profile (default class10)");
  sub->add_option("--fs", o.fs, "Filesystem: cardfs (default), ext4, ...");
  sub->add_option("--size", a->size, "Card capacity, a multiple of the AU (default 256M)")->check(kSize);
  sub->add_option("--mkfs", a->mkfs, "Extra mkfs arguments (cardfs: '-O ^journal'; ext4: '-O ^has_journal')");
  sub->add_option("--mount-options", o.mount_options, "Extra mount options (ext4: data=writeback,nobarrier)");
  sub->add_option("--points", o.plan.points, "Random crash points besides every flush and FUA (default 8)");
  sub->add_option("--seed", o.plan.seed, "Seed of the random points (default 1)");
  sub->add_option("-j,--jobs", o.jobs, "States judged at a time (default 1)")->check(CLI::Range(1, 64));
  sub->add_option("--keep", a->keep, "Work directory, kept: recording, report, first failure (reused if it holds a recording)");
  sub->add_option("--setup", o.setup, "Shell command run in the mount before the snapshot");
  sub->add_option("--only", o.only, "Judge only this state (K, KtP or all) of the recording in --keep DIR");
  sub->add_option("--timeout", a->timeout, "Seconds a state's CHECK may take (default 120)")->check(CLI::Range(1, 86400));
  sub->add_option("--check", o.check, "Shell command run in each recovered mount: exit 0 means consistent")->required();
  sub->add_option("workload", o.workload, "The workload, after --; runs in the mount (CARDFS_MNT, CARDFS_MARK set)")
      ->required();
  sub->callback([&ctx, a] { ctx.run = [a] { return run(*a); }; });
}

}  // namespace

CARDFS_REGISTER_COMMAND("crashtest", add_crashtest);

}  // namespace cardfs::tools
