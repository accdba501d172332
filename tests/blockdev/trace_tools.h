// Helpers for the trace tests: running the real blkparse/btt (Debian's
// blktrace package) on what the queue wrote.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace cardfs::testing {

// Runs a shell command; returns its exit status and stdout.
inline std::pair<int, std::string> run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return {-1, out};
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  int st = ::pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

// blkparse's event lines (up to the summary), each ending in '\n'.
inline std::vector<std::string> event_lines(const std::string& blkparse_out) {
  std::vector<std::string> lines;
  std::istringstream in(blkparse_out);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("CPU", 0) == 0) break;  // the summary starts
    lines.push_back(line + "\n");
  }
  return lines;
}

}  // namespace cardfs::testing
