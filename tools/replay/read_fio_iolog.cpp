// fio's iolog (write_iolog=FILE, read_iolog=FILE), versions 2 and 3:
//   fio version 2 iolog            fio version 3 iolog
//   /dev/sdb add                   18 /dev/sdb add
//   /dev/sdb open                  148 /dev/sdb open
//   /dev/sdb write 61440 4096      154 /dev/sdb write 61440 4096
//   /dev/sdb wait 2000 0           188 /dev/sdb sync 774144 0
// Offsets and lengths are bytes (in the file fio names: a device's own
// offsets when it is a block device); v3's first field is microseconds
// since the start; v2 has none (its commands replay back to back) except
// `wait USEC`, which moves its clock on. sync and datasync are flushes,
// trim a discard. The events are what fio submitted: the Q stage.
#include "tools/replay/text_fields.h"
#include "tools/replay/trace.h"

namespace cardfs::replay {
namespace {

struct Line {
  uint64_t usec = 0;
  std::string_view file, action;
  uint64_t offset = 0, length = 0;
  bool io = false;  // has offset and length
};

Result<Line> parse_line(const std::vector<std::string_view>& t, int version) {
  Line l;
  size_t i = 0;
  if (version == 3 && (t.empty() || !text::parse_u64(t[i++], l.usec)))
    return Status::error(EINVAL, "no timestamp");
  const size_t rest = t.size() - i;
  if (rest != 2 && rest != 4) return Status::error(EINVAL, "expected FILE ACTION [OFFSET LENGTH]");
  l.file = t[i];
  l.action = t[i + 1];
  if (rest == 4) {
    if (!text::parse_u64(t[i + 2], l.offset) || !text::parse_u64(t[i + 3], l.length))
      return Status::error(EINVAL, "bad offset or length");
    l.io = true;
  }
  return l;
}

}  // namespace

Result<Trace> read_fio_iolog(const std::string& name, std::string_view input) {
  Trace trace;
  int version = 0;
  uint64_t clock_usec = 0;
  bool waited = false;
  Status st = text::for_each_line(input, [&](uint64_t n, std::string_view line) -> Status {
    if (n == 1) {
      if (line == "fio version 2 iolog") version = 2;
      else if (line == "fio version 3 iolog") version = 3;
      else return text::line_error(name, n, "not a fio iolog (first line must be 'fio version 2|3 iolog')");
      trace.format = "fio-iolog-v" + std::to_string(version);
      return Status::ok();
    }
    const std::vector<std::string_view> t = text::tokens(line);
    if (t.empty()) return Status::ok();
    Result<Line> l = parse_line(t, version);
    if (!l.is_ok()) return text::line_error(name, n, l.status().message());
    if (trace.device.empty()) trace.device = std::string(l->file);
    if (trace.device != l->file)
      return text::line_error(name, n, "a second file (" + std::string(l->file) + "): replay one device's log");
    if (version == 3) clock_usec = l->usec;
    TraceEvent e;
    e.stage = Stage::kQueue;
    const std::string_view a = l->action;
    if (a == "add" || a == "open" || a == "close") {
      ++trace.skipped;
      return Status::ok();
    }
    if (a == "wait" && version == 2 && l->io) {
      clock_usec += l->offset;
      waited = true;
      return Status::ok();
    }
    if (!l->io) return text::line_error(name, n, "'" + std::string(a) + "' needs an offset and a length");
    if (a == "read") e.op = Op::kRead;
    else if (a == "write") e.op = Op::kWrite;
    else if (a == "trim") e.op = Op::kDiscard;
    else if (a == "sync" || a == "datasync") e.op = Op::kFlush;
    else return text::line_error(name, n, "unknown action '" + std::string(a) + "'");
    if (e.op != Op::kFlush) {
      if (l->offset % 512 != 0 || l->length % 512 != 0)
        return text::line_error(name, n, "offset or length not a multiple of 512 bytes");
      e.sector = l->offset / 512;
      e.sectors = l->length / 512;
    }
    e.time_ns = clock_usec * 1000;
    trace.events.push_back(e);
    return Status::ok();
  });
  CARDFS_RETURN_IF_ERROR(st);
  if (version == 0) return Status::error(EINVAL, name + ": empty file, not a fio iolog");
  trace.timed = version == 3 || waited;
  trace.sort_by_time();
  return trace;
}

}  // namespace cardfs::replay
