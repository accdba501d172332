// Card::repair: what keeps a card image from opening, put right where the
// card itself can (`cardfs card repair`, docs/sdcard.md "Repair").
#include "sdcard/card.h"
#include "sdcard/card_impl.h"

namespace cardfs::sdcard {

Result<std::vector<std::string>> Card::repair(const std::string& path, Clock& clock) {
  CARDFS_ASSIGN_OR_RETURN(std::unique_ptr<PageStore> store, image_store(path, OpenMode::kReadWrite));
  // Falls back to the backup header when the primary is damaged.
  CARDFS_ASSIGN_OR_RETURN(ImageHeader header, store->read_header());
  CARDFS_ASSIGN_OR_RETURN(std::vector<std::string> done, store->repair(header));
  CardOptions o;
  o.rebuild_map = true;
  o.durable = true;  // what was repaired is on disk when this returns
  CARDFS_ASSIGN_OR_RETURN(std::unique_ptr<Card> card, open(std::move(store), clock, o));
  if (card->checkpoint_lost())
    done.push_back("no checkpoint slot was valid: the map was rebuilt from the out-of-band records and "
                   "checkpointed (pages trimmed since they were last written may read their old data again)");
  CARDFS_RETURN_IF_ERROR(card->close());
  return done;
}

}  // namespace cardfs::sdcard
