// ImageStore's name table (image version 8): two slots, written with the
// checkpoints, each holding every logical page's data name as of one
// checkpoint, so that a merge entry lists only the moved pages whose names
// differ from the newest slot's ("MRG3", image_merge_format.cpp).
//
// Under random 4 KiB writes with fsync over a 1 GiB file on a block-FTL
// card nearly every write merges a whole AU, and an entry naming each of
// its ~250 pages (19 bits each) was 0.14 image bytes per byte written
// (issue 23). A moved page keeps its data name, and a name changes only
// when its logical page is programmed, so between two checkpoints (4096
// programs) few of a merge's pages have a name the slot does not give.
//
// Why a crash loses nothing (docs/sdcard.md, "Name slots"):
// - A slot is written after its checkpoint and, on a durable card, synced
//   with it (Card::Impl::write_checkpoint), before any merge predicts from
//   it; a merge's sources are erased only after a later sync. An entry
//   whose slot does not decode (a host crash tore it) was written after
//   the last sync, so its sources remain: it is dropped as a torn entry
//   is, its sequence numbers counted as used.
// - A slot is named by its checkpoint's generation and next_seq together:
//   a generation is written again after a crash lost it, but with a
//   larger next_seq (the dropped entries' sequence numbers are used), so
//   an entry never decodes with a slot it did not predict from.
// - Once the slot an entry predicted from is overwritten (two checkpoints
//   later), every page of the entry is covered by the checkpoint the open
//   uses: a page that is the current copy there has the name the slot of
//   that checkpoint (or the one before, which an older entry's page was
//   current at too) gives its logical page; any other is stale, never
//   read again, and dropped.
#include <optional>

#include "base/log.h"
#include "sdcard/image_store.h"

namespace cardfs::sdcard {

uint32_t ImageStore::predicted_name(uint64_t lp) const {
  return names_known_ && lp < geometry_.user_pages() ? slot_name(name_slot_.span(), geometry_, lp) : NameSlot::kNone;
}

// The names of the current copies: the store's latest copy of each
// logical page the checkpoint maps (a trimmed page has none).
// Written as the checkpoint is (write_region: only changed blocks). The
// slot is kept in zero pages and only names that are or were set are
// written into it: a large card's unused pages cost neither memory nor
// time (a 64 GiB card's slot is 12 MiB).
Status ImageStore::write_name_slot(const CheckpointView& c) {
  names_known_ = false;
  if (layout_.name_table_offset == 0 || !merges_) return Status::ok();
  const uint64_t pages = geometry_.user_pages();
  if (name_slot_.size() != name_slot_bytes(geometry_)) name_slot_.reset(name_slot_bytes(geometry_));
  const std::span<std::byte> slot_bytes = name_slot_.span();
  for (uint64_t lp = 0; lp < pages; ++lp) {
    uint32_t name = NameSlot::kNone;
    if (lp < c.page_seq.size() && c.page_seq[lp] != 0) {
      const uint32_t pp = latest(lp);
      if (pp != DataSlots::kNone && !slots_.erased(pp)) name = crc_name(pp);
    }
    if (name != NameSlot::kNone || slot_name(slot_bytes, geometry_, lp) != NameSlot::kNone)
      put_slot_name(slot_bytes, geometry_, lp, name);
  }
  const int slot = int(c.generation % 2);
  const std::span<const std::byte> payload =
      slot_bytes.subspan(kNameSlotHeaderBytes, name_region_bytes(geometry_) - kNameSlotHeaderBytes);
  const RegionPiece pieces[] = {{payload.data(), payload.size()}};
  CARDFS_RETURN_IF_ERROR(write_region(layout_.name_table_offset + slot * name_slot_bytes(geometry_), pieces,
                                      [&](uint32_t crc, std::span<std::byte, kCheckpointHeaderBytes> out) {
                                        encode_name_slot_header(out, geometry_, c.generation, c.next_seq, crc);
                                      },
                                      name_sums_[slot]));
  names_known_ = true;
  names_generation_ = c.generation;
  names_next_seq_ = c.next_seq;
  return Status::ok();
}

// Both slots, whole; one that does not decode (never written, torn,
// damaged) is left out.
Status ImageStore::load_name_slots(std::vector<NameSlot>& out) {
  out.clear();
  if (layout_.name_table_offset == 0) return Status::ok();
  std::vector<std::byte> buf(name_slot_bytes(geometry_));
  for (int slot = 0; slot < 2; ++slot) {
    CARDFS_RETURN_IF_ERROR(medium_->read_at(layout_.name_table_offset + slot * buf.size(), buf));
    Result<NameSlot> s = decode_name_slot(buf, geometry_);
    if (s.is_ok()) {
      out.push_back(std::move(s).value());
    } else if (s.status().code() != ENOENT) {
      logger("sdcard")->warn("{}: ignoring name slot {}: {}", name(), slot, s.status().message());
    }
  }
  return Status::ok();
}

namespace {

const NameSlot* find_slot(const std::vector<NameSlot>& slots, uint64_t generation, std::optional<uint64_t> next_seq) {
  for (const NameSlot& s : slots)
    if ((next_seq ? uint32_t(s.generation) == uint32_t(generation) && s.next_seq == *next_seq
                  : s.generation == generation))
      return &s;
  return nullptr;
}

}  // namespace

// m's unlisted names from the slots (case by case above). Pages that are
// stale at the checkpoint `ckpt` keep kUnlisted (the caller drops them);
// false when the entry cannot be decoded at all.
bool ImageStore::resolve_names(MergeEntry& m, const std::vector<NameSlot>& slots, const Checkpoint* ckpt) const {
  if (!m.predicted) return true;
  const uint32_t ppa = geometry_.pages_per_au;
  if (const NameSlot* s = find_slot(slots, m.slot_generation, m.slot_next_seq)) {
    for (size_t i = 0; i < m.names.size(); ++i)
      if (m.names[i] == MergeEntry::kUnlisted) m.names[i] = s->names[m.lau * ppa + m.slots[i]];
    return true;
  }
  if (ckpt == nullptr || m.base_seq + m.slots.size() - 1 > ckpt->seq) return false;
  const NameSlot* s = find_slot(slots, ckpt->generation, std::nullopt);
  if (s == nullptr && ckpt->generation > 0) s = find_slot(slots, ckpt->generation - 1, std::nullopt);
  for (size_t i = 0; i < m.names.size(); ++i) {
    const uint64_t lp = uint64_t(m.lau) * ppa + m.slots[i];
    if (m.names[i] != MergeEntry::kUnlisted || lp >= ckpt->page_seq.size()) continue;
    if (ckpt->page_seq[lp] == m.base_seq + i && s != nullptr) m.names[i] = s->names[lp];
  }
  return true;
}

}  // namespace cardfs::sdcard
