#include "tests/fusefs/falloc_script.h"

#include <linux/falloc.h>

#include <cstring>
#include <sstream>

#include "base/crc32c.h"

namespace cardfs::testing {
namespace {

constexpr std::pair<const char*, int> kModes[] = {
    {"alloc", 0},
    {"keep", FALLOC_FL_KEEP_SIZE},
    {"punch", FALLOC_FL_PUNCH_HOLE},
    {"zero", FALLOC_FL_ZERO_RANGE},
    {"collapse", FALLOC_FL_COLLAPSE_RANGE},
    {"insert", FALLOC_FL_INSERT_RANGE},
};

bool parse_mode(const std::string& text, int& mode) {
  mode = 0;
  std::stringstream parts(text);
  std::string part;
  while (std::getline(parts, part, '|')) {
    bool known = false;
    for (auto [name, bit] : kModes) {
      if (part == name) {
        mode |= bit;
        known = true;
      }
    }
    if (!known) {
      char* end = nullptr;
      long v = std::strtol(part.c_str(), &end, 0);
      if (part.empty() || *end) return false;
      mode |= int(v);
    }
  }
  return true;
}

std::string errno_name(int e) {
  switch (e) {
    case 0: return "OK";
    case EINVAL: return "EINVAL";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EFBIG: return "EFBIG";
    case ENOSPC: return "ENOSPC";
    default: return "errno " + std::to_string(e);
  }
}

// "0-3,9-12": the runs of allocated blocks.
std::string runs_of(const std::vector<bool>& a) {
  std::string out;
  for (uint64_t i = 0; i < a.size();) {
    if (!a[i]) {
      ++i;
      continue;
    }
    uint64_t j = i;
    while (j + 1 < a.size() && a[j + 1]) ++j;
    out += (out.empty() ? "" : ",") + std::to_string(i) + (j > i ? "-" + std::to_string(j) : "");
    i = j + 1;
  }
  return out.empty() ? "none" : out;
}

std::string state_of(FileUnderTest& f) {
  const uint64_t size = f.size();
  std::vector<bool> a = f.allocated(kScriptMaxBlocks);
  uint64_t count = 0;
  for (bool b : a) count += b;
  std::vector<std::byte> bytes = f.read(0, size);
  char sum[16];
  std::snprintf(sum, sizeof sum, "%08x", crc32c(bytes));
  return "  size=" + std::to_string(size) + " blocks=" + std::to_string(count) + " at " +
         runs_of(a) + " crc=" + sum + (bytes.size() == size ? "" : " SHORT READ") + "\n";
}

// Bytes that name their write and position, so a shifted or lost block shows.
std::vector<std::byte> pattern(uint64_t offset, uint64_t length, int seq) {
  std::vector<std::byte> out(length);
  for (uint64_t i = 0; i < length; ++i)
    out[i] = std::byte('A' + ((offset + i) / 512 * 7 + uint64_t(seq) * 3) % 26);
  return out;
}

}  // namespace

std::string run_falloc_script(std::istream& script, FileUnderTest& f, uint32_t bs) {
  std::string out = "block size " + std::to_string(bs) + "\n", line;
  int seq = 0, number = 0;
  while (std::getline(script, line)) {
    ++number;
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream in(line);
    std::string op, mode_text;
    uint64_t a = 0, b = 0;
    if (!(in >> op)) continue;
    int rc;
    if (op == "write" && in >> a >> b) {
      rc = f.write(a, pattern(a, b, ++seq));
      out += "write " + std::to_string(a) + " " + std::to_string(b);
    } else if (op == "truncate" && in >> a) {
      rc = f.truncate(a);
      out += "truncate " + std::to_string(a);
    } else if (op == "falloc" && in >> mode_text >> a >> b) {
      int mode;
      if (!parse_mode(mode_text, mode)) return "error: line " + std::to_string(number) + ": mode";
      rc = f.fallocate(mode, a, b);
      out += "falloc " + mode_text + " " + std::to_string(a) + " " + std::to_string(b);
    } else {
      return "error: line " + std::to_string(number) + ": " + line;
    }
    out += " -> " + errno_name(rc) + "\n" + state_of(f);
  }
  return out;
}

}  // namespace cardfs::testing
