#include "sdcard/image_store.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

#include "base/coding.h"

#include "base/log.h"
#include "sdcard/image_file.h"
#include "sdcard/memory_medium.h"
#include "sdcard/page_crc.h"

namespace cardfs::sdcard {
ImageStore::ImageStore(std::shared_ptr<Medium> medium) : medium_(std::move(medium)) {}

void ImageStore::set_geometry(const ImageHeader& h) {
  geometry_ = h.geometry;
  layout_ = layout_for(h.geometry, h.version);
  indirect_ = h.version >= kImageVersionNoSlots && h.geometry.physical_pages() <= kMaxDataSlots;
  version_ = h.version;
  erase_table_ = h.version >= 4;
  erase_generations_.assign(h.geometry.physical_aus(), 0);
  const uint32_t upp = units_per_page(h.geometry);
  unit_bytes_ = h.geometry.page_bytes / upp;
  slots_.reset(h.geometry.physical_pages(), upp, indirect_);
  latest_.reset(h.geometry.user_pages());
  reset_merges(h.version >= kImageVersionMerges && indirect_);
  checkpoint_sums_[0].clear();
  checkpoint_sums_[1].clear();
  clean_map_sums_.clear();
  name_sums_[0].clear();
  name_sums_[1].clear();
  names_known_ = false;
  const uint64_t data_bytes = h.geometry.physical_pages() * h.geometry.page_bytes;
  allocated_.assign((data_bytes + kAllocChunk - 1) / kAllocChunk, false);
}

uint64_t ImageStore::bytes_of(std::span<const IoOp> ops) {
  uint64_t n = 0;
  for (const IoOp& op : ops) n += op.bytes();
  return n;
}

void ImageStore::count_write(uint64_t offset, uint64_t bytes) {
  const ImageLayout& l = layout_;
  auto in = [&](uint64_t start, uint64_t end) { return start != 0 && offset >= start && offset < end; };
  const uint64_t flash_end = l.erase_table_offset    ? l.erase_table_offset
                             : l.backup_header_offset ? l.backup_header_offset
                                                      : l.file_bytes;
  if (in(l.flash_offset, flash_end))
    kind_bytes_.data += bytes;
  else if (in(l.oob_offset, l.flash_offset))
    kind_bytes_.records += bytes;
  else if (in(l.merge_table_offset, l.name_table_offset ? l.name_table_offset : l.backup_header_offset))
    kind_bytes_.merge_entries += bytes;
  else if (in(l.checkpoint_offset[0], l.oob_offset) || in(l.name_table_offset, l.backup_header_offset))
    kind_bytes_.checkpoints += bytes;
  else
    kind_bytes_.tables += bytes;
}

Status ImageStore::write_counted(std::span<const IoOp> ops) {
  for (const IoOp& op : ops) count_write(op.offset, bytes_of(std::span(&op, 1)));
  return medium_->write(ops);
}

Status ImageStore::write_counted_at(uint64_t offset, std::span<const std::byte> data) {
  count_write(offset, data.size());
  return medium_->write_at(offset, data);
}

// The new image is one hole (the size set on an empty medium): both
// checkpoint slots read as zeros, so their blocks' sums are known and the
// first checkpoint writes only its blocks that are not zero (a few of a
// 64 GiB card's 33 MiB slot: the header and the AU records in use).
Status ImageStore::format(const ImageHeader& h) {
  set_geometry(h);
  CARDFS_RETURN_IF_ERROR(medium_->set_size(0));
  CARDFS_RETURN_IF_ERROR(medium_->set_size(layout_.file_bytes));
  for (std::vector<uint64_t>& sums : checkpoint_sums_) sums = zero_sums(checkpoint_bytes(h.geometry));
  clean_map_sums_ = zero_sums(clean_map_bytes(h.geometry));
  for (std::vector<uint64_t>& sums : name_sums_) sums = zero_sums(name_region_bytes(h.geometry));
  CheckpointView c;  // every page unmapped (no sequence numbers: zeros)
  c.generation = 1;
  c.aus.assign(h.geometry.physical_aus(), AuRecord{});
  // No clean map: the card's create opens it read-write at once, and its
  // close writes one (an open before that scans an empty card).
  CARDFS_RETURN_IF_ERROR(write_checkpoint(c));
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
  } else if (size > layout_.file_bytes && !upgrade_interrupted(size)) {
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

Result<StoredMap> ImageStore::read_map(const ImageHeader& h, const ScanProgress& progress) {
  set_geometry(h);
  CARDFS_ASSIGN_OR_RETURN(uint64_t size, medium_->size());
  if (size != layout_.file_bytes && !upgrade_interrupted(size))
    return Status::error(EINVAL, std::string(size < layout_.file_bytes ? "truncated image" : "image size mismatch") +
                                     " (" + std::to_string(size) + " bytes, geometry needs " +
                                     std::to_string(layout_.file_bytes) +
                                     (size < layout_.file_bytes ? "; `cardfs card repair` extends it" : "") + ")")
        .with_context(name());
  StoredMap map;
  Result<std::optional<Checkpoint>> ckpt = load_checkpoint();
  if (!ckpt.is_ok()) return ckpt.status().with_context(name());
  map.checkpoint = std::move(ckpt).value();
  if (h.clean && map.checkpoint && layout_.clean_map_offset != 0) {
    Result<bool> clean = load_clean_map(*map.checkpoint, map.holders, map.held_pages);
    if (!clean.is_ok()) return clean.status().with_context(name());
    if (*clean) {
      if (Status st = restore_merges(map.holders.span()); !st.is_ok()) return st.with_context(name());
      return map;
    }
  }
  Result<std::vector<ScannedPage>> scanned = scan(map.checkpoint ? &*map.checkpoint : nullptr, progress);
  if (!scanned.is_ok()) return scanned.status().with_context(name());
  map.scan = std::move(scanned).value();
  return map;
}

// The newest valid checkpoint, or nullopt when neither slot holds one.
// Only the slots' headers are read to tell which is newer (the generation);
// the newer is read, and the older only if the newer's payload fails its
// checks. A slot is read only where the image holds data (read_region):
// the sequence numbers go straight into the zero pages the FTL takes as
// its own, and a card mostly unused (its slot mostly holes, 33 MiB on 64
// GiB) leaves them untouched. What was read of a slot is what it holds,
// so its blocks' sums are known from then on.
Result<std::optional<Checkpoint>> ImageStore::load_checkpoint() {
  std::vector<std::pair<uint64_t, int>> valid;  // (generation, slot)
  std::array<std::byte, kCheckpointHeaderBytes> head;
  for (int slot = 0; slot < 2; ++slot) {
    CARDFS_RETURN_IF_ERROR(medium_->read_at(layout_.checkpoint_offset[slot], head));
    Result<Checkpoint> c = decode_checkpoint_header(head, geometry_);
    if (c.is_ok()) {
      valid.push_back({c->generation, slot});
    } else if (c.status().code() != ENOENT) {
      logger("sdcard")->warn("{}: ignoring checkpoint slot: {}", name(), c.status().message());
    }
  }
  std::sort(valid.rbegin(), valid.rend());
  for (auto [generation, slot] : valid) {
    std::vector<uint64_t> sums;
    Result<Checkpoint> c = read_checkpoint(layout_.checkpoint_offset[slot], sums);
    if (!c.is_ok() && c.status().code() != EINVAL) return c.status();
    if (c.is_ok()) {
      checkpoint_sums_[slot] = std::move(sums);
      return std::optional<Checkpoint>(std::move(c).value());
    }
    logger("sdcard")->warn("{}: ignoring checkpoint slot: {}", name(), c.status().message());
  }
  return std::optional<Checkpoint>();
}

// The checkpoint at `offset`; EINVAL when it does not hold one (its
// header, CRC, AU records or a sequence number newer than it).
Result<Checkpoint> ImageStore::read_checkpoint(uint64_t offset, std::vector<uint64_t>& sums) {
  const uint64_t pages = geometry_.user_pages();
  std::array<std::byte, kCheckpointHeaderBytes> head{};
  ZeroedArrayOf<uint64_t> seqs(pages);
  std::vector<std::byte> aus(checkpoint_bytes(geometry_) - kCheckpointHeaderBytes - pages * 8);
  const RegionBuffer into[] = {
      {head.data(), head.size()}, {reinterpret_cast<std::byte*>(seqs.data()), pages * 8}, {aus.data(), aus.size()}};
  CARDFS_ASSIGN_OR_RETURN(RegionRead read, read_region(offset, into, sums));
  CARDFS_ASSIGN_OR_RETURN(Checkpoint c, decode_checkpoint_header(head, geometry_));
  if (read.crc != c.payload_crc) return Status::error(EINVAL, "checkpoint checksum mismatch");
  CARDFS_RETURN_IF_ERROR(decode_au_records(aus, geometry_, c.aus));
  // The sequence numbers read (the rest are holes: zero), little-endian.
  for (const Extent& r : read.data) {
    const uint64_t first = r.offset / 8, end = std::min(pages, (r.offset + r.length + 7) / 8);
    for (uint64_t lp = first; lp < end; ++lp) {
      if constexpr (std::endian::native != std::endian::little)
        seqs[lp] = get_u64(reinterpret_cast<const std::byte*>(&seqs[lp]));
      if (seqs[lp] > c.seq) return Status::error(EINVAL, "checkpoint page newer than the checkpoint");
    }
  }
  c.page_seq = std::move(seqs);
  return c;
}

// The primary, then the backup copy (version 2): a crash between them
// leaves the primary newer, and it is the one an open reads first.
// A version 2, 3 or 4 image becomes version 5 with its first header
// written (upgrade()): from then on its records may name erase
// generations, data units and merge entries, and a clean close leaves a
// clean map, which an older cardfs would not follow or keep up to date
// (it refuses the version instead).
Status ImageStore::write_header(const ImageHeader& h) {
  std::array<std::byte, kHeaderBytes> buf;
  ImageHeader out = h;
  if (upgrades()) CARDFS_RETURN_IF_ERROR(upgrade());
  out.version = version_;
  encode_header(out, buf);
  CARDFS_RETURN_IF_ERROR(write_counted_at(0, buf));
  if (layout_.backup_header_offset == 0) return Status::ok();
  return write_counted_at(layout_.backup_header_offset, buf);
}

// A merge naming a name written before a durable card's fdatasync needs
// no check (the name's CRC entry and units are on the disk); covering
// names at each flush, not only at checkpoints, keeps merges after an
// fsync from carrying the CRCs of everything written since the last
// checkpoint (about a third of their pages under random 4 KiB writes
// with fsync every 32).
void ImageStore::flushed() {
  for (uint32_t name : fresh_names_)
    if (names_[name].state == kFresh) names_[name].state = kCovered;
  fresh_names_.clear();
}

// The data area is allocated in the image (fallocate, keeping the size and
// the zeros it reads) as programs first reach it, kAllocChunk at a time:
// the host file system fills a hole block by block several times more
// slowly than it overwrites allocated blocks. Whole AUs used to be
// allocated when the FTL opened them, and a filesystem's metadata AUs,
// opened for a few pages each, left 2 GiB of a new 64 GiB card allocated.
// Neighbouring chunks a batch reaches are one call; a chunk allocated
// before this open costs one call again (the host finds it allocated).
Status ImageStore::allocate_for(std::span<const IoOp> ops) {
  for (const IoOp& op : ops) {
    const uint64_t len = bytes_of(std::span(&op, 1));
    if (len == 0 || op.offset < layout_.flash_offset) continue;
    const uint64_t first = (op.offset - layout_.flash_offset) / kAllocChunk;
    const uint64_t end = std::min<uint64_t>((op.offset + len - layout_.flash_offset + kAllocChunk - 1) / kAllocChunk,
                                            allocated_.size());
    for (uint64_t c = first; c < end;) {
      if (allocated_[c]) {
        ++c;
        continue;
      }
      const uint64_t start = c;
      while (c < end && !allocated_[c]) allocated_[c++] = true;
      CARDFS_RETURN_IF_ERROR(
          medium_->preallocate(layout_.flash_offset + start * kAllocChunk, (c - start) * kAllocChunk));
    }
  }
  return Status::ok();
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
