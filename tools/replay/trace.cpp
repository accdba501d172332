// What all trace readers share: RWBS and category decoding, format
// detection, reading files.
#include "tools/replay/trace.h"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "blockdev/trace_format.h"

namespace cardfs::replay {

uint64_t Trace::end_sector() const {
  uint64_t end = 0;
  for (const TraceEvent& e : events) end = std::max(end, e.sector + e.sectors);
  return end;
}

uint64_t Trace::count(Stage s) const {
  return uint64_t(std::count_if(events.begin(), events.end(), [s](const TraceEvent& e) { return e.stage == s; }));
}

void Trace::sort_by_time() {
  std::stable_sort(events.begin(), events.end(),
                   [](const TraceEvent& a, const TraceEvent& b) { return a.time_ns < b.time_ns; });
  const uint64_t first = events.empty() ? 0 : events.front().time_ns;
  for (TraceEvent& e : events) e.time_ns -= first;
}

std::optional<RwbsFlags> parse_rwbs(std::string_view s, uint64_t sectors) {
  RwbsFlags f;
  size_t i = 0;
  bool flush = false;
  if (i < s.size() && s[i] == 'F') flush = true, ++i;
  if (i == s.size()) return std::nullopt;
  switch (s[i++]) {
    case 'D': f.op = Op::kDiscard; break;
    case 'W': f.op = Op::kWrite; break;
    case 'R': f.op = Op::kRead; break;
    case 'N': f.none = true; break;
    default: return std::nullopt;
  }
  for (; i < s.size(); ++i) {
    switch (s[i]) {
      case 'F': f.fua = true; break;
      case 'S': f.sync = true; break;
      case 'A': case 'M': case 'E': break;  // readahead, metadata, secure erase
      default: return std::nullopt;
    }
  }
  // A flush with no data is a flush command of its own ("FN", "FWS 0");
  // a flush bit on a write with data is a preflush.
  if (flush && sectors == 0) f.op = Op::kFlush, f.none = false;
  else if (flush && f.op == Op::kWrite) f.preflush = true;
  return f;
}

RwbsFlags flags_from_category(uint32_t action, uint64_t bytes) {
  using namespace blockdev::blktrace;
  auto has = [action](uint32_t c) { return (action & category(c)) != 0; };
  RwbsFlags f;
  f.sync = has(kTcSync);
  f.fua = has(kTcFua);
  if (has(kTcDiscard)) f.op = Op::kDiscard;
  else if (has(kTcWrite)) f.op = Op::kWrite;
  else if (bytes > 0) f.op = Op::kRead;
  else f.none = true;
  if (has(kTcFlush) && bytes == 0) f.op = Op::kFlush, f.none = false;
  else if (has(kTcFlush) && f.op == Op::kWrite) f.preflush = true;
  return f;
}

namespace {

bool is_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<std::string> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::error(ENOENT, path + ": cannot open");
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Status::error(EIO, path + ": read error");
  return data;
}

// A base NAME stands for NAME.blktrace.0, .1 ... as blkparse -i reads it.
std::vector<std::string> expand(const std::string& input) {
  if (is_file(input)) return {input};
  std::vector<std::string> out;
  for (int cpu = 0; cpu < 4096 && is_file(input + ".blktrace." + std::to_string(cpu)); ++cpu)
    out.push_back(input + ".blktrace." + std::to_string(cpu));
  return out;
}

bool looks_binary(std::string_view data) {
  if (data.size() < 4) return false;
  const uint32_t le = uint32_t(uint8_t(data[0])) | uint32_t(uint8_t(data[1])) << 8 |
                      uint32_t(uint8_t(data[2])) << 16 | uint32_t(uint8_t(data[3])) << 24;
  return (le & 0xffffff00) == blockdev::blktrace::kMagic ||
         (__builtin_bswap32(le) & 0xffffff00) == blockdev::blktrace::kMagic;
}

// The text format of a file from its first lines.
std::string detect_text(std::string_view text) {
  if (text.starts_with("fio version ")) return "fio";
  if (text.starts_with("# tracer:") || text.find("tracer: blk") != std::string_view::npos) return "ftrace";
  return "blkparse";
}

}  // namespace

Result<Trace> read_trace(const std::vector<std::string>& inputs, const std::string& format) {
  if (inputs.empty()) return Status::error(EINVAL, "no trace given");
  std::vector<std::pair<std::string, std::vector<std::byte>>> binary;
  std::vector<std::pair<std::string, std::string>> texts;
  for (const std::string& input : inputs) {
    const std::vector<std::string> files = expand(input);
    if (files.empty()) return Status::error(ENOENT, input + ": no such trace (nor " + input + ".blktrace.0)");
    for (const std::string& f : files) {
      CARDFS_ASSIGN_OR_RETURN(std::string data, slurp(f));
      if (data.empty()) continue;  // a CPU that saw no events (blktrace writes its file anyway)
      const bool bin = format == "blktrace" || (format == "auto" && looks_binary(data));
      if (bin) {
        const auto* p = reinterpret_cast<const std::byte*>(data.data());
        binary.emplace_back(f, std::vector<std::byte>(p, p + data.size()));
      } else {
        texts.emplace_back(f, std::move(data));
      }
    }
  }
  if (binary.empty() && texts.empty()) return Status::error(EINVAL, inputs.front() + ": empty trace");
  if (!binary.empty() && !texts.empty())
    return Status::error(EINVAL, texts[0].first + ": text among binary blktrace files (give one kind at a time)");
  if (!binary.empty()) return read_blktrace(binary);
  if (texts.size() > 1) return Status::error(EINVAL, "several text traces: give one text trace at a time");
  const auto& [name, text] = texts[0];
  const std::string kind = format == "auto" ? detect_text(text) : format;
  if (kind == "blkparse") return read_blkparse(name, text);
  if (kind == "ftrace") return read_ftrace(name, text);
  if (kind == "fio") return read_fio_iolog(name, text);
  return Status::error(EINVAL, "unknown trace format '" + format + "' (blktrace, blkparse, ftrace, fio)");
}

}  // namespace cardfs::replay
