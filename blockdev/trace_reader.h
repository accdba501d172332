// TraceReader: reads blktrace files and prints them as blkparse does.
//
// load() takes trace files (NAME.blktrace.N) or a base NAME, whose
// per-CPU files are read as blkparse -i NAME reads them. Events are
// ordered by time; format_event() gives blkparse's default line for one,
// summary() blkparse's per-CPU and total statistics, throughput and event
// count for the device. Not thread-safe; one reader per thread.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "blockdev/trace_format.h"

namespace cardfs::blockdev {

// Sizes are kept as blkparse 1.2.0 keeps them: whole KiB of each event
// (bytes >> 10) plus the sum of the remainders (bytes & 1023), shown as
// kb + (b >> 10); its throughput adds the remainders' bytes to 1000 × KiB
// (so a 1.5 KiB write counts 1000 + 512 "KiB/s" over a millisecond).
struct TraceStats {
  uint64_t queued[2] = {}, queued_kb[2] = {}, queued_b[2] = {};
  uint64_t dispatched[2] = {}, dispatched_kb[2] = {}, dispatched_b[2] = {};
  uint64_t completed[2] = {}, completed_kb[2] = {}, completed_b[2] = {};
  uint64_t merged[2] = {}, merged_kb[2] = {}, merged_b[2] = {};
  uint64_t requeued[2] = {};
  uint64_t io_unplugs = 0, timer_unplugs = 0;
  uint64_t events = 0;
  void add(const TraceStats& o);
};

class TraceReader {
 public:
  Status load(const std::vector<std::string>& inputs);

  // Trace events (notes excluded), by time, times relative to the first.
  const std::vector<blktrace::Record>& events() const { return events_; }
  // Message notes (blk_add_trace_msg's; `.cardfs/mark`), the same way.
  const std::vector<blktrace::Record>& messages() const { return messages_; }
  // blkparse's line for an event, or for a message note ("m   N TEXT").
  std::string format_event(const blktrace::Record& r) const;
  // What blkparse prints after the events, for the device name `dev_name`.
  std::string summary(const std::string& dev_name) const;
  // Totals over all CPUs.
  TraceStats totals() const;
  // What `cardfs trace` prints: the events whose action is in `actions`
  // ("Q", "M", "UT" ...; empty = all), then, if asked, the summary of all
  // events.
  std::string render(const std::vector<std::string>& actions, bool with_summary,
                     const std::string& dev_name) const;
  // The device name blkparse would show for an input: the base name
  // without directory and ".blktrace.N".
  static std::string device_name(const std::string& input);

 private:
  Status load_file(const std::string& path);
  const std::string& process_name(uint32_t pid) const;

  std::vector<blktrace::Record> events_;
  std::vector<blktrace::Record> messages_;
  // The other records blkparse counts (and whose sequence numbers it
  // checks for gaps) without printing them: a command log's data.
  std::vector<blktrace::Record> unprinted_;
  std::map<uint32_t, std::string> names_;  // pid → comm, first note wins
};

}  // namespace cardfs::blockdev
