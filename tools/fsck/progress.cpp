#include "tools/fsck/progress.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>

namespace cardfs::fsck {
namespace {

// e2fsck's e2fsck_tbl: where each pass starts and ends, in percent.
constexpr double kPassEnd[] = {0, 70, 90, 92, 95, 100};
constexpr char kSpinner[] = "\\|/-";
constexpr size_t kClearWidth = 80;

}  // namespace

std::string progress_protocol_line(int pass, uint64_t current, uint64_t max, std::string_view device) {
  return std::to_string(pass) + " " + std::to_string(current) + " " + std::to_string(max) + " " +
         std::string(device) + "\n";
}

double overall_percent(int pass, uint64_t current, uint64_t max) {
  if (pass < 1) return 0;
  if (pass > 5) return 100;
  const double start = kPassEnd[pass - 1], span = kPassEnd[pass] - start;
  const double part = max ? double(std::min(current, max)) / double(max) : 1.0;
  return start + span * part;
}

std::string progress_bar_frame(std::string_view label, double percent, char spinner) {
  // e2fsck_simple_progress: the bar is 66 columns less the label, in
  // multiples of 8 (at least 8 here, for a long image path).
  const int width = std::max(8, (66 - int(label.size())) / 8 * 8);
  const int done = std::clamp(int((percent * width + 50) / 100), 0, width);
  char pct[16];
  std::snprintf(pct, sizeof pct, " %4.1f%%  ", percent);
  return std::string(label) + ": |" + std::string(size_t(done), '=') +
         std::string(size_t(width - done), ' ') + spinner + pct + " \r";
}

ProgressBar::ProgressBar(std::string label, std::function<void(std::string_view)> write,
                         std::function<uint64_t()> now_ms)
    : label_(std::move(label)), write_(std::move(write)), now_ms_(std::move(now_ms)) {}

void ProgressBar::update(int pass, uint64_t current, uint64_t max) {
  show(overall_percent(pass, current, max));
}

void ProgressBar::show(double percent) {
  const int tenths = int(percent * 10 + 0.5);
  if (tenths == last_tenths_) return;
  // At most one frame per 1/8 s, except the first and the last.
  const uint64_t tick = now_ms_() / 125;
  if (tick == last_tick_ && tenths != 0 && tenths != 1000) return;
  last_tenths_ = tenths;
  last_tick_ = tick;
  spin_ = (spin_ + 1) & 3;
  write_(progress_bar_frame(label_, percent, tenths == 1000 ? '|' : kSpinner[spin_]));
  shown_ = true;
  if (tenths == 1000) clear();
}

void ProgressBar::clear() {
  if (!shown_) return;
  write_(std::string(kClearWidth, ' ') + "\r");
  shown_ = false;
  last_tenths_ = -1;  // drawn again at the next update
}

std::function<void(uint64_t, uint64_t)> scan_progress_on_terminal(const std::string& image) {
  if (!::isatty(STDERR_FILENO)) return nullptr;
  auto write = [](std::string_view bytes) {
    std::fwrite(bytes.data(), 1, bytes.size(), stderr);
    std::fflush(stderr);
  };
  auto now_ms = [] {
    return uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now().time_since_epoch()).count());
  };
  auto bar = std::make_shared<ProgressBar>(image + " (power-on scan)", write, now_ms);
  return [bar](uint64_t done, uint64_t total) { bar->show(total ? 100.0 * double(done) / double(total) : 100.0); };
}

}  // namespace cardfs::fsck
