#include "tools/fsck/findings.h"

namespace cardfs::fsck {

void Findings::say(const std::string& line) {
  if (o_.out) o_.out(line);
}

void Findings::stop_preening(const std::string& message) {
  preen_stopped_ = true;
  say(o_.name + ": " + message);
  say(o_.name + ": UNEXPECTED INCONSISTENCY; RUN fsck MANUALLY.\n\t(i.e., without -a or -p options)");
}

void Findings::report_only(Problem p, const std::string& message) {
  if (o_.mode == Mode::kPreen && !preen_stopped_) {
    stop_preening(message);
  } else if (o_.mode != Mode::kPreen) {
    say(message);
  }
  report_.findings.push_back({p, message, false});
}

bool Findings::ask(Problem p, const std::string& message) {
  const ProblemInfo& info = problem_info(p);
  bool fix = false;
  switch (o_.mode) {
    case Mode::kNo: break;
    case Mode::kYes: fix = true; break;
    case Mode::kPreen:
      fix = info.preen && !preen_stopped_;
      if (!info.preen && !preen_stopped_) stop_preening(message);
      break;
    case Mode::kAsk:
      if (!cancelled_ && o_.ask) {
        auto answer = o_.ask(message + "  " + info.fix + "<y>? ");
        if (!answer) cancelled_ = true;
        fix = answer.value_or(false);
      }
      break;
  }
  if (o_.mode == Mode::kPreen) {
    if (fix) say(o_.name + ": " + message + " FIXED.");
  } else if (o_.mode != Mode::kAsk) {
    say(message + "  " + info.fix + "? " + (fix ? "yes" : "no"));
  }
  report_.findings.push_back({p, message, fix});
  return fix;
}

}  // namespace cardfs::fsck
