// The blktrace binary format, as in the kernel's
// include/uapi/linux/blktrace_api.h, so that blkparse and btt read our
// traces. A record is struct blk_io_trace (48 bytes, in the writer's byte
// order: we write little-endian, blkparse swaps if it must) followed by
// pdu_len bytes of payload. Pure encoding; no state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"

namespace cardfs::blockdev::blktrace {

inline constexpr uint32_t kMagic = 0x65617400;  // BLK_IO_TRACE_MAGIC
inline constexpr uint32_t kVersion = 0x07;      // BLK_IO_TRACE_VERSION
inline constexpr size_t kRecordSize = 48;       // sizeof(struct blk_io_trace)

// enum blktrace_cat: the category bits, stored shifted by kCategoryShift.
enum Category : uint32_t {
  kTcRead = 1u << 0,
  kTcWrite = 1u << 1,
  kTcFlush = 1u << 2,
  kTcSync = 1u << 3,
  kTcQueue = 1u << 4,
  kTcRequeue = 1u << 5,
  kTcIssue = 1u << 6,
  kTcComplete = 1u << 7,
  kTcFs = 1u << 8,
  kTcPc = 1u << 9,
  kTcNotify = 1u << 10,
  kTcAhead = 1u << 11,
  kTcMeta = 1u << 12,
  kTcDiscard = 1u << 13,
  kTcDrvData = 1u << 14,
  kTcFua = 1u << 15,
};
inline constexpr uint32_t kCategoryShift = 16;
constexpr uint32_t category(uint32_t c) { return c << kCategoryShift; }

// enum blktrace_act: the low 16 bits of the action word.
enum Act : uint32_t {
  kActQueue = 1,
  kActBackMerge,
  kActFrontMerge,
  kActGetRq,
  kActSleepRq,
  kActRequeue,
  kActIssue,
  kActComplete,
  kActPlug,
  kActUnplugIo,
  kActUnplugTimer,
  kActInsert,
  kActSplit,
};
inline constexpr uint32_t kNumActs = 14;  // index 0 unused
inline constexpr uint32_t kNotifyProcess = 0;  // __BLK_TN_PROCESS
inline constexpr uint32_t kNotifyMessage = 2;  // __BLK_TN_MESSAGE: blk_add_trace_msg's text
inline constexpr uint32_t kActDriverData = 17; // __BLK_TA_DRV_DATA: a driver's payload

// The full action word of an event (BLK_TA_*), without the I/O's own bits.
uint32_t action_word(Act act);
inline constexpr uint32_t kProcessNote = kNotifyProcess | (kTcNotify << kCategoryShift);
inline constexpr uint32_t kMessageNote = kNotifyMessage | (kTcNotify << kCategoryShift);
inline constexpr uint32_t kDriverData = kActDriverData | (kTcDrvData << kCategoryShift);

// Linux's dev_t as the kernel puts it in traces (MINORBITS 20).
constexpr uint32_t make_dev(uint32_t major, uint32_t minor) { return major << 20 | minor; }
constexpr uint32_t dev_major(uint32_t dev) { return dev >> 20; }
constexpr uint32_t dev_minor(uint32_t dev) { return dev & ((1u << 20) - 1); }

struct Record {
  uint32_t sequence = 0;
  uint64_t time = 0;  // ns
  uint64_t sector = 0;
  uint32_t bytes = 0;
  uint32_t action = 0;
  uint32_t pid = 0;
  uint32_t device = 0;
  uint32_t cpu = 0;
  uint16_t error = 0;
  std::vector<std::byte> pdu;

  Act act() const { return Act(action & 0xffff); }
  bool is_notify() const { return (action & category(kTcNotify)) != 0; }
  bool is_write() const { return (action & category(kTcWrite)) != 0; }
  // The big-endian u64 payload of U, UT and X events.
  uint64_t pdu_u64() const;
};

void encode(const Record& r, std::vector<std::byte>& out);
// Decodes a whole file's records, in either byte order (a big-endian
// writer's too); a bad magic or truncation is an error.
Result<std::vector<Record>> decode_all(std::span<const std::byte> buf);

// Decodes the one record at `pos`; returns its length with the payload.
// With pdu_out the payload is not copied into r.pdu but pointed at in buf
// (a command log's data, read in place).
Result<size_t> decode_at(std::span<const std::byte> buf, size_t pos, Record& r,
                         std::span<const std::byte>* pdu_out = nullptr);

// The payload of U/UT/X events: a big-endian u64.
std::vector<std::byte> be64_pdu(uint64_t v);

// blkparse's RWBS column ("W", "WS", "FWFS", "RA", "N" ...).
std::string rwbs(uint32_t action, uint32_t bytes);
// blkparse's action column ("Q", "M", "UT" ...); "?" if unknown.
const char* act_name(Act act);

}  // namespace cardfs::blockdev::blktrace
