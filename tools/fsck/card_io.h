// CardIo: an ImageIo over an emulated SD card (the FTL's logical view),
// and the checks fsck makes of the card's own metadata.
//
// Contract: the Card outlives the CardIo; calls are serialised by the Card.
#pragma once

#include <string>
#include <vector>

#include "sdcard/card.h"
#include "tools/fsck/image_io.h"

namespace cardfs::fsck {

class CardIo final : public ImageIo {
 public:
  CardIo(sdcard::Card& card, bool read_only) : card_(card), read_only_(read_only) {}
  uint64_t size() const override;
  bool read_only() const override { return read_only_; }
  Status read(uint64_t offset, std::span<std::byte> out) override;
  Status write(uint64_t offset, std::span<const std::byte> in) override;
  Status flush() override;
  // The card's unreadable pages (Card::unreadable_pages), as byte ranges.
  Result<std::vector<Range>> unreadable_ranges() override;

 private:
  Status transfer(bool write, uint64_t sector, std::span<std::byte> buf);
  sdcard::Card& card_;
  bool read_only_;
};

// The card's metadata as the sdcard layer exposes it after open (which
// already verified the header and rebuilt the map from out-of-band data
// when the checkpoint was stale): geometry bounds, every AU's state, the
// logical-to-physical map being one-to-one, open AUs within the profile's
// limit. One sentence per finding; empty when consistent.
struct CardFinding {
  std::string message;
  // A state the card's power-on recovery resolves on its own the next time
  // it is opened read-write (a logical AU left over several AUs by an
  // unclean stop, seen by a read-only open): reported, not an error, as
  // e2fsck treats a journal that needs recovery.
  bool recovery_resolves = false;
};
// `read_only`: the card was opened read-only (its power-on recovery did not run).
std::vector<CardFinding> check_card(const sdcard::Card& card, bool read_only = false);

}  // namespace cardfs::fsck
