// check_filesystem(): the passes in order, the summary and the exit code.
#include <cstdio>

#include "tools/fsck/checker.h"

namespace cardfs::fsck {

using namespace fusefs;

namespace {

std::string summary_line(const std::string& name, const FsckStats& s, bool clean) {
  char buf[256];
  double noncontig = s.regular ? 100.0 * double(s.noncontiguous) / double(s.regular) : 0.0;
  if (clean)
    std::snprintf(buf, sizeof buf, "%s: clean, %llu/%llu files, %llu/%llu blocks", name.c_str(),
                  (unsigned long long)s.inodes_used, (unsigned long long)s.inodes_total,
                  (unsigned long long)s.blocks_used, (unsigned long long)s.blocks_total);
  else
    std::snprintf(buf, sizeof buf, "%s: %llu/%llu files (%.1f%% non-contiguous), %llu/%llu blocks",
                  name.c_str(), (unsigned long long)s.inodes_used, (unsigned long long)s.inodes_total,
                  noncontig, (unsigned long long)s.blocks_used, (unsigned long long)s.blocks_total);
  return buf;
}

}  // namespace

Result<FsckReport> Checker::run() {
  CARDFS_RETURN_IF_ERROR(replay_journal());
  CARDFS_RETURN_IF_ERROR(check_super());
  CARDFS_RETURN_IF_ERROR(check_journal());
  CARDFS_RETURN_IF_ERROR(release_orphans());
  auto& st = report().stats;
  st.inodes_total = sb_.inodes_count;
  st.blocks_total = sb_.blocks_count;
  const bool marked_clean = (sb_.state & kStateClean) && !(sb_.state & kStateErrors);
  if (!o_.force && marked_clean && report().findings.empty() && pending_orphans_.empty()) {
    st.inodes_used = sb_.inodes_count - sb_.free_inodes;
    st.blocks_used = sb_.blocks_count - sb_.free_blocks;
    report().skipped = true;
    report().summary = summary_line(o_.name, st, true);
    say(report().summary);
    return report();
  }
  using PassFn = Status (Checker::*)();
  for (PassFn pass : {&Checker::pass1, &Checker::pass2, &Checker::pass3, &Checker::report_unreadable,
                      &Checker::pass4, &Checker::pass5}) {
    if (cancelled()) break;
    CARDFS_RETURN_IF_ERROR((this->*pass)());
  }
  const bool any_fixed = report().modified || gdt_dirty_ || rewrite_super_;
  if (o_.mode != Mode::kNo && !cancelled() && (any_fixed || !marked_clean)) {
    CARDFS_RETURN_IF_ERROR(write_superblocks());
    CARDFS_RETURN_IF_ERROR(io_.flush());
  }
  report().cancelled = cancelled();
  bool left = false, fixed = false;
  for (const Finding& f : report().findings) (f.fixed ? fixed : left) = true;
  // As e2fsck: anything written (a fix, or marking the filesystem clean)
  // is exit bit 1 and "FILE SYSTEM WAS MODIFIED" (not printed when preening).
  report().exit_code = (left ? kExitUncorrected : 0) | (fixed || report().modified ? kExitCorrected : 0) |
                      (cancelled() ? kExitCancelled : 0);
  if (report().modified && o_.mode != Mode::kPreen) say("\n***** FILE SYSTEM WAS MODIFIED *****");
  if (o_.verbose) {
    say("\n" + std::to_string(st.inodes_used) + " inodes used (of " + std::to_string(st.inodes_total) + ")");
    say(std::to_string(st.noncontiguous) + " non-contiguous files");
    say(std::to_string(st.blocks_used) + " blocks used (of " + std::to_string(st.blocks_total) + ")");
    say(std::to_string(st.regular) + " regular files\n" + std::to_string(st.directories) +
        " directories\n" + std::to_string(st.symlinks) + " symbolic links\n" +
        std::to_string(st.specials) + " device files, fifos and sockets");
  }
  report().summary = summary_line(o_.name, st, false);
  say(report().summary);
  return report();
}

Result<FsckReport> check_filesystem(ImageIo& io, const FsckOptions& opts) {
  Checker checker(io, opts);
  return checker.run();
}

}  // namespace cardfs::fsck
