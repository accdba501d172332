// Binary blktrace files: cardfs's own (blockdev/tracer.h) and those
// Linux's blktrace writes on a real device, one per CPU, merged by time.
// Q and D events are kept; PC (SCSI passthrough) and notify events
// (process names, timestamps, messages) and every other action are
// skipped. Both of cardfs's flush encodings read as flushes: FNS (before
// issue 20) and the kernel 6.x one (Q FWS 0, D FN).
#include "blockdev/trace_format.h"
#include "tools/replay/trace.h"

namespace cardfs::replay {
namespace {

using namespace blockdev::blktrace;

std::string dev_name(uint32_t dev) {
  return std::to_string(dev_major(dev)) + "," + std::to_string(dev_minor(dev));
}

}  // namespace

Result<Trace> read_blktrace(const std::vector<std::pair<std::string, std::vector<std::byte>>>& files) {
  Trace trace;
  trace.format = "blktrace";
  std::optional<uint32_t> device;
  for (const auto& [name, bytes] : files) {
    Result<std::vector<Record>> records = decode_all(bytes);
    if (!records.is_ok()) return records.status().with_context(name + ": not a blktrace file");
    for (const Record& r : *records) {
      if (r.is_notify() || (r.action & category(kTcPc))) {
        ++trace.skipped;
        continue;
      }
      if (device && *device != r.device)
        return Status::error(EINVAL, name + ": events of two devices (" + dev_name(*device) + " and " +
                                         dev_name(r.device) + "): replay one device's trace");
      device = r.device;
      const Act act = r.act();
      const RwbsFlags f = flags_from_category(r.action, r.bytes);
      if ((act != kActQueue && act != kActIssue) || f.none) {
        ++trace.skipped;
        continue;
      }
      TraceEvent e;
      e.time_ns = r.time;
      e.stage = act == kActQueue ? Stage::kQueue : Stage::kDispatch;
      e.op = f.op;
      e.preflush = f.preflush;
      e.fua = f.fua;
      e.sync = f.sync;
      if (e.op != Op::kFlush) {
        e.sector = r.sector;
        e.sectors = (uint64_t(r.bytes) + 511) / 512;
      }
      trace.events.push_back(e);
    }
  }
  if (!device) return Status::error(EINVAL, files.front().first + ": no I/O events in the trace");
  trace.device = dev_name(*device);
  trace.sort_by_time();  // the per-CPU files merged; ties keep file order
  return trace;
}

}  // namespace cardfs::replay
