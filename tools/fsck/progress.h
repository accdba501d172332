// fsck's progress as e2fsck reports it (-C FD), for fsck(8), systemd-fsck
// and a person at a terminal.
//
//   -C FD, FD > 0: the completion protocol, one line per update:
//       "PASS CURRENT MAX DEVICE\n"   (e2fsck's "%d %lu %lu %s\n")
//     which fsck(8) and systemd-fsck parse; nothing else goes to FD.
//   -C 0: e2fsck's bar on stdout, "IMAGE: |=====       / 45.2%", over the
//     whole check with e2fsck's pass weights (pass 1 up to 70 %, 2 to 90,
//     3 to 92, 4 to 95, 5 to 100), redrawn only when the tenth of a
//     percent changes and at most 8 times a second, cleared before any
//     other line and at the end. Only on a terminal: piped output gets none.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace cardfs::fsck {

// e2fsck's "%d %lu %lu %s\n".
std::string progress_protocol_line(int pass, uint64_t current, uint64_t max,
                                   std::string_view device);

// Percent of the whole check done at (pass, current, max), e2fsck's table.
double overall_percent(int pass, uint64_t current, uint64_t max);

// One frame of e2fsck's bar (ending in '\r'): label, '=' for what is done,
// the spinner character (or '|' at 100 %), the percentage.
std::string progress_bar_frame(std::string_view label, double percent, char spinner);

class ProgressBar {
 public:
  // write receives the bytes for the terminal; now_ms is a clock in ms.
  ProgressBar(std::string label, std::function<void(std::string_view)> write,
              std::function<uint64_t()> now_ms);
  void update(int pass, uint64_t current, uint64_t max);
  // The same bar for one step that is not a check (a card's power-on scan).
  void show(double percent);
  // Erases the bar if it is on the screen (before a line, and at the end).
  void clear();

 private:
  std::string label_;
  std::function<void(std::string_view)> write_;
  std::function<uint64_t()> now_ms_;
  int last_tenths_ = -1;
  uint64_t last_tick_ = ~0ull;
  unsigned spin_ = 0;
  bool shown_ = false;
};

// The bar "IMAGE (power-on scan)" on stderr for sdcard::CardOptions::progress
// (`card export`, `mount`), gone at 100 %; nullptr when stderr is not a
// terminal, so nothing is written on a pipe.
std::function<void(uint64_t done, uint64_t total)> scan_progress_on_terminal(const std::string& image);

}  // namespace cardfs::fsck
