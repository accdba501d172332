// Blocks the image cannot read (a card's pages its ECC cannot correct):
// found before pass 1, reported with their owners after pass 3. fsck never
// rewrites around them: it names the files that lost data and leaves them
// (and everything an unreadable indirect block may map) as they are.
#include <map>

#include "tools/fsck/checker.h"

namespace cardfs::fsck {

using namespace fusefs;

namespace {

// "12--15, 40": runs of consecutive block numbers.
std::string runs_of(const std::vector<uint64_t>& blocks) {
  std::string out;
  for (size_t i = 0; i < blocks.size();) {
    size_t j = i;
    while (j + 1 < blocks.size() && blocks[j + 1] == blocks[j] + 1) ++j;
    out += (out.empty() ? "" : ", ") + std::to_string(blocks[i]) + (j > i ? "--" + std::to_string(blocks[j]) : "");
    i = j + 1;
  }
  return out;
}

std::string blocks_phrase(const std::vector<uint64_t>& blocks) {
  return std::to_string(blocks.size()) + (blocks.size() == 1 ? " unreadable block (" : " unreadable blocks (") +
         runs_of(blocks) + ")";
}

}  // namespace

Status Checker::find_unreadable() {
  CARDFS_ASSIGN_OR_RETURN(std::vector<ImageIo::Range> ranges, io_.unreadable_ranges());
  for (const ImageIo::Range& r : ranges) {
    if (r.length == 0) continue;
    for (uint64_t b = r.offset / bs_; b <= (r.offset + r.length - 1) / bs_ && b < sb_.blocks_count; ++b)
      blocks_.mark_unreadable(b);
  }
  return Status::ok();
}

Status Checker::report_unreadable() {
  std::map<uint32_t, std::vector<uint64_t>> by_owner;  // kOwnerMeta: metadata
  for (uint64_t b : blocks_.unreadable_blocks())
    if (b < owner_.size() && owner_[b] != kOwnerFree) by_owner[owner_[b]].push_back(b);  // a free one is rewritten before use
  for (const auto& [owner, blocks] : by_owner) {
    if (owner == kOwnerMeta) {
      report_only(Problem::kUnreadableBlock, "Filesystem metadata has " + blocks_phrase(blocks) + ".");
      continue;
    }
    report_only(Problem::kUnreadableBlock,
                "Inode " + std::to_string(owner) + " (" + path_of(owner) + ") has " + blocks_phrase(blocks) +
                    ": the card cannot read them, their data is lost. Not fixed: restore or rewrite the file.");
  }
  return Status::ok();
}

}  // namespace cardfs::fsck
