// ImageStore: the PageStore of the image format (sdcard/image_format.h)
// over a Medium — the image file, or memory for tests. Internal to sdcard/.
//
// Every program writes the page's data into a data slot (sdcard/data_slots.h)
// and its OOB record (magic, logical page, sequence number, erase count,
// CRC-32C of the data, the slot) in one batch; a move writes only a record:
// the moved page names its source's slot and carries its CRC, so the data
// is neither copied nor checksummed again (a source whose record is
// damaged gives a copy marked uncorrectable). A torn move (a power cut)
// gets a slot of its own with half the data. A checked read (read_checked)
// reads whole pages with their records and judges each as a card's ECC
// would. An erase writes the AU's next erase generation (version 4,
// image_erase_table.cpp; earlier versions zero the AU's OOB records) and
// frees the slots no other page names. Opening reads the header and the newest valid checkpoint;
// after a clean close, the clean map (version 5, image_clean_map.cpp);
// otherwise the OOB region (rebuilding the slot map), checking the data
// CRC of every page newer than the checkpoint. Version 1 images (no backup
// header, no slots) keep every page's data at its own place: their moves
// copy the bytes, as before version 3.
// Not thread-safe: the Card calls it under its state lock.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sdcard/data_slots.h"
#include "sdcard/io_plan.h"
#include "sdcard/medium.h"
#include "sdcard/page_store.h"

namespace cardfs::sdcard {

// A piece of a region's payload: `size` bytes at `data`, or zeros when
// data is null.
struct RegionPiece {
  const std::byte* data = nullptr;
  uint64_t size = 0;
};

// A buffer a region is read into.
struct RegionBuffer {
  std::byte* data = nullptr;
  uint64_t size = 0;
};

class ImageStore final : public PageStore {
 public:
  // `medium` may be shared (memory kept for a later open); it must
  // outlive this store.
  explicit ImageStore(std::shared_ptr<Medium> medium);

  const std::string& name() const override { return medium_->path(); }
  bool keeps_data() const override { return true; }
  Status format(const ImageHeader& h) override;
  Result<ImageHeader> read_header() override;
  Result<StoredMap> read_map(const ImageHeader& h, const ScanProgress& progress) override;
  Status write_header(const ImageHeader& h) override;
  Status write_checkpoint(const CheckpointView& c) override;
  Status write_clean_map(uint64_t generation, std::span<const uint32_t> holders) override;
  Status write(std::span<const PageWrite> batch) override;
  Status read(std::span<const FlashRead> reads) override;
  Status read_checked(std::span<const PageRead> pages, std::vector<PageFault>& faults) override;
  Status erase(uint32_t physical_au) override;
  // Nothing: the data area is allocated as programs reach it (allocate_for).
  Status prepare(uint32_t) override { return Status::ok(); }
  Status sync() override { return medium_->sync(); }
  Status finish_writes() override { return medium_->finish_writes(); }
  void flushed() override;
  Result<std::vector<std::string>> repair(const ImageHeader& h) override;
  uint64_t bytes_written() const override { return kind_bytes_.total(); }
  ImageBytes bytes_by_kind() const override { return kind_bytes_; }
  bool compact_merges() const override { return merges_; }
  uint64_t checks_pending() const override { return fresh_names_.size(); }
  // Data units holding data that some page not erased names (tests).
  uint64_t units_in_use() const { return slots_.units_in_use(); }

 private:
  void set_geometry(const ImageHeader& h);
  Result<ImageHeader> read_backup_header(uint64_t size);
  // Where a data unit starts in the medium (unit n: a page's own units follow its place).
  uint64_t unit_offset(uint64_t unit) const { return layout_.flash_offset + unit * unit_bytes_; }
  // The pieces of physical page pp's first `bytes` bytes into dest, as
  // reads of its units (erased and zero units: zeros at once).
  void plan_page_read(IoPlan& plan, uint64_t pp, std::byte* dest, uint32_t bytes);
  Status read_page(uint64_t pp, std::byte* dest);
  // Programs, moves: the data units physical page pp names after it was
  // written with `w` (a program), and their bytes into `plan`.
  // `entry`: pp got a new unit list, to be written with its record.
  Status place_program(const PageWrite& w, IoPlan& plan, bool& entry);
  Status place_copy(const PageWrite& w, bool& entry);
  Status list_units(uint64_t pp, bool& write_entry);
  // pp's unit list (version 4) into the unit table, from `entry`.
  void plan_unit_entry(uint64_t pp, IoPlan& plan, std::byte* entry);
  // pp's record names a slot, units or neither (version 1), per its units.
  void name_data(uint64_t pp, OobRecord& oob) const;
  Status write_counted(std::span<const IoOp> ops);
  // Allocates in the image the chunks of the data area `ops` write that
  // this store has not allocated yet.
  Status allocate_for(std::span<const IoOp> ops);
  static constexpr uint64_t kAllocChunk = 64 * 1024;
  Status write_counted_at(uint64_t offset, std::span<const std::byte> data);
  static uint64_t bytes_of(std::span<const IoOp> ops);
  Result<std::optional<Checkpoint>> load_checkpoint();
  Result<Checkpoint> read_checkpoint(uint64_t offset, std::vector<uint64_t>& sums);
  // A checkpoint slot or the clean map, written by changed blocks
  // (image_regions.cpp): its header (made last, from the payload's CRC),
  // then the pieces.
  using RegionHeader = std::function<void(uint32_t payload_crc, std::span<std::byte, kCheckpointHeaderBytes> out)>;
  Status write_region(uint64_t base, std::span<const RegionPiece> pieces, const RegionHeader& make_header,
                      std::vector<uint64_t>& sums);
  // What read_region read: the payload's CRC (of the bytes after the
  // header), and the ranges of payload bytes it read (the rest are holes,
  // left as the buffers were: zeros).
  struct RegionRead {
    uint32_t crc = 0;
    std::vector<Extent> data;
  };
  // The region at `base` into `into`, zero-filled buffers laid end to end
  // (the header's kCheckpointHeaderBytes first): only where the medium has
  // data; `sums` gets its blocks' sums.
  Result<RegionRead> read_region(uint64_t base, std::span<const RegionBuffer> into, std::vector<uint64_t>& sums);
  // The clean map (version 5, image_clean_map.cpp): true when it holds
  // for `ckpt` (same generation, intact, consistent with it) and the store's
  // maps were set from it, `holders` filled; false (nothing changed) when
  // the open must scan.
  // `pages`: the physical pages whose entries the map holds (the rest are
  // holes: erased).
  Result<bool> load_clean_map(const Checkpoint& ckpt, ZeroedArray& holders, std::vector<Extent>& pages);
  static std::vector<Extent> read_pages(std::span<const Extent> read, uint64_t n);
  // Why the map's holders and names (of `pages`; the rest erased) do not
  // fit ckpt and this store's geometry, or "".
  std::string misfit(const ZeroedArray& holders, const ZeroedArray& names, std::span<const Extent> pages,
                     const Checkpoint& ckpt) const;
  // The data name of physical page pp (CleanMap), or nullopt when its
  // units are neither a slot's run nor a unit list.
  std::optional<uint32_t> data_name(uint64_t pp) const;
  // The erase table's entries into generations; false if one is damaged.
  Result<bool> read_erase_table(std::vector<uint32_t>& generations);
  // The units of each unit list of `lists` (ascending), units_per_page
  // each into `units`, reading only the table chunks they are in; `ok`
  // false for a list naming a unit beyond the data area.
  Status read_unit_lists(std::span<const uint32_t> lists, std::vector<uint32_t>& units, std::vector<bool>& ok);
  // `ckpt`: the newest valid checkpoint, if any.
  Result<std::vector<ScannedPage>> scan(const Checkpoint* ckpt, const ScanProgress& progress);
  // The erase table (version 4, image_erase_table.cpp): reads it into
  // erase_generations_ and marks erased the scanned records of an older
  // generation than their AU's.
  Status apply_erase_table(std::vector<ScannedPage>& scan, const std::vector<std::optional<MergeEntry>>& merges);
  uint32_t generation_of_page(uint64_t pp) const {
    return erase_generations_[pp / geometry_.pages_per_au] & kGenerationMask;
  }
  // Whether a record of physical page pp belongs to an erase of its AU
  // since it was programmed (version 4; earlier versions zero the record).
  bool erased_since(uint64_t pp, const OobRecord& r) const {
    return erase_table_ && r.generation != generation_of_page(pp);
  }
  Status erase_by_generation(uint32_t physical_au);
  // Version 2, 3 or 4 to 5: the file grows by the tables it lacks (the
  // erase and unit tables, the clean map; all zero: generation 0, which
  // the records carry, and no clean map) and the backup header moves to
  // the new end. An older header over a file of a later version's size is
  // such an upgrade cut short: it opens, and is redone.
  bool upgrades() const;  // a read-write open upgrades this image
  Status upgrade();
  bool upgrade_interrupted(uint64_t size) const;
  // One I/O per run of consecutive pages (page_at(i), i < n) over their
  // OOB records, entry i at records + i * kOobBytes.
  template <typename PageAt>
  void record_runs(size_t n, PageAt page_at, std::byte* records, IoPlan& plan) const;
  // The data units the records of a scan name (unit table entries read
  // for those that list them); a record naming a unit beyond the data
  // area is damaged.
  Status assign_scanned_units(std::vector<ScannedPage>& scan);
  Status verify_scanned(std::vector<ScannedPage>& scan, uint64_t checkpoint_seq);
  // Why a page read with its record fails the card's check, or "".
  // `bad_record`: the record itself does not name this copy (PageFault::record).
  std::string fault_of(const PageRead& r, const std::byte* record, bool& bad_record) const;
  // The records of q[first..] and the data CRC entries of q's pages that
  // need one, into oob_plan_.
  std::span<const IoOp> oob_ops_of(std::span<const PageWrite> q, size_t first);
  Status write_programs(std::span<const PageWrite> q);
  Status write_copies(std::span<const PageWrite> q);
  // The data CRCs of the copies' sources, from their OOB records (or, for
  // a source in a merge entry, its data name's CRC).
  Status source_crcs(std::span<const PageWrite> q);

  // Merge entries (version 5, image_merge.cpp).
  // How many of the moves at the start of q one merge entry can hold
  // (0: none; they get records of their own). Both go by the moves'
  // names in batch_names_ (write_copies).
  size_t merge_run(std::span<const PageWrite> q) const;
  // The entry for q's first n moves into `merge_scratch_`, its write into `plan`.
  void plan_merge_entry(std::span<const PageWrite> q, size_t n, IoPlan& plan);
  // The merge table's valid entries, per AU (version 5).
  Result<std::vector<std::optional<MergeEntry>>> read_merge_table();
  // The pages of entries of their AU's current generation, into the scan.
  void apply_merge_entries(std::vector<std::optional<MergeEntry>>& entries, std::vector<ScannedPage>& scan,
                           const Checkpoint* ckpt);
  // Name slots (version 8, image_name_table.cpp): the slot written with
  // checkpoint c, the name the newest one gives logical page lp
  // (NameSlot::kNone: none, or no slot written since open), both slots as
  // they decode, and an MRG3 entry's unlisted names from them (false: it
  // cannot be decoded; pages stale at `ckpt` keep kUnlisted).
  Status write_name_slot(const CheckpointView& c);
  uint32_t predicted_name(uint64_t lp) const;
  Status load_name_slots(std::vector<NameSlot>& out);
  bool resolve_names(MergeEntry& m, const std::vector<NameSlot>& slots, const Checkpoint* ckpt) const;
  // The entry for q's first n moves, lists only the names the newest name
  // slot does not predict when that is smaller (version 8).
  void predict_names(MergeEntry& m);
  // au's entry if it is of the AU's current generation, noted as written
  // (merge_written_, merge_lau_); nullptr when there is none or it is left
  // over from an erased generation.
  MergeEntry* adopt_merge_entry(std::optional<MergeEntry>& m, uint32_t au);
  // The data CRC entries of the merge pages of a scan: one whose name has
  // no valid entry (or not the CRC its merge entry gives) is dropped, as
  // a torn page is; the others' names keep their CRCs (names_).
  Status load_merged_crcs(std::vector<ScannedPage>& scan);
  // A merge page and its name's CRC (the entry's, for a checked one):
  // load_name_crcs reads each name's CRC entry and says if it is `ok`
  // (valid, and the CRC expected), keeping the name's CRC then.
  struct NamedPage {
    uint32_t name;
    uint64_t page;
    uint32_t crc;
    bool check;
    bool ok;
  };
  Status load_name_crcs(std::vector<NamedPage>& named);
  // After a clean open: the merge pages, from the merge table and the map
  // (holders as the clean map stores them).
  Status restore_merges(std::span<const uint32_t> holders);
  // What a page in a merge entry would have in its record (read checks).
  OobRecord merged_record(uint64_t pp) const;
  void forget_merges(uint32_t physical_au);
  // Version 5's state for a card with no merge entries (`on`: version 5).
  void reset_merges(bool on);
  // Page pp's data name (version 5): its unit list, else physical pages +
  // its slot; kNone if neither (version 1, an erased page).
  uint32_t crc_name(uint64_t pp) const;
  // A name's CRC entry was planned (written in the batch being built).
  void name_written(uint32_t name, uint32_t data_crc);

  std::shared_ptr<Medium> medium_;
  Geometry geometry_;
  ImageLayout layout_;
  std::vector<std::byte> oob_scratch_;
  std::vector<std::byte> unit_scratch_;  // unit table entries of the batch being written
  // Per entry of the batch being written (bytes, not bits: set and read
  // per page of every merge): it got a new unit list; its data name gets
  // its CRC entry (version 5); its data name (crc_name), once placed.
  std::vector<uint8_t> batch_entries_;
  std::vector<uint8_t> batch_crcs_;
  std::vector<uint32_t> batch_names_;
  IoPlan oob_plan_;
  IoPlan data_plan_;
  IoPlan read_plan_;
  std::vector<uint32_t> source_crc_;
  std::vector<size_t> recorded_sources_;       // source_crcs': the copies whose sources have records
  std::vector<std::byte> source_records_;      // and those records
  std::vector<bool> source_bad_;  // the copy's record gets OobRecord::uncorrectable
  std::vector<std::byte> read_records_;  // read_checked's working storage
  std::vector<std::byte> erased_oob_;  // an AU's OOB records, erased (zeros)
  std::vector<std::byte> page_scratch_;
  std::vector<std::byte> zeros_;  // a unit of zeros (torn moves of zero units)
  std::vector<uint32_t> copy_source_;  // place_copy's: a torn move's source units
  DataSlots slots_;
  uint32_t unit_bytes_ = kUnitBytes;
  // Logical page -> the physical page of its latest program or move, plus
  // one (0: none): the copy a partly rewritten page takes its other units from.
  ZeroedArray latest_;
  uint32_t latest(uint64_t lp) const { return lp < latest_.size() ? latest_[lp] - 1 : DataSlots::kNone; }
  void set_latest(uint64_t lp, uint64_t pp) {
    if (lp < latest_.size()) latest_[lp] = uint32_t(pp + 1);
  }
  bool indirect_ = true;  // moves share slots (version >= 2); false: version 1, moves copy
  uint32_t version_ = kImageVersion;
  bool erase_table_ = true;  // version 4: erases write generations, not zeroed records
  std::vector<uint32_t> erase_generations_;  // per physical AU (version 4)
  ImageBytes kind_bytes_;  // bytes written since open, by kind (count_write)
  // Counts `bytes` written at `offset` by the region they fall in.
  void count_write(uint64_t offset, uint64_t bytes);
  // Version 5: merge entries and the data names' CRCs.
  bool merges_ = false;
  // A name's CRC entry: none known, written before the last checkpoint,
  // or since (the name's unit list, if any, is as old as its entry).
  enum NameState : uint8_t { kNoCrc = 0, kCovered = 1, kFresh = 2 };
  // Per data name (two per physical page), zero until the name is used:
  // a large card's open touches only the entries of names in use.
  // One entry (a cache line's eighth) per name: a merge looks up both
  // fields of each moved page's name, and names are scattered.
  struct NameInfo {
    uint32_t crc;     // its data's CRC (kCovered, kFresh)
    NameState state;
  };
  ZeroedArrayOf<NameInfo> names_;
  std::vector<uint32_t> fresh_names_;  // names kFresh
  std::vector<bool> merged_;          // per physical page: named by its AU's merge entry
  std::vector<bool> merge_written_;   // per physical AU: has an entry this generation
  std::vector<uint32_t> merge_lau_;   // per physical AU: its entry's logical AU
  std::vector<std::byte> merge_scratch_;
  std::vector<uint32_t> listed_names_;  // predict_names': the entry's names before prediction
  // Version 8: the name slot last written (encoded; what merges predict
  // from until the next), whether there is one since open, and its name.
  ZeroedArrayOf<std::byte> name_slot_;
  bool names_known_ = false;
  uint64_t names_generation_ = 0;
  uint64_t names_next_seq_ = 0;
  std::vector<uint64_t> name_sums_[2];  // per slot, as checkpoint_sums_
  std::vector<std::byte> crc_scratch_;  // data CRC entries of the batch being written
  bool primary_damaged_ = false;  // read_header() used the backup copy
  static constexpr size_t kCheckpointBlock = 4096;
  static std::vector<uint64_t> block_sums(std::span<const std::byte> bytes);
  static std::vector<uint64_t> zero_sums(uint64_t bytes);
  std::vector<uint64_t> checkpoint_sums_[2];  // per slot: a sum of each block last written there
  std::vector<uint64_t> clean_map_sums_;
  std::vector<bool> allocated_;  // per kAllocChunk of the data area: allocated since open      // the same for the clean map (version 5)
};

}  // namespace cardfs::sdcard
