// PageStore: where the card's flash pages live — the seam between the
// card's model and its data.
//
// The model (Card, FlashTranslationLayer, Flash) decides everything a card
// decides: which physical page each program goes to, merges and garbage
// collection, erases, wear, device time, power cuts. A store only keeps
// (or does not keep) what the model hands it: page data with its
// out-of-band record, the header and FTL checkpoints that let a card be
// opened again. No decision of the model depends on the store, so the same
// commands cost the same on every store (tests/sdcard/store_equivalence_test).
//
//   image_store(path)   the image file (sdcard/image_format.h), io_uring I/O
//   memory_store(m)     the same format in a MemoryMedium (tests; reopenable)
//   none_store()        accounting only: keeps nothing, reads return zeros;
//                       a card on it can be created but never reopened
//   none_store_from(s)  the same, starting from the card state s holds
//
// Moves (merge and GC copies) reach the store as moves, not as a read and
// a program, so that a store keeps a moved page's data where it is and
// changes only its own map: the image and memory stores name the source's
// data slot in the moved page's record (sdcard/data_slots.h); the none
// store keeps nothing anyway. Flash addresses are
// physical page × page_bytes + byte offset, the same for every store.
// Not thread-safe: the Card calls it under its state lock.
#pragma once

#include <sys/uio.h>

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "sdcard/card.h"
#include "sdcard/image_format.h"
#include "sdcard/medium.h"

namespace cardfs::sdcard {

class MemoryMedium;

// One page program (data != nullptr, page_bytes valid until write()
// returns) or move (data == nullptr: the bytes of physical page `from`,
// programmed earlier). `bytes` < page_bytes: torn by a power cut (only the
// first half reached the flash). oob.data_crc is the store's to fill;
// oob.uncorrectable on a program: the copy a partial rewrite kept the rest
// of was damaged, and the new copy's reads fail as its did.
// A program of a page the host only partly rewrote says which 4 KiB parts
// (kUnitBytes) hold sectors the host wrote (`fresh_units`, bit k for part
// k) and whether the rest is the logical page's current data
// (`keeps_old`: the write buffer read it from there) or zeros: a store may
// keep only the fresh parts' bytes. `data` is still the whole page.
struct PageWrite {
  uint64_t page = 0;
  const std::byte* data = nullptr;
  uint64_t from = 0;
  uint32_t bytes = 0;
  OobRecord oob;
  uint32_t fresh_units = ~0u;
  bool keeps_old = false;
};

// A read of flash bytes [address, address + iov bytes) into iov; it may
// run over consecutive physical pages.
struct FlashRead {
  uint64_t address = 0;
  std::span<const iovec> iov;
};

// A whole page to read and check as a card's ECC checks it: the physical
// page, the logical page the model's map says it holds, page_bytes to fill.
struct PageRead {
  uint64_t physical_page = 0;
  uint32_t logical_page = 0;
  std::byte* dest = nullptr;
};

// A page read_checked() found unreadable: its index in the batch and why.
struct PageFault {
  size_t index = 0;
  std::string why;
  // The page's record does not name this copy (damaged, erased, naming
  // another logical page or other data): a power-on scan would not have
  // found it, so the card keeps the page lost from then on, as if the
  // scan had found it so (a clean open does not read the records).
  bool record = false;
};

// What the power-on scan found in one physical page.
struct ScannedPage {
  OobRecord oob;
  OobState state = OobState::kErased;
  // kCorrupt with a whole OOB record but data failing its CRC: a program
  // cut short. Its seq was handed out, so power-on must not hand it out
  // again (a later checkpoint would then cover the torn copy).
  bool torn = false;
  // Found in a merge entry (image version 5), not in a record of its own;
  // `check`: its data is checked at power-on if it is newer than the
  // checkpoint (its unit list was written after the checkpoint before the
  // merge).
  bool merged = false;
  bool check = true;
};

// What a store holds of a card it opens: the newest valid checkpoint and
// one scanned entry per physical page (pages newer than the checkpoint
// whose data fails its CRC are kCorrupt).
// (done, total) pages of a power-on scan; may be empty.
using ScanProgress = std::function<void(uint64_t done, uint64_t total)>;

// A card closed cleanly (image version 5) opens from its checkpoint and
// clean map: `holders` has one entry per physical page, as the map stores
// it (CleanMap::encode_holder of kErased, kStale or the logical page it
// holds; zero pages where all are erased) and `scan` is empty. Otherwise
// `holders` is empty and `scan` has an entry per physical page.
struct StoredMap {
  std::optional<Checkpoint> checkpoint;
  std::vector<ScannedPage> scan;
  ZeroedArray holders;
  // The runs of physical pages whose holders the map read; all others are
  // erased (their entries holes in the image: zero pages not touched).
  std::vector<Extent> held_pages;
};

class PageStore {
 public:
  virtual ~PageStore() = default;
  // For messages: the image's path, "memory" or "none".
  virtual const std::string& name() const = 0;
  // Whether reads return what was written (false: the none store).
  virtual bool keeps_data() const = 0;

  // A new card: an empty store laid out for h (Card::create).
  virtual Status format(const ImageHeader& h) = 0;
  // An existing card: its header, then (geometry known) its map. Errors
  // name what is wrong (truncated, bad magic, checksum ...); neither call
  // changes the store.
  virtual Result<ImageHeader> read_header() = 0;
  // progress (if set) is called as the scan reads the records, done < total.
  virtual Result<StoredMap> read_map(const ImageHeader& h, const ScanProgress& progress) = 0;
  virtual Status write_header(const ImageHeader& h) = 0;
  virtual Status write_checkpoint(const CheckpointView& c) = 0;  // into slot generation % 2
  // At a clean close, after the checkpoint of `generation`: each physical
  // page's holder (as the clean map stores it: CleanMap::encode_holder of
  // kErased, kStale or its logical page; the FTL's own array), kept
  // with what the store knows of the page so that the next open of the
  // card, if it is still clean then, needs no scan (version 5; a store
  // or an image without one keeps nothing and scans).
  virtual Status write_clean_map(uint64_t generation, std::span<const uint32_t> holders) {
    (void)generation, (void)holders;
    return Status::ok();
  }

  // Programs and moves, in order (a move's source may be an earlier entry).
  virtual Status write(std::span<const PageWrite> batch) = 0;
  virtual Status read(std::span<const FlashRead> reads) = 0;
  // Reads whole pages with their OOB records and checks each, as a card's
  // ECC checks a page: a damaged or erased record, a record naming another
  // logical page or marked uncorrectable, or data that fails the record's
  // CRC is a fault, appended to `faults` (the read itself succeeds). A
  // store that keeps no data reads zeros and finds none.
  virtual Status read_checked(std::span<const PageRead> pages, std::vector<PageFault>& faults) = 0;
  // The AU's pages become erased (their data need not change).
  virtual Status erase(uint32_t physical_au) = 0;
  // The model is about to program this AU (a hint: nothing read changes).
  virtual Status prepare(uint32_t physical_au) = 0;
  // Everything written so far survives a host crash.
  virtual Status sync() = 0;
  // Everything written so far survives the end of this process (not of
  // the host): a card's flush, FUA write, header write and close, so that
  // a daemon killed after one loses nothing it covered (Medium::finish_writes).
  virtual Status finish_writes() { return Status::ok(); }
  // The card's host flushed the card: a durable card synced everything
  // written so far just before (sync()); one that is not durable promises
  // nothing across a host crash, so its flush is where a durable card
  // would sync. The image store's data names written so far then need no
  // check at power-on (image version 6: see "Merge entries" in
  // docs/sdcard.md). Also called before an erase, after the same sync.
  virtual void flushed() {}
  // `cardfs card repair`: puts right what keeps a card with header h from
  // opening at the level of the store (an image a few bytes short is
  // extended back; a damaged header or backup header is rewritten) and
  // says what it did, one sentence each. None for a store that keeps nothing.
  virtual Result<std::vector<std::string>> repair(const ImageHeader&) { return std::vector<std::string>{}; }
  // Whether the pages a merge moves into one AU at their own offsets
  // (FlashTranslationLayer::copy_in_place) are kept as one merge entry that
  // the power-on scan checks only where a page names data written since
  // the checkpoint (image version 5): such moves then need not count
  // toward the checkpoint interval (the scan's work after a cut stays
  // bounded by it). The none store keeps nothing, and says yes so that
  // its card checkpoints when an image's would.
  virtual bool compact_merges() const { return false; }
  // Pages whose data the power-on scan would have to check because of
  // writes since the last checkpoint, beyond the programs the card counts
  // (image version 5: unit lists written since then); the card
  // checkpoints when this reaches its interval too.
  virtual uint64_t checks_pending() const { return 0; }
  // Bytes this store has written to its medium since it was made: page
  // data, out-of-band records, checkpoints, headers (0: the none store).
  // What the host pays per byte the card's host writes (CardCounters).
  virtual uint64_t bytes_written() const { return 0; }
  // The same bytes by what they hold, from where in the image they went
  // (issue 23: which part of the image's bytes per host byte dominates).
  virtual ImageBytes bytes_by_kind() const { return {}; }
};

// The image file at path (kCreate refuses an existing one).
Result<std::unique_ptr<PageStore>> image_store(const std::string& path, OpenMode mode);
// The image format in memory; the medium outlives the stores made on it,
// so a test can close a card and open it again.
std::unique_ptr<PageStore> memory_store(std::shared_ptr<MemoryMedium> medium);
std::unique_ptr<PageStore> none_store();
// A none store that opens as the card `origin` holds (its header, map and
// wear; `origin` is only read, open it kReadOnly) and then keeps nothing:
// a dataless copy of a card's state, to replay a trace from there.
std::unique_ptr<PageStore> none_store_from(std::unique_ptr<PageStore> origin);

}  // namespace cardfs::sdcard
