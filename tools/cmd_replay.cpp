// `cardfs replay TRACE... --profile P[,P2,...] [--size BYTES] [--image IMG]
//  [--from D|Q] [--format F] [--json]`: runs a block trace against a
// dataless card of each profile (tools/replay/, docs/replay.md) and says
// what each card would have done: commands, bytes, flash programmed,
// write amplification, merges, erases, busy time against the trace's
// span, latency percentiles, wear. Errors are one line and exit 1.
#include <unistd.h>

#include <cstdio>

#include "sdcard/profiles.h"
#include "tools/command.h"
#include "tools/replay/replayer.h"
#include "tools/replay/report.h"

namespace cardfs::tools {
namespace {

struct ReplayArgs {
  std::vector<std::string> inputs;
  std::vector<std::string> profiles;
  std::string size, image, from = "D", format = "auto";
  bool json = false;
};

int fail(const Status& st) {
  std::fprintf(stderr, "cardfs replay: %s\n", st.message().c_str());
  return 1;
}

// A line on the terminal that rewrites itself; nothing when stderr is not one.
std::function<void(uint64_t, uint64_t)> progress_for(const std::string& profile) {
  if (!::isatty(STDERR_FILENO)) return nullptr;
  return [profile](uint64_t done, uint64_t all) {
    std::fprintf(stderr, "\r%s: %3.0f %% of %llu events", profile.c_str(), 100.0 * double(done) / double(all),
                 static_cast<unsigned long long>(all));
  };
}

Result<std::vector<const sdcard::Profile*>> profiles_of(const std::vector<std::string>& names) {
  std::vector<const sdcard::Profile*> out;
  for (const std::string& n : names) {
    Result<const sdcard::Profile*> p = sdcard::find_profile(n);
    if (!p.is_ok()) return p.status();
    out.push_back(*p);
  }
  return out;
}

int run_replay(const ReplayArgs& a) {
  Result<std::vector<const sdcard::Profile*>> profiles = profiles_of(a.profiles);
  if (!profiles.is_ok()) return fail(profiles.status());
  replay::ReplayOptions o;
  o.from = a.from == "Q" ? replay::Stage::kQueue : replay::Stage::kDispatch;
  o.image = a.image;
  if (!a.size.empty()) {
    Result<uint64_t> size = parse_size(a.size);
    if (!size.is_ok()) return fail(size.status());
    o.size_bytes = *size;
  }
  Result<replay::Trace> trace = replay::read_trace(a.inputs, a.format);
  if (!trace.is_ok()) return fail(trace.status());
  replay::Stage source;
  (void)replay::commands_of(*trace, o.from, &source);
  std::vector<replay::ProfileReport> reports;
  for (const sdcard::Profile* p : *profiles) {
    o.progress = progress_for(std::string(p->name));
    Result<replay::ProfileReport> r = replay::replay(*trace, *p, o);
    if (o.progress) std::fputs("\r\033[K", stderr);
    if (!r.is_ok()) return fail(r.status());
    reports.push_back(std::move(r).value());
  }
  const replay::TraceSummary summary = replay::TraceSummary::of(*trace, a.inputs, source);
  const std::string out = a.json ? replay::json_report(summary, reports) : replay::text_report(summary, reports);
  std::fputs(out.c_str(), stdout);
  return 0;
}

void add_replay(CLI::App& app, CommandContext& ctx) {
  auto a = std::make_shared<ReplayArgs>();
  auto* sub = app.add_subcommand("replay", "Run a block trace against dataless cards of any profile");
  sub->add_option("traces", a->inputs,
                  "blktrace files (NAME or NAME.blktrace.N, cardfs's or Linux's), blkparse text, "
                  "ftrace blk text or a fio iolog")
      ->required();
  sub->add_option("-p,--profile", a->profiles, "Card profiles, comma-separated (cardfs card profiles)")
      ->required()
      ->delimiter(',');
  sub->add_option("--size", a->size, "Card capacity (default: the trace's sectors, rounded up to AUs)")
      ->check(kSize);
  sub->add_option("--image", a->image, "Start from this card image's state (only read; its profile and size)");
  sub->add_option("--from", a->from, "D: what the device received (default); Q: queued bios through cardfs's queue")
      ->check(CLI::IsMember({"D", "Q"}));
  sub->add_option("--format", a->format, "Trace format (default: from the content)")
      ->check(CLI::IsMember({"auto", "blktrace", "blkparse", "ftrace", "fio"}));
  sub->add_flag("--json", a->json, "Everything as JSON");
  sub->callback([&ctx, a] { ctx.run = [a] { return run_replay(*a); }; });
}

}  // namespace

CARDFS_REGISTER_COMMAND("replay", add_replay);

}  // namespace cardfs::tools
