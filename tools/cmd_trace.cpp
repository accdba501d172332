// `cardfs trace FILE... [-a ACTION]... [--no-summary]`: reads traces the
// request queue wrote in blktrace format (NAME or NAME.blktrace.N files)
// and prints them as blkparse does: one line per event, then the
// per-CPU and total statistics. -a keeps only some actions (like
// `grep " C "` on blkparse's output); the summary still covers all.
#include <cstdio>

#include "blockdev/trace_reader.h"
#include "tools/command.h"

namespace cardfs::tools {
namespace {

struct TraceArgs {
  std::vector<std::string> inputs;
  std::vector<std::string> actions;
  bool no_summary = false;
};

int run_trace(const TraceArgs& a) {
  blockdev::TraceReader reader;
  if (Status st = reader.load(a.inputs); !st.is_ok()) {
    std::fprintf(stderr, "cardfs trace: %s\n", st.to_string().c_str());
    return 1;
  }
  const std::string text =
      reader.render(a.actions, !a.no_summary, blockdev::TraceReader::device_name(a.inputs.front()));
  std::fputs(text.c_str(), stdout);
  return 0;
}

void add_trace(CLI::App& app, CommandContext& ctx) {
  auto args = std::make_shared<TraceArgs>();
  auto* sub = app.add_subcommand("trace", "Print a blktrace-format trace as blkparse does");
  sub->add_option("files", args->inputs, "Trace NAME (reads NAME.blktrace.*) or trace files")->required();
  sub->add_option("-a,--action", args->actions, "Only these actions (Q G P M F I D C U UT X S)")
      ->check(CLI::IsMember({"Q", "G", "P", "M", "F", "I", "D", "C", "U", "UT", "X", "S", "R"}));
  sub->add_flag("--no-summary", args->no_summary, "Leave out the statistics");
  sub->callback([&ctx, args] { ctx.run = [args] { return run_trace(*args); }; });
}

}  // namespace

CARDFS_REGISTER_COMMAND("trace", add_trace);

}  // namespace cardfs::tools
