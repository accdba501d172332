#include "blockdev/trace_reader.h"

#include <sys/stat.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

namespace cardfs::blockdev {

using namespace blktrace;

namespace {

// Time, then CPU and sequence (the tracer makes times unique, so ties are
// foreign traces, or a command log's notes at their command's time).
bool by_time(const Record& a, const Record& b) {
  if (a.time != b.time) return a.time < b.time;
  if (a.cpu != b.cpu) return a.cpu < b.cpu;
  return a.sequence < b.sequence;
}

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string printf_string(const char* fmt, auto... args) {
  char buf[512];
  std::snprintf(buf, sizeof(buf), fmt, args...);
  return buf;
}

// blkparse's size_cnv: counts above a million step up a unit.
std::string size_cnv(uint64_t num, bool in_kb) {
  static constexpr char kSuffix[] = {'\0', 'K', 'M', 'G', 'P'};
  unsigned i = in_kb ? 1 : 0;
  while (num > 1000ull * 1000 && i < sizeof(kSuffix) - 1) {
    ++i;
    num /= 1000;
  }
  std::string s = printf_string("%8" PRIu64, num);
  if (kSuffix[i]) s += kSuffix[i];
  return s;
}

void account(TraceStats& s, const Record& r) {
  const int w = r.is_write() ? 1 : 0;
  const uint64_t kb = r.bytes >> 10, b = r.bytes & 1023;
  switch (r.act()) {
    case kActQueue: s.queued[w]++; s.queued_kb[w] += kb; s.queued_b[w] += b; break;
    case kActBackMerge:
    case kActFrontMerge: s.merged[w]++; s.merged_kb[w] += kb; s.merged_b[w] += b; break;
    case kActRequeue: s.requeued[w]++; break;
    case kActIssue: s.dispatched[w]++; s.dispatched_kb[w] += kb; s.dispatched_b[w] += b; break;
    case kActComplete: s.completed[w]++; s.completed_kb[w] += kb; s.completed_b[w] += b; break;
    case kActUnplugIo: s.io_unplugs++; break;
    case kActUnplugTimer: s.timer_unplugs++; break;
    default: break;
  }
  s.events++;
}

std::string stats_block(const std::string& title, const TraceStats& s, const uint32_t* depth) {
  std::string o = title + "\n";
  auto pair = [](uint64_t n, uint64_t kb, uint64_t b) {
    return size_cnv(n, false) + ", " + size_cnv(kb + (b >> 10), true) + "iB";
  };
  o += " Reads Queued:    " + pair(s.queued[0], s.queued_kb[0], s.queued_b[0]) + "\t";
  o += " Writes Queued:    " + pair(s.queued[1], s.queued_kb[1], s.queued_b[1]) + "\n";
  o += " Read Dispatches: " + pair(s.dispatched[0], s.dispatched_kb[0], s.dispatched_b[0]) + "\t";
  o += " Write Dispatches: " + pair(s.dispatched[1], s.dispatched_kb[1], s.dispatched_b[1]) + "\n";
  o += " Reads Requeued:  " + size_cnv(s.requeued[0], false) + "\t\t";
  o += " Writes Requeued:  " + size_cnv(s.requeued[1], false) + "\n";
  o += " Reads Completed: " + pair(s.completed[0], s.completed_kb[0], s.completed_b[0]) + "\t";
  o += " Writes Completed: " + pair(s.completed[1], s.completed_kb[1], s.completed_b[1]) + "\n";
  o += " Read Merges:     " + pair(s.merged[0], s.merged_kb[0], s.merged_b[0]) + "\t";
  o += " Write Merges:     " + pair(s.merged[1], s.merged_kb[1], s.merged_b[1]) + "\n";
  if (depth) {
    o += printf_string(" Read depth:      %8u%8c\t", depth[0], ' ');
    o += printf_string(" Write depth:      %8u\n", depth[1]);
  }
  o += printf_string(" IO unplugs:      %8" PRIu64 "%8c\t", s.io_unplugs, ' ');
  o += printf_string(" Timer unplugs:    %8" PRIu64 "\n", s.timer_unplugs);
  return o;
}

}  // namespace

void TraceStats::add(const TraceStats& o) {
  for (int d = 0; d < 2; ++d) {
    queued[d] += o.queued[d], queued_kb[d] += o.queued_kb[d], queued_b[d] += o.queued_b[d];
    dispatched[d] += o.dispatched[d], dispatched_kb[d] += o.dispatched_kb[d];
    dispatched_b[d] += o.dispatched_b[d];
    completed[d] += o.completed[d], completed_kb[d] += o.completed_kb[d], completed_b[d] += o.completed_b[d];
    merged[d] += o.merged[d], merged_kb[d] += o.merged_kb[d], merged_b[d] += o.merged_b[d];
    requeued[d] += o.requeued[d];
  }
  io_unplugs += o.io_unplugs;
  timer_unplugs += o.timer_unplugs;
  events += o.events;
}

Status TraceReader::load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::error(errno ? errno : ENOENT, "opening " + path);
  std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto recs = decode_all(std::span(reinterpret_cast<const std::byte*>(raw.data()), raw.size()));
  if (!recs) return recs.status().with_context(path);
  for (auto& r : *recs) {
    if (r.is_notify()) {
      if ((r.action & 0xffff) == kNotifyProcess) {
        std::string name(reinterpret_cast<const char*>(r.pdu.data()), r.pdu.size());
        name.resize(strnlen(name.c_str(), name.size()));
        names_.emplace(r.pid, name);
      } else if ((r.action & 0xffff) == kNotifyMessage) {
        messages_.push_back(std::move(r));
      }
      continue;
    }
    if (r.action == kDriverData) {  // a command log's data (command_log.h)
      r.pdu.clear();
      unprinted_.push_back(std::move(r));
      continue;
    }
    events_.push_back(std::move(r));
  }
  return Status::ok();
}

Status TraceReader::load(const std::vector<std::string>& inputs) {
  for (const auto& in : inputs) {
    if (exists(in)) {
      CARDFS_RETURN_IF_ERROR(load_file(in));
      continue;
    }
    // A base name: NAME.blktrace.0, .1, ... as blkparse -i NAME reads them.
    int n = 0;
    for (; exists(in + ".blktrace." + std::to_string(n)); ++n)
      CARDFS_RETURN_IF_ERROR(load_file(in + ".blktrace." + std::to_string(n)));
    if (n == 0) return Status::error(ENOENT, "no trace file " + in + " or " + in + ".blktrace.0");
  }
  // Times ascend within a CPU's file; order all by time.
  std::stable_sort(events_.begin(), events_.end(), by_time);
  std::stable_sort(messages_.begin(), messages_.end(), by_time);
  // Times relative to the first record printed (a note before any event too).
  if (!events_.empty() || !messages_.empty()) {
    uint64_t genesis = UINT64_MAX;
    if (!events_.empty()) genesis = events_.front().time;
    if (!messages_.empty()) genesis = std::min(genesis, messages_.front().time);
    for (auto& r : events_) r.time -= genesis;
    for (auto& r : messages_) r.time -= genesis;
  }
  return Status::ok();
}

const std::string& TraceReader::process_name(uint32_t pid) const {
  static const std::string kNull = "(null)";  // what blkparse prints for an unknown pid
  auto it = names_.find(pid);
  return it == names_.end() ? kNull : it->second;
}

std::string TraceReader::format_event(const Record& r) const {
  if (r.is_notify()) {  // a message note, as blkparse prints one: sequence and pid 0, action "m", RWBS "N"
    const std::string text(reinterpret_cast<const char*>(r.pdu.data()), r.pdu.size());
    return printf_string("%3d,%-3d %2d %8s %5d.%09lu %5u %2s %3s %s\n", dev_major(r.device), dev_minor(r.device),
                         r.cpu, "0", int(r.time / 1000000000), (unsigned long)(r.time % 1000000000), 0u, "m", "N",
                         text.c_str());
  }
  const char* act = act_name(r.act());
  std::string o = printf_string("%3d,%-3d %2d %8d %5d.%09lu %5u %2s %3s ", dev_major(r.device),
                                dev_minor(r.device), r.cpu, r.sequence, int(r.time / 1000000000),
                                (unsigned long)(r.time % 1000000000), r.pid, act,
                                rwbs(r.action, r.bytes).c_str());
  const std::string& name = process_name(r.pid);
  const unsigned sectors = r.bytes >> 9;
  switch (r.act()) {
    case kActComplete:
    case kActRequeue:
      if (sectors == 0) return o + printf_string("%" PRIu64 " [%d]\n", r.sector, int(r.error));
      return o + printf_string("%" PRIu64 " + %u [%d]\n", r.sector, sectors, int(r.error));
    case kActIssue:
    case kActInsert:
    case kActQueue:
    case kActBackMerge:
    case kActFrontMerge:
    case kActGetRq:
    case kActSleepRq:
      if (sectors == 0) return o + "[" + name + "]\n";
      return o + printf_string("%" PRIu64 " + %u [%s]\n", r.sector, sectors, name.c_str());
    case kActPlug:
      return o + "[" + name + "]\n";
    case kActUnplugIo:
    case kActUnplugTimer:
      return o + printf_string("[%s] %u\n", name.c_str(), unsigned(r.pdu_u64()));
    case kActSplit:
      return o + printf_string("%" PRIu64 " / %u [%s]\n", r.sector, unsigned(r.pdu_u64()), name.c_str());
    default:
      return o + "\n";
  }
}

TraceStats TraceReader::totals() const {
  TraceStats s;
  for (const auto& r : events_) account(s, r);
  return s;
}

std::string TraceReader::summary(const std::string& dev_name) const {
  std::map<uint32_t, TraceStats> per_cpu;
  uint32_t depth[2] = {0, 0}, max_depth[2] = {0, 0};
  for (const auto& r : events_) {
    account(per_cpu[r.cpu], r);
    const int w = r.is_write() ? 1 : 0;
    if (r.act() == kActIssue) max_depth[w] = std::max(max_depth[w], ++depth[w]);
    if ((r.act() == kActComplete || r.act() == kActRequeue) && depth[w] > 0) --depth[w];
  }
  std::string o;
  TraceStats total;
  for (const auto& [cpu, s] : per_cpu) {
    o += stats_block("CPU" + std::to_string(cpu) + " (" + dev_name + "):", s, max_depth);
    total.add(s);
  }
  if (per_cpu.size() > 1) o += "\n" + stats_block("Total (" + dev_name + "):", total, nullptr);
  uint64_t rrate = 0, wrate = 0;
  const uint64_t msec = events_.empty() ? 0 : (events_.back().time - events_.front().time) / 1000000;
  if (msec) {
    rrate = (1000 * total.completed_kb[0] + total.completed_b[0]) / msec;
    wrate = (1000 * total.completed_kb[1] + total.completed_b[1]) / msec;
  }
  o += printf_string("\nThroughput (R/W): %" PRIu64 "KiB/s / %" PRIu64 "KiB/s\n", rrate, wrate);
  // blkparse counts the message notes and a command log's data records
  // too (not process notes), and they take sequence numbers.
  const uint64_t entries = total.events + messages_.size() + unprinted_.size();
  o += printf_string("Events (%s): %" PRIu64 " entries\n", dev_name.c_str(), entries);
  // Gaps in a CPU's sequence numbers are events the tracer lost.
  std::map<uint32_t, std::vector<uint32_t>> seqs;
  for (const auto* v : {&events_, &messages_, &unprinted_})
    for (const auto& r : *v) seqs[r.cpu].push_back(r.sequence);
  uint64_t skips = 0, seq_skips = 0;
  for (auto& [cpu, v] : seqs) {
    std::sort(v.begin(), v.end());
    for (size_t i = 1; i < v.size(); ++i) {
      if (v[i] > v[i - 1] + 1) {
        ++skips;
        seq_skips += v[i] - v[i - 1] - 1;
      }
    }
  }
  const double ratio = entries + seq_skips == 0 ? 0.0 : 100.0 * double(seq_skips) / double(entries + seq_skips);
  o += printf_string("Skips: %" PRIu64 " forward (%" PRIu64 " - %5.1lf%%)\n", skips, seq_skips, ratio);
  if (!unprinted_.empty())  // blkparse's own words for a command log's data
    o += "\ndiscarded traces containing low-level device driver specific data (only available in binary output)\n";
  return o;
}

std::string TraceReader::render(const std::vector<std::string>& actions, bool with_summary,
                                const std::string& dev_name) const {
  std::string out;
  // The message notes between the events, by time; an action filter
  // leaves them out, as `grep " C "` on blkparse's output does.
  auto note = messages_.begin();
  for (const auto& r : events_) {
    for (; actions.empty() && note != messages_.end() && by_time(*note, r); ++note) out += format_event(*note);
    const char* act = act_name(r.act());
    if (actions.empty() || std::find(actions.begin(), actions.end(), act) != actions.end())
      out += format_event(r);
  }
  for (; actions.empty() && note != messages_.end(); ++note) out += format_event(*note);
  if (with_summary) out += summary(dev_name);
  return out;
}

std::string TraceReader::device_name(const std::string& input) {
  std::string name = input.substr(input.find_last_of('/') + 1);
  const size_t at = name.rfind(".blktrace.");
  if (at != std::string::npos) name.resize(at);
  return name;
}

}  // namespace cardfs::blockdev
