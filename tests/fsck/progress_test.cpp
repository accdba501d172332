// fsck -C: e2fsck's completion protocol and its progress bar
// (tools/fsck/progress.h).
#include "tools/fsck/progress.h"

#include <catch2/catch.hpp>

using namespace cardfs::fsck;

TEST_CASE("fsck -C FD writes e2fsck's completion lines: pass current max device") {
  CHECK(progress_protocol_line(1, 3, 24, "/tmp/card.img") == "1 3 24 /tmp/card.img\n");
  CHECK(progress_protocol_line(5, 0, 0, "img") == "5 0 0 img\n");
}

TEST_CASE("the bar's percentage weighs the passes as e2fsck's table does") {
  CHECK(overall_percent(1, 0, 10) == 0);
  CHECK(overall_percent(1, 5, 10) == Approx(35));
  CHECK(overall_percent(1, 10, 10) == Approx(70));
  CHECK(overall_percent(2, 1, 2) == Approx(80));
  CHECK(overall_percent(3, 1, 1) == Approx(92));
  CHECK(overall_percent(4, 0, 4) == Approx(92));
  CHECK(overall_percent(5, 7, 7) == Approx(100));
  CHECK(overall_percent(5, 0, 0) == Approx(100));  // nothing to do is done
  CHECK(overall_percent(2, 9, 4) == Approx(90));   // never past its pass
}

TEST_CASE("a bar frame is laid out as e2fsck_simple_progress lays it out") {
  // 66 columns less the label, in eights: 56 for "img"; 50 % is 28 of them.
  CHECK(progress_bar_frame("img", 50, '/') ==
        "img: |" + std::string(28, '=') + std::string(28, ' ') + "/ 50.0%   \r");
  CHECK(progress_bar_frame("img", 100, '|') == "img: |" + std::string(56, '=') + "| 100.0%   \r");
  const std::string long_name(100, 'x');  // at least 8 columns of bar
  CHECK(progress_bar_frame(long_name, 0, '-') == long_name + ": |" + std::string(8, ' ') + "-  0.0%   \r");
}

TEST_CASE("the bar redraws on a new tenth of a percent at most 8 times a second, and clears") {
  std::string screen;
  uint64_t now = 0;
  ProgressBar bar("img", [&](std::string_view s) { screen += s; }, [&] { return now; });
  bar.update(1, 0, 100);
  CHECK(screen.find("  0.0%") != std::string::npos);
  screen.clear();
  now += 10;
  bar.update(1, 1, 100);  // 0.7 %, but within the same 1/8 s
  CHECK(screen.empty());
  now += 200;
  bar.update(1, 1, 100);
  CHECK(screen.find("  0.7%") != std::string::npos);
  screen.clear();
  now += 200;
  bar.update(1, 1, 100);  // the same tenth: nothing
  CHECK(screen.empty());
  bar.clear();  // a line is about to be printed
  CHECK(screen == std::string(80, ' ') + "\r");
  screen.clear();
  bar.clear();  // nothing on the screen: nothing to erase
  CHECK(screen.empty());
  bar.update(5, 3, 3);  // the end: drawn full, then erased
  CHECK(screen == progress_bar_frame("img", 100, '|') + std::string(80, ' ') + "\r");
}
