// ImageStore's checkpoint slots and clean map: regions written a 4 KiB
// block at a time, only the blocks that changed since the store last wrote
// them, encoded from the FTL's and the store's own arrays.
//
// A 64 GiB card's checkpoint is 33 MiB and its clean map 34 MiB. Encoding
// each whole into a buffer, then summing it, cost a mkfs (a checkpoint at
// create, one and the clean map at close) about 130 MiB of memory touched
// and cleared, most of its time: the kernel clearing pages. Now a region is
// its header and pieces laid end to end (the sequence numbers are the
// FTL's array, a little-endian host's own encoding), walked once: each
// block's CRC, sum and, if it changed, a copy into a staging buffer that
// is written when full. The bytes on disk are those of a whole write.
#include <array>
#include <bit>
#include <cstring>

#include "base/coding.h"
#include "sdcard/image_store.h"
#include "sdcard/page_crc.h"

namespace cardfs::sdcard {
namespace {

constexpr size_t kBlock = 4096;
// Changed blocks are written this many bytes at a time.
constexpr size_t kStagingBytes = 1 << 20;

// A 64-bit sum of a block that changes when the block does. Not a CRC: a
// CRC is linear, and the checkpoint's first block ends its header with the
// CRC of the header, which gives the block the same CRC whatever the
// header holds (a CRC over data and its own CRC is a constant), so a
// changed header went unwritten. Each 8-byte word is mixed in with a
// multiply and a shift (as splitmix64), which no such structure cancels.
uint64_t block_sum(std::span<const std::byte> block) {
  uint64_t h = 0x9E37'79B9'7F4A'7C15ull ^ block.size();
  size_t i = 0;
  for (; i + 8 <= block.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, block.data() + i, 8);
    h = (h ^ w) * 0xBF58'476D'1CE4'E5B9ull;
    h ^= h >> 31;
  }
  for (; i < block.size(); ++i) h = (h ^ uint64_t(block[i])) * 0x94D0'49BB'1331'11EBull;
  return h ^ (h >> 29);
}

const std::array<std::byte, kBlock> kZeros{};

// The pieces of a region's payload, read in order: a block's bytes are a
// view into a piece when one holds them all, else gathered into scratch.
class PieceReader {
 public:
  explicit PieceReader(std::span<const RegionPiece> pieces) : pieces_(pieces) {}
  // The next len bytes (there must be as many left).
  std::span<const std::byte> next(size_t len, std::byte* scratch) {
    skip_empty();
    if (piece_ < pieces_.size() && pieces_[piece_].size - at_ >= len) {
      const RegionPiece& p = pieces_[piece_];
      at_ += len;
      return p.data == nullptr ? std::span(kZeros).first(len) : std::span(p.data + at_ - len, len);
    }
    for (size_t done = 0; done < len;) {
      skip_empty();
      const RegionPiece& p = pieces_[piece_];
      const size_t n = std::min<uint64_t>(len - done, p.size - at_);
      if (p.data == nullptr)
        std::memset(scratch + done, 0, n);
      else
        std::memcpy(scratch + done, p.data + at_, n);
      at_ += n;
      done += n;
    }
    return {scratch, len};
  }

 private:
  void skip_empty() {
    while (piece_ < pieces_.size() && at_ == pieces_[piece_].size) ++piece_, at_ = 0;
  }
  std::span<const RegionPiece> pieces_;
 public:
  // Passes over len bytes.
  void skip(uint64_t len) {
    while (len > 0) {
      skip_empty();
      const uint64_t n = std::min<uint64_t>(len, pieces_[piece_].size - at_);
      at_ += n;
      len -= n;
    }
  }

 private:
  size_t piece_ = 0;
  size_t at_ = 0;
};

}  // namespace

// The sums of bytes' kCheckpointBlock blocks (the last may be shorter).
std::vector<uint64_t> ImageStore::block_sums(std::span<const std::byte> bytes) {
  std::vector<uint64_t> sums;
  sums.reserve((bytes.size() + kCheckpointBlock - 1) / kCheckpointBlock);
  for (size_t at = 0; at < bytes.size(); at += kCheckpointBlock)
    sums.push_back(block_sum(bytes.subspan(at, std::min(kCheckpointBlock, bytes.size() - at))));
  return sums;
}

// The sums of `bytes` zero bytes' blocks, as block_sums gives them (the
// blocks of a region that is a hole), without a buffer of zeros.
std::vector<uint64_t> ImageStore::zero_sums(uint64_t bytes) {
  std::vector<uint64_t> sums(bytes / kCheckpointBlock, block_sum(kZeros));
  if (bytes % kCheckpointBlock != 0) sums.push_back(block_sum(std::span(kZeros).first(bytes % kCheckpointBlock)));
  return sums;
}

// The region at `base`: a header of kCheckpointHeaderBytes that
// make_header fills from the CRC of the payload, then the payload, the
// pieces laid end to end. Only the blocks whose sums differ from `sums`
// are written (all of them when `sums` does not have one per block);
// `sums` then holds the new ones, or nothing if a write failed. The
// header's block is written last.
Status ImageStore::write_region(uint64_t base, std::span<const RegionPiece> pieces, const RegionHeader& make_header,
                                std::vector<uint64_t>& sums) {
  uint64_t total = kCheckpointHeaderBytes;
  for (const RegionPiece& p : pieces) total += p.size;
  const size_t blocks = (total + kBlock - 1) / kBlock;
  const bool known = sums.size() == blocks;
  sums.resize(blocks);
  std::vector<std::byte> staging;
  staging.reserve(kStagingBytes);
  std::vector<iovec> iovs;
  std::vector<IoOp> ops;
  auto write_staged = [&]() -> Status {
    for (size_t i = 0; i < ops.size(); ++i) ops[i].iov = std::span<const iovec>(&iovs[i], 1);
    Status st = write_counted(ops);
    staging.clear();
    iovs.clear();
    ops.clear();
    return st;
  };
  // Block b changed: staged (with its neighbour's op when they touch).
  auto stage = [&](size_t b, std::span<const std::byte> bytes) -> Status {
    if (staging.size() + bytes.size() > kStagingBytes) CARDFS_RETURN_IF_ERROR(write_staged());
    std::byte* at = staging.data() + staging.size();
    staging.insert(staging.end(), bytes.begin(), bytes.end());
    const uint64_t offset = base + b * kBlock;
    if (!ops.empty() && ops.back().offset + iovs.back().iov_len == offset) {
      iovs.back().iov_len += bytes.size();
    } else {
      iovs.push_back({at, bytes.size()});
      ops.push_back({offset, {}});
    }
    return Status::ok();
  };
  auto fail = [&](Status st) {
    sums.clear();
    return st;
  };
  PieceReader reader(pieces);
  std::array<std::byte, kBlock> first{};
  std::array<std::byte, kBlock> scratch;
  const size_t first_len = std::min<uint64_t>(kBlock, total);
  const auto first_payload = reader.next(first_len - kCheckpointHeaderBytes, scratch.data());
  std::copy(first_payload.begin(), first_payload.end(), first.begin() + kCheckpointHeaderBytes);
  uint32_t crc = page_crc(0, first_payload);
  for (size_t b = 1; b < blocks; ++b) {
    const std::span<const std::byte> block = reader.next(std::min<uint64_t>(kBlock, total - b * kBlock), scratch.data());
    crc = page_crc(crc, block);
    const uint64_t sum = block_sum(block);
    if (known && sums[b] == sum) continue;
    sums[b] = sum;
    if (Status st = stage(b, block); !st.is_ok()) return fail(st);
  }
  make_header(crc, std::span<std::byte, kCheckpointHeaderBytes>(first.data(), kCheckpointHeaderBytes));
  const std::span<const std::byte> head = std::span(first).first(first_len);
  const uint64_t sum = block_sum(head);
  if (!known || sums[0] != sum) {
    sums[0] = sum;
    if (Status st = stage(0, head); !st.is_ok()) return fail(st);
  }
  if (Status st = write_staged(); !st.is_ok()) return fail(st);
  // The names written so far are older than this checkpoint: a merge
  // naming one from now on need not have its data checked at power-on
  // (a durable card synced them before the checkpoint).
  flushed();
  return Status::ok();
}

// The region at `base` into `into` (its header's buffer first, then the
// payload's), which hold zeros: only the 4 KiB blocks that may hold data
// are read (Medium::data_extents), so a region mostly holes (a large
// card's checkpoint and clean map while it is mostly unused) costs
// neither the reads nor the memory of its holes. The payload's CRC is
// continued over a run of holes without reading it (page_crc_zeros), and
// `sums` gets each block's sum (a hole's: a zero block's).
Result<ImageStore::RegionRead> ImageStore::read_region(uint64_t base, std::span<const RegionBuffer> into,
                                                       std::vector<uint64_t>& sums) {
  uint64_t total = 0;
  for (const RegionBuffer& b : into) total += b.size;
  const size_t blocks = (total + kBlock - 1) / kBlock;
  CARDFS_ASSIGN_OR_RETURN(std::vector<Extent> extents, medium_->data_extents(base, total));
  RegionRead out;  // its runs in blocks until the end
  out.data.push_back({0, 1});  // the header's block
  for (const Extent& e : extents) {
    const uint64_t first = (e.offset - base) / kBlock, end = (e.offset + e.length - base + kBlock - 1) / kBlock;
    if (out.data.back().offset + out.data.back().length >= first)
      out.data.back().length = std::max(out.data.back().length, end - out.data.back().offset);
    else
      out.data.push_back({first, end - first});
  }
  // Each run's bytes, split where the buffers are.
  std::vector<iovec> iovs;
  std::vector<std::pair<uint64_t, size_t>> op_at;  // (offset, first iovec)
  for (const Extent& run : out.data) {
    uint64_t at = run.offset * kBlock;
    const uint64_t end = std::min(total, (run.offset + run.length) * kBlock);
    op_at.push_back({base + at, iovs.size()});
    uint64_t piece_start = 0;
    for (const RegionBuffer& b : into) {
      const uint64_t from = std::max(at, piece_start), to = std::min(end, piece_start + b.size);
      if (from < to) iovs.push_back({b.data + (from - piece_start), to - from});
      piece_start += b.size;
    }
  }
  std::vector<IoOp> ops;
  for (size_t i = 0; i < op_at.size(); ++i) {
    const size_t end = i + 1 < op_at.size() ? op_at[i + 1].second : iovs.size();
    ops.push_back({op_at[i].first, std::span<const iovec>(iovs.data() + op_at[i].second, end - op_at[i].second)});
  }
  CARDFS_RETURN_IF_ERROR(medium_->read(ops));
  // Sums and the payload's CRC, run by run and hole by hole.
  std::vector<RegionPiece> pieces;
  for (const RegionBuffer& b : into) pieces.push_back({b.data, b.size});
  PieceReader reader(pieces);
  std::array<std::byte, kBlock> scratch;
  sums.assign(blocks, 0);
  const uint64_t zero_sum = block_sum(kZeros);
  uint64_t block = 0;
  auto holes_until = [&](uint64_t end) {
    if (block >= end) return;
    const uint64_t bytes = std::min(total, end * kBlock) - block * kBlock;
    out.crc = page_crc_zeros(out.crc, bytes);
    reader.skip(bytes);
    for (; block < end; ++block)
      sums[block] = block * kBlock + kBlock <= total ? zero_sum : block_sum(std::span(kZeros).first(total - block * kBlock));
  };
  for (const Extent& run : out.data) {
    holes_until(run.offset);
    for (; block < std::min<uint64_t>(run.offset + run.length, blocks); ++block) {
      const std::span<const std::byte> bytes = reader.next(std::min<uint64_t>(kBlock, total - block * kBlock), scratch.data());
      sums[block] = block_sum(bytes);
      out.crc = page_crc(out.crc, block == 0 ? bytes.subspan(kCheckpointHeaderBytes) : bytes);
    }
  }
  holes_until(blocks);
  // The runs in payload bytes, for the callers' loops over what was read.
  for (Extent& run : out.data) {
    const uint64_t from = std::max<uint64_t>(run.offset * kBlock, kCheckpointHeaderBytes);
    const uint64_t to = std::min(total, (run.offset + run.length) * kBlock);
    run = {from - kCheckpointHeaderBytes, to > from ? to - from : 0};
  }
  return out;
}

// Only the 4 KiB blocks that differ from what this store last wrote into
// the slot are written: between two checkpoints of a slot most of the map
// is unchanged (a merge renumbers one AU's pages), and the whole slot
// (1 MiB for 2 GiB) was most of what the image took per byte the host
// wrote on merge-heavy workloads. A slot's blocks are known by a 64-bit
// sum each (block_sum); unknown after open or a failed write, when the
// whole checkpoint is written. A view without sequence numbers writes
// zeros for them (a new card's).
Status ImageStore::write_checkpoint(const CheckpointView& c) {
  const uint64_t pages = geometry_.user_pages();
  if (!c.page_seq.empty() && c.page_seq.size() != pages) return Status::error(EINVAL, "checkpoint of another geometry");
  if (checkpoint_bytes(geometry_) > layout_.checkpoint_slot_bytes) return Status::error(EIO, "checkpoint larger than its slot");
  std::vector<std::byte> swapped;  // a big-endian host's little-endian copy
  RegionPiece seqs{nullptr, pages * 8};
  if (!c.page_seq.empty()) {
    if constexpr (std::endian::native == std::endian::little) {
      seqs.data = std::as_bytes(c.page_seq).data();
    } else {
      swapped.resize(pages * 8);
      for (uint64_t lp = 0; lp < pages; ++lp) put_u64(swapped.data() + lp * 8, c.page_seq[lp]);
      seqs.data = swapped.data();
    }
  }
  const std::vector<std::byte> aus = encode_au_records(c.aus);
  const RegionPiece pieces[] = {seqs, {aus.data(), aus.size()}};
  const int slot = int(c.generation % 2);
  CARDFS_RETURN_IF_ERROR(write_region(layout_.checkpoint_offset[slot], pieces,
                                      [&](uint32_t crc, std::span<std::byte, kCheckpointHeaderBytes> out) {
                                        encode_checkpoint_header(c, pages, crc, out);
                                      },
                                      checkpoint_sums_[slot]));
  return write_name_slot(c);
}

}  // namespace cardfs::sdcard
