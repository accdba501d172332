// `cardfs card export IMAGE DIR [--realtime]`: the raw card as the single
// file DIR/card, through a small FUSE mount (libfuse3 low-level API), so
// that losetup + mkfs.ext4 + mount, or flashbench, run on the emulated card.
//
// Files are opened direct_io (no kernel page cache: every read and write
// reaches the card, as O_DIRECT asks); O_SYNC/O_DSYNC writes are FUA, and
// fsync is the card's cache flush. Requests not aligned to 512 bytes are
// read-modify-written. One thread serves requests, one at a time, as the
// card takes them. Like `cardfs mount`, it daemonises once DIR/card is up
// (errors before that reach the terminal; -f stays in the foreground).
// Runs until DIR is unmounted or SIGINT/SIGTERM, then closes the card
// cleanly.
//
// With --trace NAME every card command is recorded in blktrace format
// (NAME.blktrace.N, D when it reaches the card and C when done, on the
// host's clock; `cardfs trace` prints it, `cardfs replay` replays it).
//
// With --record NAME every card command and the data it wrote go to
// NAME.blktrace.0 (blockdev/command_log.h), and a line written to DIR/mark
// goes there as a marker: what `cardfs crashtest --fs ext4` records.
//
// DIR/stat (read-only) holds the card's counters at the moment it is
// opened, as "card.NAME VALUE" lines (sdcard/counters_text.h, the names of
// .cardfs/stat), so a run can be sampled while it goes. When the export
// exits in the foreground (-f) it prints the same lines, taken after the
// card's close, on stdout.
//
// The files and their FUSE operations: cmd_card_export_ops.cpp.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/image_claim.h"
#include "fusefs/fuse/daemon.h"
#include "fusefs/fuse/serve.h"
#include "sdcard/counters_text.h"
#include "tools/cmd_card_export.h"
#include "tools/fsck/progress.h"

namespace cardfs::tools {
namespace {

using card_export::Export;
constexpr const char* kWho = "cardfs card export";

// The FUSE side, as every cardfs daemon's (fusefs/fuse/serve.h): one
// thread, so requests reach the card one at a time, as it takes them.
// *mounted: whether DIR/card was ever up (a failed mount was reported).
int serve(Export& e, const std::string& dir, fuse::StartupReport& report, bool* mounted) {
  fuse::ServeOptions o;
  o.mountpoint = dir;
  o.kernel_options = "fsname=cardfs-card,subtype=cardfs-card";
  o.threads = 1;
  o.on_mounted = [mounted](fuse_session*) { *mounted = true; };
  return fuse::serve_fuse(o, card_export::make_ops(), &e, report).is_ok() ? 0 : 1;
}

struct ExportArgs {
  std::string image, dir, trace, record;
  bool realtime = false;
};

// After serving: the trace written, the card closed (its last programs),
// then the command log; the counters on stdout (a daemon's is /dev/null:
// DIR/stat has them meanwhile), if DIR/card was up: an export that could
// not mount has failed (reported), and counted nothing.
int finish(sdcard::Card& card, blockdev::Tracer& tracer, blockdev::CommandLog* log, const std::string& image,
           bool mounted, int rc) {
  if (Status st = tracer.stop(); !st.is_ok()) {
    std::fprintf(stderr, "%s: writing the trace: %s\n", kWho, st.message().c_str());
    rc = 1;
  }
  Status st = card.close();
  if (st.is_ok() && log) st = log->close().with_context("--record");
  if (!st.is_ok()) {
    std::fprintf(stderr, "%s: closing %s: %s\n", kWho, image.c_str(), st.message().c_str());
    return 1;
  }
  if (!mounted) return 1;
  std::fputs(sdcard::counters_text(card).c_str(), stdout);
  std::fflush(stdout);
  return rc;
}

// The serving side, in the daemon (or in this process with -f).
int export_card(const ExportArgs& a, fuse::StartupReport& report) {
  auto fail = [&](const Status& st) {
    report.fail(st);
    return 1;
  };
  RealClock clock;
  sdcard::CardOptions opts;
  opts.realtime = a.realtime;
  opts.progress = fsck::scan_progress_on_terminal(a.image);
  std::unique_ptr<blockdev::CommandLog> log;  // outlives the card
  if (!a.record.empty()) {
    auto created = blockdev::CommandLog::create(a.record);
    if (!created.is_ok()) return fail(created.status().with_context("--record"));
    log = std::move(*created);
    opts.recorder = log.get();
  }
  auto card = sdcard::Card::open(a.image, clock, opts);
  if (!card.is_ok()) return fail(card.status());
  Export e{card->get(), (*card)->sector_count() * card_export::kSector, nullptr, log.get()};
  // The mmcblk0 device number, as a mount's queue traces it.
  blockdev::Tracer tracer(clock, blockdev::blktrace::make_dev(179, 0));
  if (!a.trace.empty()) {
    if (Status st = tracer.start(a.trace); !st.is_ok()) return fail(st.with_context("--trace"));
    e.tracer = &tracer;
  }
  bool mounted = false;
  const int rc = serve(e, a.dir, report, &mounted);
  return finish(**card, tracer, log.get(), a.image, mounted, rc);
}

}  // namespace

int run_card_export(const std::string& image, const std::string& dir, bool realtime,
                    bool foreground, const std::string& trace, const std::string& record) {
  // The daemon moves to "/": it gets absolute paths. The card is opened in
  // the daemon (its threads would not survive the fork); an error there
  // still reaches this terminal through run_daemon's report.
  // Exporting writes the card: never an image a daemon serves. Taken before
  // forking, the claim is the daemon's (flock follows the open file) for as
  // long as the export runs, so no mount starts meanwhile.
  auto claim = ImageClaim::take_or_refuse(image, "not exporting it");
  if (!claim.is_ok()) {
    std::fprintf(stderr, "%s: %s\n", kWho, claim.status().message().c_str());
    return 1;
  }
  auto absolute = [](const std::string& p) {
    std::error_code ec;
    return p.empty() ? p : std::filesystem::absolute(p, ec).string();
  };
  const ExportArgs a{absolute(image), absolute(dir), absolute(trace), absolute(record), realtime};
  return fuse::run_daemon(foreground, [&](fuse::StartupReport& report) { return export_card(a, report); }, kWho);
}

}  // namespace cardfs::tools
