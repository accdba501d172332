// Field parsing shared by the text trace readers (internal to replay/).
// Every function checks what it reads and reports failure as a value; no
// input makes them throw or read out of bounds.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "tools/replay/trace.h"

namespace cardfs::replay::text {

std::vector<std::string_view> tokens(std::string_view line);
bool parse_u64(std::string_view s, uint64_t& out);
// "SECONDS.FRACTION" (up to 9 fraction digits) as nanoseconds.
bool parse_seconds(std::string_view s, uint64_t& ns);

// Calls fn(line_number, line) for every line (without its newline).
// Stops at the first error fn returns.
template <typename Fn>
Status for_each_line(std::string_view text, Fn&& fn) {
  uint64_t number = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    CARDFS_RETURN_IF_ERROR(fn(++number, line));
  }
  return Status::ok();
}

// The part blkparse's default line and the ftrace blk tracer share, from
// the action on: `ACTION RWBS [SECTOR + COUNT] [(ELAPSED)] [NAME]`. Q and
// D events give an event (at `time_ns`); other actions, messages and PC
// events nullopt. An I/O line whose fields do not parse is an error
// (its text is the caller's to prefix).
Result<std::optional<TraceEvent>> blk_event(std::span<const std::string_view> fields, uint64_t time_ns);

// blk_event() for line `line` of device `dev`, added to the trace (or
// counted as skipped); a second device or a bad line is an error.
Status add_blk_event(Trace& trace, const std::string& name, uint64_t line, std::string_view dev,
                     std::span<const std::string_view> fields, uint64_t time_ns);

// "NAME:LINE: what" as an EINVAL Status.
Status line_error(const std::string& name, uint64_t line, const std::string& what);

}  // namespace cardfs::replay::text
