// Findings: how fsck reports a problem and decides whether to fix it
// (-n, -y, -p, interactive), as e2fsck's fix_problem(); it keeps the
// report the run returns. Not thread-safe.
#pragma once

#include <string>

#include "tools/fsck/fsck.h"
#include "tools/fsck/problem.h"

namespace cardfs::fsck {

class Findings {
 public:
  explicit Findings(const FsckOptions& o) : o_(o) {}

  // Records the finding; true when it should be fixed now (never under
  // -n; under -p only a preen problem, until one that is not stops it).
  bool ask(Problem p, const std::string& message);
  // A finding fsck reports but never fixes (counted as left uncorrected).
  void report_only(Problem p, const std::string& message);
  void say(const std::string& line);
  // A pass's title (not printed when preening, as e2fsck).
  void header(const std::string& title) {
    if (o_.mode != Mode::kPreen) say(title);
  }
  // The user answered no more questions (interactive end of input).
  bool cancelled() const { return cancelled_; }
  FsckReport& report() { return report_; }
  const FsckReport& report() const { return report_; }

 private:
  // Preening met a problem it may not fix: said once, nothing fixed after.
  void stop_preening(const std::string& message);

  const FsckOptions& o_;
  FsckReport report_;
  bool cancelled_ = false;
  bool preen_stopped_ = false;
};

}  // namespace cardfs::fsck
