#include "blockdev/trace_format.h"

#include "base/coding.h"

namespace cardfs::blockdev::blktrace {

uint32_t action_word(Act act) {
  // The kernel's blk_add_trace_rq() adds BLK_TC_FS to the request events
  // (I, D, R, C) of every filesystem (non-passthrough) request; the bio
  // events (Q, M, F, G, S, X) and plugs carry no FS bit. blkparse -t
  // prints an elapsed time only on events with the bit.
  switch (act) {
    case kActRequeue: return act | category(kTcRequeue | kTcFs);
    case kActIssue: return act | category(kTcIssue | kTcFs);
    case kActComplete: return act | category(kTcComplete | kTcFs);
    case kActInsert: return act | category(kTcQueue | kTcFs);
    case kActSplit: return act;  // BLK_TA_SPLIT carries no category
    default: return act | category(kTcQueue);
  }
}

uint64_t Record::pdu_u64() const {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < pdu.size(); ++i) v = v << 8 | uint64_t(pdu[i]);
  return v;
}

std::vector<std::byte> be64_pdu(uint64_t v) {
  std::vector<std::byte> out(8);
  for (int i = 7; i >= 0; --i, v >>= 8) out[i] = std::byte(v & 0xff);
  return out;
}

void encode(const Record& r, std::vector<std::byte>& out) {
  const size_t at = out.size();
  out.resize(at + kRecordSize + r.pdu.size());
  Encoder e(std::span<std::byte>(out).subspan(at, kRecordSize));
  e.u32(kMagic | kVersion);
  e.u32(r.sequence);
  e.u64(r.time);
  e.u64(r.sector);
  e.u32(r.bytes);
  e.u32(r.action);
  e.u32(r.pid);
  e.u32(r.device);
  e.u32(r.cpu);
  e.u16(r.error);
  e.u16(uint16_t(r.pdu.size()));
  std::copy(r.pdu.begin(), r.pdu.end(), out.begin() + at + kRecordSize);
}

namespace {

// A trace written on a big-endian machine: every field byte-swapped
// (blkparse reads both orders the same way).
void swap_fields(Record& r, uint32_t& magic, uint16_t& pdu_len) {
  magic = __builtin_bswap32(magic);
  r.sequence = __builtin_bswap32(r.sequence);
  r.time = __builtin_bswap64(r.time);
  r.sector = __builtin_bswap64(r.sector);
  r.bytes = __builtin_bswap32(r.bytes);
  r.action = __builtin_bswap32(r.action);
  r.pid = __builtin_bswap32(r.pid);
  r.device = __builtin_bswap32(r.device);
  r.cpu = __builtin_bswap32(r.cpu);
  r.error = __builtin_bswap16(r.error);
  pdu_len = __builtin_bswap16(pdu_len);
}

}  // namespace

Result<size_t> decode_at(std::span<const std::byte> buf, size_t pos, Record& r,
                         std::span<const std::byte>* pdu_out) {
  Decoder d(buf.subspan(pos));
  uint32_t magic = d.u32();
  r.sequence = d.u32();
  r.time = d.u64();
  r.sector = d.u64();
  r.bytes = d.u32();
  r.action = d.u32();
  r.pid = d.u32();
  r.device = d.u32();
  r.cpu = d.u32();
  r.error = d.u16();
  uint16_t pdu_len = d.u16();
  if (!d.ok()) return Status::error(EINVAL, "truncated trace record at byte " + std::to_string(pos));
  if ((magic & 0xffffff00) != kMagic && (__builtin_bswap32(magic) & 0xffffff00) == kMagic)
    swap_fields(r, magic, pdu_len);
  if ((magic & 0xffffff00) != kMagic || (magic & 0xff) != kVersion)
    return Status::error(EINVAL, "bad trace magic/version at byte " + std::to_string(pos));
  if (pdu_len > buf.size() - pos - kRecordSize)
    return Status::error(EINVAL, "truncated trace payload at byte " + std::to_string(pos));
  auto pdu = buf.subspan(pos + kRecordSize, pdu_len);
  if (pdu_out) *pdu_out = pdu;
  else r.pdu.assign(pdu.begin(), pdu.end());
  return kRecordSize + pdu_len;
}

Result<std::vector<Record>> decode_all(std::span<const std::byte> buf) {
  std::vector<Record> out;
  for (size_t pos = 0; pos < buf.size();) {
    Record r;
    CARDFS_ASSIGN_OR_RETURN(size_t n, decode_at(buf, pos, r, nullptr));
    pos += n;
    out.push_back(std::move(r));
  }
  return out;
}

std::string rwbs(uint32_t action, uint32_t bytes) {
  auto has = [action](uint32_t c) { return (action & category(c)) != 0; };
  std::string s;
  if (has(kTcFlush)) s += 'F';
  if (has(kTcDiscard)) s += 'D';
  else if (has(kTcWrite)) s += 'W';
  else if (bytes) s += 'R';
  else s += 'N';
  if (has(kTcFua)) s += 'F';
  if (has(kTcAhead)) s += 'A';
  if (has(kTcSync)) s += 'S';
  if (has(kTcMeta)) s += 'M';
  return s;
}

const char* act_name(Act act) {
  static constexpr const char* kNames[kNumActs] = {"?", "Q", "M", "F", "G", "S", "R",
                                                   "D", "C", "P", "U", "UT", "I", "X"};
  return act < kNumActs ? kNames[act] : "?";
}

}  // namespace cardfs::blockdev::blktrace
