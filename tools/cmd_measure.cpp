// `cardfs measure [--profile P[,P2...] | --all] [--fs cardfs|ext4|exfat|...]
//  [--size S] [--represents DURATION] [--out DIR] -- COMMAND [ARGS...]`:
// what a workload costs each card. Records COMMAND's card-level trace on a
// fresh card with the filesystem on it (tools/measure/record.h), replays it
// on every profile (tools/measure/costs.h) and writes the table, advice,
// report.md, report.json, timeseries.csv and plots (docs/measure.md).
// Errors are one line and exit 1; usage errors exit 2.
#include <signal.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>

#include "sdcard/profiles.h"
#include "tools/command.h"
#include "tools/measure/record.h"
#include "tools/measure/report.h"
#include "tools/workload/fs_on_card.h"

namespace cardfs::tools {
namespace {

namespace fs = std::filesystem;

struct MeasureArgs {
  std::vector<std::string> profiles, command;
  bool all = false;
  std::string fs = "cardfs", size = "512M", represents, out;
};

int fail(const Status& st) {
  if (::isatty(STDERR_FILENO)) std::fputs("\r\033[K", stderr);  // over the progress line
  std::fprintf(stderr, "cardfs measure: %s\n", st.message().c_str());
  return 1;
}

// "90s", "15m", "1h", "1.5h", "2d", "1w": seconds.
Result<double> parse_duration(const std::string& text) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (...) {
    used = 0;
  }
  const std::string unit = text.substr(used);
  const std::pair<const char*, double> units[] = {{"s", 1}, {"", 1}, {"m", 60}, {"min", 60}, {"h", 3600},
                                                  {"d", 86400}, {"w", 604800}, {"y", 31557600}};
  if (used > 0 && v > 0 && std::isfinite(v))
    for (const auto& [name, scale] : units)
      if (unit == name) return v * scale;
  return Status::error(EINVAL, "--represents: '" + text + "' is not a duration (e.g. 90s, 15m, 1h, 2d, 1w)");
}

// A line on the terminal that rewrites itself; nothing when stderr is not one.
std::function<void(const std::string&)> progress() {
  if (!::isatty(STDERR_FILENO)) return nullptr;
  return [](const std::string& what) { std::fprintf(stderr, "\r\033[Kcardfs measure: %s ...", what.c_str()); };
}

std::string default_out() {
  char buf[64];
  const std::time_t now = std::time(nullptr);
  std::strftime(buf, sizeof buf, "measure-%Y%m%d-%H%M%S", std::localtime(&now));
  return buf;
}

Result<std::string> make_out_dir(const std::string& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_empty(dir, ec))
    return Status::error(EEXIST, "--out " + dir + " exists and is not empty");
  fs::create_directories(dir, ec);
  if (ec) return Status::error(ec.value(), "creating " + dir + ": " + ec.message());
  return fs::absolute(dir, ec).string();
}

// Scratch for the images and mount points, removed at the end unless
// something is still mounted under it (then it is left, and said).
struct Scratch {
  std::string dir;
  ~Scratch() {
    if (dir.empty()) return;
    std::ifstream mounts("/proc/self/mounts");
    for (std::string line; std::getline(mounts, line);)
      if (line.find(" " + dir + "/") != std::string::npos) {
        std::fprintf(stderr, "cardfs measure: %s still has a mount; left in place\n", dir.c_str());
        return;
      }
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

Result<std::string> make_scratch() {
  const char* tmp = std::getenv("TMPDIR");
  std::string path = std::string(tmp && *tmp ? tmp : "/tmp") + "/cardfs-measure.XXXXXX";
  if (::mkdtemp(path.data()) == nullptr) return Status::error(errno, "creating a scratch directory in /tmp");
  return path;
}

Result<std::vector<std::string>> profile_names(const MeasureArgs& a) {
  std::vector<std::string> out;
  if (a.all)
    for (const sdcard::Profile& p : sdcard::profiles()) out.emplace_back(p.name);
  for (const std::string& n : a.profiles) {
    CARDFS_RETURN_IF_ERROR(sdcard::find_profile(n).status());
    out.push_back(n);
  }
  if (out.empty()) out = {"class10", "a1"};
  return out;
}

Status write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
  f.close();
  return f ? Status::ok() : Status::error(EIO, "writing " + path);
}

Status write_reports(const measure::RunInfo& run, const std::vector<measure::ProfileCost>& costs) {
  CARDFS_RETURN_IF_ERROR(write_file(run.out_dir + "/report.md", measure::markdown(run, costs)));
  CARDFS_RETURN_IF_ERROR(write_file(run.out_dir + "/report.json", measure::to_json(run, costs).dump(2) + "\n"));
  CARDFS_RETURN_IF_ERROR(write_file(run.out_dir + "/timeseries.csv", measure::csv(costs)));
  return measure::write_plots(run.out_dir, costs).status();
}

// A ^C (or SIGTERM) reaches the workload, which stops; measure itself
// carries on to unmount, detach and report what was recorded. A handler,
// not SIG_IGN: children get the default disposition back at exec.
volatile sig_atomic_t interrupted = 0;
void note_interrupt(int) { interrupted = 1; }

void keep_running_on_interrupt() {
  struct sigaction sa {};
  sa.sa_handler = note_interrupt;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

// The recording replayed on each profile (cardfs: from that profile's
// freshly made card).
Result<std::vector<measure::ProfileCost>> costs_of(const measure::Recorded& rec,
                                                   const std::vector<std::string>& profiles,
                                                   const std::function<void(const std::string&)>& progress) {
  std::vector<measure::ProfileCost> costs;
  for (size_t i = 0; i < profiles.size(); ++i) {
    if (progress) progress("replaying on " + profiles[i]);
    measure::Recording r = rec.rec;
    if (!rec.base_images.empty()) r.base_image = rec.base_images[i];
    CARDFS_ASSIGN_OR_RETURN(measure::ProfileCost c, measure::cost_on(r, **sdcard::find_profile(profiles[i])));
    costs.push_back(std::move(c));
  }
  return costs;
}

// 130 when interrupted, 1 when the command failed (said), else 0.
int exit_code(int command_status, const std::string& out) {
  if (interrupted) {
    std::fprintf(stderr, "cardfs measure: interrupted; the report covers the run until then\n");
    return 130;
  }
  if (command_status != 0) {
    std::fprintf(stderr, "cardfs measure: the command exited with %d (its output: %s/command.log)\n",
                 command_status, out.c_str());
    return 1;
  }
  return 0;
}

int run_measure(const MeasureArgs& a) {
  Result<std::vector<std::string>> profiles = profile_names(a);
  if (!profiles.is_ok()) return fail(profiles.status());
  Result<uint64_t> size = parse_size(a.size);
  if (!size.is_ok()) return fail(size.status().with_context("--size"));
  std::optional<double> represents;
  if (!a.represents.empty()) {
    Result<double> d = parse_duration(a.represents);
    if (!d.is_ok()) return fail(d.status());
    represents = *d;
  }
  if (Status st = workload::check_filesystem(a.fs); !st.is_ok()) return fail(st);
  Result<std::string> out = make_out_dir(a.out.empty() ? default_out() : a.out);
  if (!out.is_ok()) return fail(out.status());
  Result<std::string> scratch = make_scratch();
  if (!scratch.is_ok()) return fail(scratch.status());
  Scratch guard{*scratch};

  keep_running_on_interrupt();
  measure::RecordOptions ro{fs::read_symlink("/proc/self/exe").string(), a.fs, *profiles, *size, a.command,
                            *scratch, *out, progress(), [] { return interrupted != 0; }};
  Result<measure::Recorded> rec = measure::record(ro);
  if (!rec.is_ok()) return fail(rec.status());
  rec->rec.represents_s = represents.value_or(rec->wall_s);

  Result<std::vector<measure::ProfileCost>> costs = costs_of(*rec, *profiles, ro.progress);
  if (!costs.is_ok()) return fail(costs.status());
  measure::RunInfo run{a.command, rec->exit_status, a.fs, profiles->front(), *out, *size, rec->wall_s,
                       rec->rec.represents_s, represents.has_value(), rec->rec.run.events.size(),
                       rec->rec.setup.events.size()};
  if (ro.progress) ro.progress("writing the report");
  Status st = write_reports(run, *costs);
  if (ro.progress) std::fputs("\r\033[K", stderr);
  if (!st.is_ok()) return fail(st);
  std::printf("%s\n%s\nreport: %s/report.md (and report.json, timeseries.csv, plots/)\n",
              measure::table(*costs).c_str(), measure::advice_text(*costs).c_str(), out->c_str());
  return exit_code(rec->exit_status, *out);
}

void add_measure(CLI::App& app, CommandContext& ctx) {
  auto a = std::make_shared<MeasureArgs>();
  auto* sub = app.add_subcommand("measure", "What a workload costs each card: run it on a fresh card, replay on profiles");
  auto* profile =
      sub->add_option("-p,--profile", a->profiles, "Card profiles, comma-separated (default: class10,a1)")
          ->delimiter(',');
  sub->add_flag("--all", a->all, "Every profile (cardfs card profiles)")->excludes(profile);
  sub->add_option("--fs", a->fs, "Filesystem: cardfs (default), ext4, exfat, btrfs, xfs, vfat, f2fs");
  sub->add_option("--size", a->size, "Card capacity, a multiple of the AU (default 512M)")->check(kSize);
  sub->add_option("--represents", a->represents, "Real operation the command stands for (e.g. 1h; default: its wall time)");
  sub->add_option("--out", a->out, "Report directory (default: ./measure-DATE-TIME)");
  sub->add_option("command", a->command, "The workload, after --; runs in the mount with CARDFS_MNT set")->required();
  sub->callback([&ctx, a] { ctx.run = [a] { return run_measure(*a); }; });
}

}  // namespace

CARDFS_REGISTER_COMMAND("measure", add_measure);

}  // namespace cardfs::tools
