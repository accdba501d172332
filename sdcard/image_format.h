// The card image's on-disk format: one file, little-endian, every field
// encoded explicitly (base/coding.h) and bounds-checked when decoded.
//
//   [0, 4 KiB)             header: magic, version, geometry, profile, CRC
//   2 checkpoint slots     FTL map checkpoints, written alternately
//   OOB region             32 bytes of out-of-band data per flash page
//   flash area             physical AUs, each pages_per_au flash pages
//   [last 4 KiB)           backup header (version 2)
//
// The OOB of a page lives in its own region rather than after the page so
// that the flash area keeps the AU's layout (an AU is one contiguous range
// of the file) and a power-on scan reads only the
// small OOB region. An all-zero OOB record is an erased page. Pure
// functions; thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "sdcard/geometry.h"
#include "sdcard/zeroed_array.h"

namespace cardfs::sdcard {

// Version 2 keeps a backup copy of the header in the image's last 4 KiB
// (as GPT keeps one at the end of the disk); version 1 images have none
// and still open (and stay version 1). Version 3 is version 2 whose OOB
// records may name a data slot other than their own page's (a page moved
// by a merge shares its source's data: sdcard/data_slots.h). Version 4
// adds, after the flash area, an erase table (an erase writes one 8-byte
// entry instead of zeroing an AU's records: a record belongs to the AU's
// erase generation it names) and a unit table (a page may name 4 KiB data
// units of its own: a partly rewritten page stores only what changed).
// Versions 2 and 3 are upgraded to 4 when opened read-write (the file
// grows by the two tables, their records stay valid), and cardfs before
// version 4 refuses it ("unsupported image version 4") rather than read
// erased pages as data. Version 5 adds, after the unit table, the clean
// map (CleanMap below): what a clean close leaves so that the next open
// rebuilds the map without reading every page's record. Version 6 adds,
// after it, a data CRC table (the page CRC of the data each unit list or
// slot holds, so that a list or slot describes its data by itself) and a
// merge table (one entry per physical AU: the pages a merge moved into
// it, each naming its data's list or slot, instead of a 32-byte record
// per moved page). Versions 2-5 are upgraded to 6 when opened read-write
// (the file grows by the tables they lack, all zeros: none), and an older
// cardfs refuses the version. Version 7 writes merge entries packed (each
// data name in data_name_bits() bits; MergeEntry below) in the same table:
// version 6 is upgraded by its header alone, and its entries still read.
// Version 8 adds, after the merge table, the name table: two slots
// written with the checkpoints (NameSlot below), each logical page's data
// name as of one checkpoint, so that a merge entry ("MRG3") lists only the
// pages whose names differ from a slot's; versions 2-7 are upgraded to 8
// (the file grows by the table, zeros: no slot written).
inline constexpr uint32_t kImageVersion = 8;
inline constexpr uint32_t kImageVersionNameTable = 8;
inline constexpr uint32_t kImageVersionPackedMerges = 7;
inline constexpr uint32_t kImageVersionMerges = 6;
inline constexpr uint32_t kImageVersionCleanMap = 5;
inline constexpr uint32_t kImageVersionUnits = 4;
inline constexpr uint32_t kImageVersionSlots = 3;
inline constexpr uint32_t kImageVersionNoSlots = 2;
inline constexpr uint32_t kImageVersionNoBackup = 1;
// The checkpoint's own format version (unchanged by versions 3 and 4).
inline constexpr uint32_t kCheckpointVersion = 2;
// Slots a record can name (30 bits of its flags word); more than a 2 TiB
// card of 16 KiB pages has.
inline constexpr uint64_t kMaxDataSlots = uint64_t(1) << 30;
// Unit lists a record can name (29 bits); a larger card lists none.
inline constexpr uint64_t kMaxUnitLists = uint64_t(1) << 29;
// Version 4 records keep their AU's erase generation in the top bits of
// the sequence number's field (2^40 programs: 16 PiB of 16 KiB pages).
inline constexpr int kSeqBits = 40;
inline constexpr uint32_t kGenerationMask = (uint32_t(1) << (64 - kSeqBits)) - 1;
inline constexpr size_t kEraseEntryBytes = 8;
// Data units: the grain at which a version 4 page names its data (a page
// of 16 KiB has 4); pages smaller than this are one unit.
inline constexpr uint32_t kUnitBytes = 4096;
inline constexpr size_t kHeaderBytes = 4096;
inline constexpr size_t kOobBytes = 32;
inline constexpr size_t kProfileNameBytes = 32;

// What the card has done over its whole life, kept in the header block
// after the header's own fields (a section of its own with a magic and a
// CRC, at kLifetimeOffset): images made before it have zeros there and
// open with every counter at zero; older readers ignore it.
struct Lifetime {
  uint64_t host_bytes_written = 0;
  uint64_t host_bytes_read = 0;
  uint64_t flash_bytes_programmed = 0;  // host pages and merge/GC copies
  uint64_t erases = 0;                  // AU erases
  uint64_t power_cycles = 0;            // read-write opens (the create counts)
  uint64_t unclean_shutdowns = 0;       // opens of an image not closed cleanly
  bool operator==(const Lifetime&) const = default;
};
inline constexpr size_t kLifetimeOffset = 512;

struct ImageHeader {
  Geometry geometry;
  std::string profile;  // profile name, at most kProfileNameBytes - 1 bytes
  uint32_t serial = 0;  // CID product serial number
  bool clean = false;   // closed cleanly: the newest checkpoint is complete
  uint32_t version = kImageVersion;
  Lifetime lifetime;
  // The lifetime section was there but damaged: its counters restart at zero.
  bool lifetime_lost = false;
};

struct ImageLayout {
  uint64_t checkpoint_slot_bytes = 0;
  uint64_t checkpoint_offset[2] = {0, 0};
  uint64_t oob_offset = 0;
  uint64_t flash_offset = 0;
  uint64_t erase_table_offset = 0;    // version 4: an entry per physical AU; 0: none
  uint64_t unit_table_offset = 0;     // version 4: units_per_page u32s per physical page; 0: none
  uint64_t clean_map_offset = 0;      // version 5: the CleanMap; 0: none
  uint64_t data_crc_offset = 0;       // version 6: kDataCrcBytes per data name; 0: none
  uint64_t merge_table_offset = 0;    // version 6: merge_entry_bytes(g) per physical AU; 0: none
  uint64_t name_table_offset = 0;     // version 8: two slots of name_slot_bytes(g); 0: none
  uint64_t backup_header_offset = 0;  // after the flash area; 0: none (version 1)
  uint64_t file_bytes = 0;
};

ImageLayout layout_for(const Geometry& g, uint32_t version = kImageVersion);
// Data units per page (version 4): page_bytes / kUnitBytes, at least 1.
uint32_t units_per_page(const Geometry& g);

void encode_header(const ImageHeader& h, std::span<std::byte, kHeaderBytes> out);
// EINVAL "bad magic" / "unsupported version" / "header checksum mismatch" /
// "bad geometry: ...".
Result<ImageHeader> decode_header(std::span<const std::byte> in);

// Out-of-band metadata programmed with every flash page. (In memory the
// fields are ordered to pack into 32 bytes: the power-on scan keeps one
// per physical page, 4 Mi of them on a 64 GiB card.)
struct OobRecord {
  uint64_t seq = 0;          // global program sequence number, from 1
  uint32_t logical_page = 0;
  uint32_t erase_count = 0;  // of the page's AU when programmed
  uint32_t data_crc = 0;     // crc32c of the page's data
  // The data slot holding the page's data (version 3; bit 1 of the flags
  // word says there is one, bits 2-31 hold it). Without one the data is
  // at the page's own slot (its own place in the flash area). With
  // has_units, the unit list's index.
  uint32_t slot = 0;
  // The erase generation of the page's AU when programmed (version 4;
  // kGenerationMask bits): the record is erased once the erase table says
  // the AU was erased since.
  uint32_t generation = 0;
  // Moved by a merge or GC from a page the card could not read (its record
  // was damaged), or a partial rewrite of a page whose copy failed its
  // check: the data is known bad and every read of it fails. Bit 0 of the
  // record's flags word (zero in images that predate it).
  bool uncorrectable = false;
  bool has_slot = false;
  // The page's data units are listed in the unit table (version 4, bit 2
  // of the flags word; has_slot is then clear): a partly rewritten page.
  // `slot` (bits 3-31) is then the list's index in the table: a moved page
  // names its source's list, as it names its source's units.
  bool has_units = false;
};
enum class OobState : uint8_t { kErased, kValid, kCorrupt };

void encode_oob(const OobRecord& r, std::byte* out);  // kOobBytes bytes
OobState decode_oob(const std::byte* in, OobRecord* out);

// Version 6 names a page's data by a *data name*: unit list n (n below
// the card's physical pages) or slot s (physical pages + s), an index into
// the data CRC table. Its entry: the CRC-32C of the page data the name
// holds, and a CRC binding it to the name and its units. A name whose
// entry does not check has no CRC (yet: written at its first merge).
inline constexpr size_t kDataCrcBytes = 8;
void encode_data_crc(uint32_t name, std::span<const uint32_t> units, uint32_t data_crc, std::byte* out);
OobState decode_data_crc(uint32_t name, std::span<const uint32_t> units, const std::byte* in, uint32_t* data_crc);

// A merge entry (version 6): the pages one merge (or fold) moved into
// physical AU `au` in its erase generation `generation`, each at its own
// offset: logical page lau * pages_per_au + slot, sequence numbers
// base_seq, base_seq + 1, ... in slot order, each with the data name of
// the page it was moved from (whose CRC entry gives the data's CRC).
// `verify` marks the pages whose name's unit list or CRC entry was written
// after the last checkpoint before the merge: only those can name an
// entry that a host crash lost (or a stale one of the name's earlier
// use), so those carry their data's CRC here and have their data checked
// at power-on.
struct MergeEntry {
  // A name an "MRG3" entry does not list: the page's name in the name
  // slot the entry predicts from (`slot_generation`, `slot_next_seq`).
  static constexpr uint32_t kUnlisted = 0xFFFF'FFFF;
  uint32_t au = 0;
  uint32_t generation = 0;
  uint32_t erase_count = 0;
  uint64_t base_seq = 0;
  uint32_t lau = 0;
  std::vector<uint32_t> slots;  // increasing
  std::vector<uint32_t> names;  // per slot, a data name
  std::vector<bool> verify;     // per slot
  std::vector<uint32_t> crcs;   // per slot, the data's CRC (kept for `verify` slots only)
  // Version 8 ("MRG3"): names kUnlisted are those of the name slot written
  // with the checkpoint of this generation (its low 32 bits) and next_seq.
  bool predicted = false;
  uint32_t slot_generation = 0;
  uint64_t slot_next_seq = 0;
};
// The bytes an entry takes in the table (a fixed size per AU).
size_t merge_entry_bytes(const Geometry& g);
// The bits a data name takes in a packed entry: enough for twice the
// card's physical pages (19 for a 2 GiB card).
uint32_t data_name_bits(const Geometry& g);
// Encodes into `out` (merge_entry_bytes(g) bytes); returns the bytes used.
// `packed` (version 7, "MRG2"): names in data_name_bits(g) bits each and
// the checked bitmap only when a page is checked; else version 6's "MRG1",
// 4 bytes per name. Sources: image_merge_format.cpp.
// A predicted entry (m.predicted) is always "MRG3" (packed). The bytes it
// would use: merge_entry_used_bytes (the caller picks the smaller form; a
// form larger than merge_entry_bytes(g) must not be encoded).
size_t encode_merge_entry(const MergeEntry& m, const Geometry& g, std::byte* out, bool packed);
size_t merge_entry_used_bytes(const MergeEntry& m, const Geometry& g, bool packed);
// Either encoding. kErased: never written; kCorrupt: damaged (magic, CRC,
// fields out of range).
OobState decode_merge_entry(uint32_t au, std::span<const std::byte> in, const Geometry& g, MergeEntry* out);

// A name slot (version 8): every logical page's data name (kNone: none)
// as the store knew it when it wrote the checkpoint of `generation`,
// whose next_seq it also keeps (the pair names the slot: a generation is
// written again after a crash lost it, a next_seq is not). Encoded: a
// 64-byte header (magic "NAMT", version, generation, next_seq, pages,
// payload CRC, header CRC), then per logical page its name + 1 (0: none)
// in just the bits 2 x physical pages need (20 on a 2 GiB card), so that
// the slot of a card mostly unwritten is mostly zeros.
struct NameSlot {
  static constexpr uint32_t kNone = 0xFFFF'FFFF;
  uint64_t generation = 0;
  uint64_t next_seq = 0;
  std::vector<uint32_t> names;  // per logical page
};
uint64_t name_slot_bytes(const Geometry& g);
// The bytes of a slot its header and names take (the rest is padding).
uint64_t name_region_bytes(const Geometry& g);
inline constexpr size_t kNameSlotHeaderBytes = 64;
// Into `out` (resized to name_slot_bytes(g)).
void encode_name_slot(const NameSlot& s, const Geometry& g, std::vector<std::byte>& out);
// The same in place (a slot of name_slot_bytes(g)): logical page lp's name
// into an encoded slot, and the header (with the payload's CRC) once every
// name is in; a name read back.
void put_slot_name(std::span<std::byte> slot, const Geometry& g, uint64_t lp, uint32_t name);
uint32_t slot_name(std::span<const std::byte> slot, const Geometry& g, uint64_t lp);
void seal_name_slot(std::span<std::byte> slot, const Geometry& g, uint64_t generation, uint64_t next_seq);
// The header alone, given the CRC of the names (what seal_name_slot writes).
void encode_name_slot_header(std::span<std::byte, kNameSlotHeaderBytes> out, const Geometry& g, uint64_t generation,
                             uint64_t next_seq, uint32_t payload_crc);
// Checks magic, CRCs, the size and that each name is below twice the
// card's physical pages. All-zero header: ENOENT (never written).
Result<NameSlot> decode_name_slot(std::span<const std::byte> in, const Geometry& g);

// An erase table entry (version 4): the AU's erase generation, which
// counts the erases the image has seen of it, with a CRC binding it to
// the AU. All zero: generation 0 (never erased since version 4).
void encode_erase_entry(uint32_t au, uint32_t generation, std::byte* out);  // kEraseEntryBytes
OobState decode_erase_entry(uint32_t au, const std::byte* in, uint32_t* generation);

// Role of a physical AU, as checkpointed.
enum class AuRole : uint8_t { kFree = 0, kLog = 1, kData = 2, kErasing = 3 };

struct AuRecord {
  uint32_t erase_count = 0;
  AuRole role = AuRole::kFree;
  bool in_place = true;   // every programmed page sits at its own offset
  uint32_t owner = 0;     // logical AU (block FTL); 0 otherwise
};

// A checkpoint of the FTL: for every logical page the sequence number of
// its valid copy (0: unmapped) as of `seq`, and every physical AU's state.
// Decoded, the sequence numbers are in zero pages (the FTL takes them as
// its own): those of a card's unused pages are never touched.
struct Checkpoint {
  uint64_t generation = 0;  // increases with every checkpoint written
  uint64_t seq = 0;         // every page programmed with seq <= this is covered
  uint64_t next_seq = 1;
  uint32_t payload_crc = 0;  // as its header says (decode_checkpoint_header)
  ZeroedArrayOf<uint64_t> page_seq;
  std::vector<AuRecord> aus;
};

// A checkpoint to write: the sequence numbers are the FTL's own array (32
// MiB on a 64 GiB card, not copied); empty: all zero (a new card's).
struct CheckpointView {
  uint64_t generation = 0;
  uint64_t seq = 0;
  uint64_t next_seq = 1;
  std::span<const uint64_t> page_seq;
  std::vector<AuRecord> aus;
};

// Bytes of a checkpoint of g (its encoding's size, at most a slot's).
uint64_t checkpoint_bytes(const Geometry& g);
// Bytes at the start of a checkpoint that hold its header.
inline constexpr size_t kCheckpointHeaderBytes = 64;
// A checkpoint is encoded in pieces, so that it is written a block at a
// time from the FTL's arrays without a copy of it whole: the header
// (kCheckpointHeaderBytes, with the CRC of the payload that follows it),
// then the sequence numbers (u64 each: on a little-endian host the array
// is its own encoding), then the AU records.
void encode_checkpoint_header(const CheckpointView& c, uint64_t pages, uint32_t payload_crc,
                              std::span<std::byte, kCheckpointHeaderBytes> out);
std::vector<std::byte> encode_au_records(std::span<const AuRecord> aus);
// The header (the first kCheckpointHeaderBytes): magic, its CRC, and
// that the sizes match g; the generation, seq, next_seq and the payload's
// CRC filled, no pages or AUs. An all-zero header is ENOENT (never
// written). What an open reads of both slots to read only the newer one;
// the payload is read by the store (only where the image holds data) and
// checked against the CRC, its sequence numbers none newer than seq.
Result<Checkpoint> decode_checkpoint_header(std::span<const std::byte> in, const Geometry& g);
// The AU records (after the sequence numbers), each checked.
Status decode_au_records(std::span<const std::byte> in, const Geometry& g, std::vector<AuRecord>& out);

// What a clean close leaves beside its checkpoint (version 5), so that the
// next open rebuilds the card's map from it instead of from every page's
// OOB record (137 MiB of them on a 64 GiB card): for every physical page
// what the FTL knows of it (erased, stale, or the valid copy of a logical
// page) and where the store keeps its data. It holds only with the
// checkpoint of its generation on an image marked clean: a read-write
// open marks the image not clean before it changes anything, so after a
// crash the open scans as before. Encoded: a 64-byte header (magic,
// version, generation, pages, payload CRC, header CRC), then the holders
// (u32 each: 0 erased, 1 stale, logical page + 2) and the data names (u32
// each, the store's: CleanMap::kOwnData, a slot or a unit list), so that
// the map of a card mostly erased is mostly zeros and its blocks holes.
struct CleanMap {
  static constexpr uint32_t kErased = 0xFFFF'FFFF;  // holder: the page is erased
  static constexpr uint32_t kStale = 0xFFFF'FFFE;   // holder: programmed, no valid copy
  static constexpr uint32_t kOwnData = 0;           // data: the page's own units (or erased)
  // Data names: slot s (its own run of units) or unit list l (the unit table).
  static uint32_t slot_data(uint32_t s) { return (s + 1) << 1; }
  static uint32_t list_data(uint32_t l) { return l << 1 | 1; }
  // A holder as the map stores it (0 erased, 1 stale, logical page + 2),
  // which is also how the FTL keeps it in memory (zero: erased).
  static uint32_t encode_holder(uint32_t h) { return h == kErased ? 0 : h == kStale ? 1 : h + 2; }
  static uint32_t decode_holder(uint32_t v) { return v == 0 ? kErased : v == 1 ? kStale : v - 2; }
  uint64_t generation = 0;  // of the checkpoint written with it
  uint32_t payload_crc = 0;  // as its header says
};
uint64_t clean_map_bytes(const Geometry& g);
// Its header (kCheckpointHeaderBytes), with the CRC of the payload that
// follows it: the holders of the `pages` physical pages as the clean map
// stores them (CleanMap::encode_holder), then their data names.
void encode_clean_map_header(uint64_t generation, uint64_t pages, uint32_t payload_crc,
                             std::span<std::byte, kCheckpointHeaderBytes> out);
// Its header (kCheckpointHeaderBytes): magic, CRC, size; generation and
// the payload's CRC set. An all-zero header is ENOENT (none written since
// version 5). The payload (holders and data names) is the store's to read
// and check (image_clean_map.cpp).
Result<CleanMap> decode_clean_map_header(std::span<const std::byte> in, const Geometry& g);

}  // namespace cardfs::sdcard
