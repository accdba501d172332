#include "sdcard/image_store.h"

#include <algorithm>
#include <array>

#include "base/log.h"
#include "sdcard/image_file.h"
#include "sdcard/memory_medium.h"
#include "sdcard/page_crc.h"

namespace cardfs::sdcard {
namespace {

// Pages whose data is read per batch when verifying programs newer than
// the checkpoint.
constexpr size_t kVerifyChunk = 64;

}  // namespace

ImageStore::ImageStore(std::shared_ptr<Medium> medium) : medium_(std::move(medium)) {}

void ImageStore::set_geometry(const ImageHeader& h) {
  geometry_ = h.geometry;
  layout_ = layout_for(h.geometry, h.version);
}

Status ImageStore::format(const ImageHeader& h) {
  set_geometry(h);
  CARDFS_RETURN_IF_ERROR(medium_->set_size(layout_.file_bytes));
  Checkpoint c;
  c.generation = 1;
  c.page_seq.assign(h.geometry.user_pages(), 0);
  c.aus.assign(h.geometry.physical_aus(), AuRecord{});
  CARDFS_RETURN_IF_ERROR(medium_->write_at(layout_.checkpoint_offset[1], encode_checkpoint(c)));
  CARDFS_RETURN_IF_ERROR(write_header(h));
  return medium_->sync();
}

Result<ImageHeader> ImageStore::read_header() {
  CARDFS_ASSIGN_OR_RETURN(uint64_t size, medium_->size());
  if (size < kHeaderBytes)
    return Status::error(EINVAL, "truncated image (" + std::to_string(size) + " bytes)").with_context(name());
  std::array<std::byte, kHeaderBytes> buf;
  CARDFS_RETURN_IF_ERROR(medium_->read_at(0, buf));
  Result<ImageHeader> h = decode_header(buf);
  if (h.is_ok()) return h;
  Result<ImageHeader> backup = read_backup_header(size);
  if (!backup.is_ok()) return h.status().with_context(name());
  // A read-write open rewrites the primary from it (Card::open writes
  // the header).
  logger("sdcard")->warn("{}: the header is damaged ({}); using its backup copy at the end of the image",
                         name(), h.status().message());
  primary_damaged_ = true;
  return backup;
}

// The backup header of a version 2 image of `size` bytes: its last 4 KiB,
// valid only if it describes an image of exactly that size.
Result<ImageHeader> ImageStore::read_backup_header(uint64_t size) {
  std::array<std::byte, kHeaderBytes> buf;
  CARDFS_RETURN_IF_ERROR(medium_->read_at(size - kHeaderBytes, buf));
  CARDFS_ASSIGN_OR_RETURN(ImageHeader h, decode_header(buf));
  if (h.version < 2 || layout_for(h.geometry, h.version).file_bytes != size)
    return Status::error(EINVAL, "no backup header");
  return h;
}

Result<std::vector<std::string>> ImageStore::repair(const ImageHeader& h) {
  set_geometry(h);
  std::vector<std::string> done;
  CARDFS_ASSIGN_OR_RETURN(uint64_t size, medium_->size());
  if (size < layout_.file_bytes) {
    CARDFS_RETURN_IF_ERROR(medium_->set_size(layout_.file_bytes));
    done.push_back("the image was " + std::to_string(layout_.file_bytes - size) + " bytes short of its " +
                   std::to_string(layout_.file_bytes) + ": extended back (the missing bytes read as zeros; "
                   "a page among them fails its CRC and reads as an error)");
  } else if (size > layout_.file_bytes) {
    return Status::error(EINVAL, "the image is " + std::to_string(size - layout_.file_bytes) +
                                     " bytes longer than its geometry needs; not repairing it")
        .with_context(name());
  }
  if (primary_damaged_) done.push_back("the damaged header was rewritten from its backup copy");
  if (h.version >= 2) {
    std::array<std::byte, kHeaderBytes> buf;
    CARDFS_RETURN_IF_ERROR(medium_->read_at(layout_.backup_header_offset, buf));
    if (!decode_header(buf).is_ok()) done.push_back("the backup header was rewritten");
  }
  CARDFS_RETURN_IF_ERROR(write_header(h));
  CARDFS_RETURN_IF_ERROR(medium_->sync());
  primary_damaged_ = false;
  return done;
}

Result<StoredMap> ImageStore::read_map(const ImageHeader& h) {
  set_geometry(h);
  CARDFS_ASSIGN_OR_RETURN(uint64_t size, medium_->size());
  if (size != layout_.file_bytes)
    return Status::error(EINVAL, std::string(size < layout_.file_bytes ? "truncated image" : "image size mismatch") +
                                     " (" + std::to_string(size) + " bytes, geometry needs " +
                                     std::to_string(layout_.file_bytes) +
                                     (size < layout_.file_bytes ? "; `cardfs card repair` extends it" : "") + ")")
        .with_context(name());
  StoredMap map;
  Result<std::optional<Checkpoint>> ckpt = load_checkpoint();
  if (!ckpt.is_ok()) return ckpt.status().with_context(name());
  map.checkpoint = std::move(ckpt).value();
  Result<std::vector<ScannedPage>> scanned = scan(map.checkpoint ? map.checkpoint->seq : 0);
  if (!scanned.is_ok()) return scanned.status().with_context(name());
  map.scan = std::move(scanned).value();
  return map;
}

// The newest valid checkpoint, or nullopt when neither slot holds one.
Result<std::optional<Checkpoint>> ImageStore::load_checkpoint() {
  std::optional<Checkpoint> newest;
  std::vector<std::byte> buf(layout_.checkpoint_slot_bytes);
  for (uint64_t off : layout_.checkpoint_offset) {
    CARDFS_RETURN_IF_ERROR(medium_->read_at(off, buf));
    Result<Checkpoint> c = decode_checkpoint(buf, geometry_);
    if (!c.is_ok()) {
      if (c.status().code() != ENOENT)
        logger("sdcard")->warn("{}: ignoring checkpoint slot: {}", name(), c.status().message());
      continue;
    }
    if (!newest || c->generation > newest->generation) newest = std::move(c).value();
  }
  return newest;
}

// Reads every page's OOB record; pages programmed after the checkpoint have
// their data checked against the recorded CRC (a torn page fails it).
Result<std::vector<ScannedPage>> ImageStore::scan(uint64_t checkpoint_seq) {
  const Geometry& g = geometry_;
  const uint64_t n = g.physical_pages();
  std::vector<std::byte> oob(n * kOobBytes);
  CARDFS_RETURN_IF_ERROR(medium_->read_at(layout_.oob_offset, oob));
  std::vector<ScannedPage> out(n);
  std::vector<uint64_t> unverified;
  for (uint64_t pp = 0; pp < n; ++pp) {
    out[pp].state = decode_oob(oob.data() + pp * kOobBytes, &out[pp].oob);
    // A page moved from an unreadable one is known bad, not torn: it stays
    // mapped (and unreadable) rather than letting an older copy return.
    if (out[pp].state == OobState::kValid && out[pp].oob.seq > checkpoint_seq && !out[pp].oob.uncorrectable)
      unverified.push_back(pp);
  }
  std::vector<std::byte> data(kVerifyChunk * g.page_bytes);
  for (size_t first = 0; first < unverified.size(); first += kVerifyChunk) {
    const size_t count = std::min(kVerifyChunk, unverified.size() - first);
    std::vector<iovec> iovs(count);
    std::vector<IoOp> ops(count);
    for (size_t i = 0; i < count; ++i) {
      iovs[i] = {data.data() + i * g.page_bytes, g.page_bytes};
      ops[i] = {data_offset(unverified[first + i]), std::span<const iovec>(&iovs[i], 1)};
    }
    CARDFS_RETURN_IF_ERROR(medium_->read(ops));
    for (size_t i = 0; i < count; ++i) {
      ScannedPage& s = out[unverified[first + i]];
      if (page_crc(std::span(data).subspan(i * g.page_bytes, g.page_bytes)) != s.oob.data_crc)
        s.state = OobState::kCorrupt;
    }
  }
  return out;
}

// The primary, then the backup copy (version 2): a crash between them
// leaves the primary newer, and it is the one an open reads first.
Status ImageStore::write_header(const ImageHeader& h) {
  std::array<std::byte, kHeaderBytes> buf;
  encode_header(h, buf);
  CARDFS_RETURN_IF_ERROR(medium_->write_at(0, buf));
  if (layout_.backup_header_offset == 0) return Status::ok();
  return medium_->write_at(layout_.backup_header_offset, buf);
}

Status ImageStore::write_checkpoint(const Checkpoint& c) {
  const std::vector<std::byte> bytes = encode_checkpoint(c);
  if (bytes.size() > layout_.checkpoint_slot_bytes) return Status::error(EIO, "checkpoint larger than its slot");
  return medium_->write_at(layout_.checkpoint_offset[c.generation % 2], bytes);
}

// The batch in order, as runs of programs and runs of moves.
Status ImageStore::write(std::span<const PageWrite> all) {
  Status st;
  for (size_t i = 0; i < all.size() && st.is_ok();) {
    const bool copies = all[i].data == nullptr;
    size_t j = i + 1;
    while (j < all.size() && (all[j].data == nullptr) == copies) ++j;
    st = copies ? write_copies(all.subspan(i, j - i)) : write_programs(all.subspan(i, j - i));
    i = j;
  }
  return st;
}

// Pages that continue the previous one in the image (and its source, for
// copies) join its run; a torn page ends a run.
bool ImageStore::joins(std::span<const PageWrite> q, size_t i, uint32_t page_bytes) {
  if (i == 0 || q[i].page != q[i - 1].page + 1 || q[i - 1].bytes != page_bytes) return false;
  return q[i].data != nullptr || q[i].from == q[i - 1].from + 1;
}

template <typename PageAt>
std::vector<IoOp> ImageStore::record_runs(size_t n, PageAt page_at, std::byte* records,
                                          std::vector<iovec>& iovs) const {
  iovs.clear();
  iovs.reserve(n);  // no reallocation: the ops point into it
  std::vector<IoOp> ops;
  for (size_t i = 0; i < n; ++i) {
    if (i > 0 && page_at(i) == page_at(i - 1) + 1) {
      iovs.back().iov_len += kOobBytes;
      continue;
    }
    iovs.push_back({records + i * kOobBytes, kOobBytes});
    ops.push_back({layout_.oob_offset + page_at(i) * kOobBytes, std::span<const iovec>(&iovs.back(), 1)});
  }
  return ops;
}

std::vector<IoOp> ImageStore::oob_ops_of(std::span<const PageWrite> q) {
  oob_scratch_.resize(q.size() * kOobBytes);
  for (size_t i = 0; i < q.size(); ++i) {
    OobRecord oob = q[i].oob;
    oob.data_crc = source_crc_[i];
    oob.uncorrectable = source_bad_[i];
    encode_oob(oob, oob_scratch_.data() + i * kOobBytes);
  }
  return record_runs(q.size(), [q](size_t i) { return q[i].page; }, oob_scratch_.data(), oob_iovs_);
}

Status ImageStore::write_programs(std::span<const PageWrite> q) {
  std::vector<iovec> iovs;
  iovs.reserve(q.size());
  std::vector<IoOp> ops;
  std::vector<std::pair<size_t, size_t>> data_runs;  // [first, last) in q
  for (size_t i = 0; i < q.size(); ++i) {
    iovs.push_back({const_cast<std::byte*>(q[i].data), q[i].bytes});
    if (joins(q, i, geometry_.page_bytes))
      data_runs.back().second = i + 1;
    else
      data_runs.push_back({i, i + 1});
  }
  for (auto [first, last] : data_runs)
    ops.push_back({data_offset(q[first].page), std::span<const iovec>(iovs).subspan(first, last - first)});
  // The data CRCs are computed while the kernel copies the data; the OOB
  // records join the same batch. Their order within it does not matter:
  // an emulated power cut strikes between batches, and across a host crash
  // only fdatasync orders anything (the page cache writes back in any
  // order), which is why the scan checks the data CRC of every page newer
  // than the checkpoint.
  auto oob_ops = [&]() -> std::span<const IoOp> {
    source_crc_.resize(q.size());
    source_bad_.assign(q.size(), false);
    for (size_t i = 0; i < q.size(); ++i) source_crc_[i] = page_crc(std::span(q[i].data, geometry_.page_bytes));
    oob_ops_ = oob_ops_of(q);
    return oob_ops_;
  };
  return medium_->write_meanwhile(ops, oob_ops);
}

Status ImageStore::source_crcs(std::span<const PageWrite> q) {
  std::vector<std::byte> records(q.size() * kOobBytes);
  std::vector<iovec> iovs;
  CARDFS_RETURN_IF_ERROR(
      medium_->read(record_runs(q.size(), [q](size_t i) { return q[i].from; }, records.data(), iovs)));
  source_crc_.resize(q.size());
  source_bad_.assign(q.size(), false);
  for (size_t i = 0; i < q.size(); ++i) {
    OobRecord src;
    if (decode_oob(records.data() + i * kOobBytes, &src) == OobState::kValid &&
        src.logical_page == q[i].oob.logical_page) {
      source_crc_[i] = src.data_crc;  // a source whose data fails it keeps failing
      source_bad_[i] = src.uncorrectable;
      continue;
    }
    // The source's record does not name the page (damaged in the image):
    // the copy stays as unreadable as its source (a card moving a page its
    // ECC cannot correct does not make it good), marked as such so that
    // the power-on scan does not take it for a torn page either.
    page_scratch_.resize(geometry_.page_bytes);
    CARDFS_RETURN_IF_ERROR(medium_->read_at(data_offset(q[i].from), page_scratch_));
    source_crc_[i] = page_crc(page_scratch_);
    source_bad_[i] = true;
  }
  return Status::ok();
}

Status ImageStore::write_copies(std::span<const PageWrite> q) {
  CARDFS_RETURN_IF_ERROR(source_crcs(q));
  for (size_t first = 0; first < q.size();) {
    uint64_t bytes = q[first].bytes;
    size_t last = first + 1;
    for (; last < q.size() && joins(q, last, geometry_.page_bytes); ++last) bytes += q[last].bytes;
    CARDFS_RETURN_IF_ERROR(medium_->copy(data_offset(q[first].from), data_offset(q[first].page), bytes));
    first = last;
  }
  const std::vector<IoOp> ops = oob_ops_of(q);
  return medium_->write(ops);
}

Status ImageStore::read(std::span<const FlashRead> reads) {
  read_ops_.resize(reads.size());
  for (size_t i = 0; i < reads.size(); ++i) read_ops_[i] = {layout_.flash_offset + reads[i].address, reads[i].iov};
  return medium_->read(read_ops_);
}

Status ImageStore::read_checked(std::span<const PageRead> pages, std::vector<PageFault>& faults) {
  // The records (runs of neighbouring ones as one I/O) and the data (runs
  // of neighbouring pages as one I/O, so that large reads can still bypass
  // the host's cache), in one batch.
  read_records_.resize(pages.size() * kOobBytes);
  std::vector<iovec> record_iovs;
  read_ops_ = record_runs(pages.size(), [pages](size_t i) { return pages[i].physical_page; },
                          read_records_.data(), record_iovs);
  read_iovs_.resize(pages.size());
  for (size_t i = 0; i < pages.size(); ++i) {
    read_iovs_[i] = {pages[i].dest, geometry_.page_bytes};
    if (i > 0 && pages[i].physical_page == pages[i - 1].physical_page + 1) {
      IoOp& run = read_ops_.back();
      run.iov = std::span<const iovec>(run.iov.data(), run.iov.size() + 1);
      continue;
    }
    read_ops_.push_back({data_offset(pages[i].physical_page), std::span<const iovec>(&read_iovs_[i], 1)});
  }
  CARDFS_RETURN_IF_ERROR(medium_->read(read_ops_));
  for (size_t i = 0; i < pages.size(); ++i)
    if (std::string why = fault_of(pages[i], read_records_.data() + i * kOobBytes); !why.empty())
      faults.push_back({i, std::move(why)});
  return Status::ok();
}

std::string ImageStore::fault_of(const PageRead& r, const std::byte* record) const {
  OobRecord oob;
  const OobState state = decode_oob(record, &oob);
  if (state == OobState::kErased) return "its out-of-band record was erased";
  if (state != OobState::kValid) return "its out-of-band record is damaged";
  if (oob.logical_page != r.logical_page)
    return "its out-of-band record names logical page " + std::to_string(oob.logical_page);
  if (oob.uncorrectable) return "it was moved from a page the card could not read";
  if (page_crc(std::span<const std::byte>(r.dest, geometry_.page_bytes)) != oob.data_crc)
    return "its data fails the CRC of its out-of-band record";
  return "";
}

Status ImageStore::erase(uint32_t physical_au) {
  // Clearing the OOB records is what makes the pages erased (the scan and
  // the FTL go by them; an all-zero record is an erased page). They are
  // overwritten with zeros rather than punched out, and the data bytes
  // stay as they are: the AU is about to be programmed again, and
  // overwriting allocated blocks is much cheaper for the host file system
  // than freeing them (with `-o discard`, a synchronous discard of the
  // host's disk) and allocating them again page by page.
  const uint64_t first = uint64_t(physical_au) * geometry_.pages_per_au;
  erased_oob_.resize(uint64_t(geometry_.pages_per_au) * kOobBytes);  // zeros
  return medium_->write_at(layout_.oob_offset + first * kOobBytes, erased_oob_);
}

Status ImageStore::prepare(uint32_t physical_au) {
  const uint64_t au_bytes = uint64_t(geometry_.pages_per_au) * geometry_.page_bytes;
  return medium_->preallocate(data_offset(uint64_t(physical_au) * geometry_.pages_per_au), au_bytes);
}

Result<std::unique_ptr<PageStore>> image_store(const std::string& path, OpenMode mode) {
  Result<std::unique_ptr<ImageFile>> file = ImageFile::open(path, mode);
  if (!file.is_ok()) return file.status();
  return std::unique_ptr<PageStore>(new ImageStore(std::shared_ptr<Medium>(std::move(file).value())));
}

std::unique_ptr<PageStore> memory_store(std::shared_ptr<MemoryMedium> medium) {
  return std::make_unique<ImageStore>(std::move(medium));
}

}  // namespace cardfs::sdcard
