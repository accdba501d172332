// Checker: the state fsck's passes share (internal header).
//
// Pass order and what each leaves behind:
//   super   sb_, gd_ (descriptors whose locations are trusted)
//   orphans the orphan list's inodes cleared (-n: pending_orphans_)
//   pass 1  ino_[] (mode, links, in use), owner_[] (who owns each block),
//           dirs_ (directory inodes in order)
//   pass 2  ino_[].refs, parent entries, names for paths
//   pass 3  every directory connected; lost+found known
//   pass 4  link counts equal refs
//   pass 5  bitmaps and counts rewritten from owner_[] and ino_[]
// Fixes are written through write_block() at once (never under Mode::kNo).
//
// Checker runs the passes (one file each) over two parts that keep their
// own state: ImageBlocks (reads, the block cache, unreadable blocks,
// writes refused under -n) and Findings (asking, preening, the report).
// What the passes hand each other is the public state below the pass
// list: each pass reads what the ones before it left (the table above).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "fusefs/journal_format.h"
#include "fusefs/layout.h"
#include "fusefs/format.h"
#include "tools/fsck/findings.h"
#include "tools/fsck/fsck.h"
#include "tools/fsck/image_blocks.h"

namespace cardfs::fsck {

using fusefs::PointerRef;
using fusefs::Visit;

inline constexpr uint32_t kOwnerFree = 0;
inline constexpr uint32_t kOwnerMeta = 0xFFFFFFFFu;

struct InodeState {
  uint16_t mode = 0;        // 0: free
  uint16_t links = 0;       // on disk
  uint32_t refs = 0;        // entries naming it (pass 2), incl. '.' and '..'
  uint32_t dotdot = 0;      // directories: what '..' names
  uint32_t parent = 0;      // directory holding its first entry (pass 2)
  std::string name;         // that entry's name
  uint64_t size = 0;
  uint64_t data_blocks = 0; // blocks owned (data + indirect)
  bool has_index = false;   // directory with the hash-index flag
};

class Checker {
 public:
  Checker(ImageIo& io, const FsckOptions& o);
  Result<FsckReport> run();

  // ---- blocks and inodes (ImageBlocks)
  // EIO for a block known to be unreadable, and a block whose read fails
  // with EIO becomes known as one.
  Result<std::vector<std::byte>> read_block(uint64_t block) { return blocks_.read(block); }
  // read_block for walks of block maps: an unreadable indirect block reads
  // as zeros (what it pointed to is unknown: report_unreadable() names its
  // owner, and pass 5 frees nothing that might be below it).
  Result<std::vector<std::byte>> read_map_block(uint64_t block) { return blocks_.read_map(block); }
  bool unreadable(uint64_t block) const { return blocks_.unreadable(block); }
  Status write_block(uint64_t block, std::span<const std::byte> data);
  Result<fusefs::DiskInode> read_inode(uint32_t ino);  // checksum not checked
  Status write_inode(uint32_t ino, const fusefs::DiskInode& d);
  // ---- findings (Findings)
  // Records the finding; true when it should be fixed now.
  bool ask(Problem p, const std::string& message) { return findings_.ask(p, message); }
  // A finding fsck reports but never fixes (counted as left uncorrected).
  void report_only(Problem p, const std::string& message) { findings_.report_only(p, message); }
  void say(const std::string& line) { findings_.say(line); }
  void header(const std::string& title) { findings_.header(title); }
  bool cancelled() const { return findings_.cancelled(); }
  FsckReport& report() { return findings_.report(); }
  // ---- used by the passes
  std::string path_of(uint32_t ino) const;
  bool valid_data_block(uint64_t block) const;
  bool is_dir(uint32_t ino) const;
  // Walks d's pointer tree (fusefs::walk_pointer_tree) over
  // read_map_block, bounded by valid_data_block.
  Status walk_map(const fusefs::DiskInode& d,
                  const std::function<Result<Visit>(const PointerRef&, uint64_t block)>& enter);
  // Data pointers may be marked unwritten (kIncompatUnwritten).
  bool unwritten() const { return sb_.feature_incompat & fusefs::kIncompatUnwritten; }
  bool in_use(uint32_t ino) const { return ino >= 1 && ino <= sb_.inodes_count && ino_[ino].mode; }
  uint64_t inode_table(uint32_t group) const { return gd_[group].inode_table; }
  // A free data block (per owner_), claimed for `ino`; 0 when none.
  uint64_t allocate_block(uint32_t ino);
  // Whether the on-disk block bitmap marks `block` in use (or cannot say).
  bool marked_in_use(uint64_t block);
  // Adds name -> ino to lost+found; false (with a finding) when impossible.
  Result<bool> link_into_lost_found(uint32_t ino);
  // ---- building repairs (repair.cpp); each claims blocks in owner_.
  // A fresh block of zeroes owned by `ino`.
  Result<uint64_t> zeroed_block(uint32_t ino);
  // Points file block fb of d at `disk`, adding indirect blocks as needed
  // (d.blocks counts them); the caller writes d.
  Status map_file_block(uint32_t ino, fusefs::DiskInode& d, uint64_t fb, uint64_t disk);
  // An empty, sealed directory block at file block fb of dir (with '.' and
  // '..' -> parent when fb is 0); grows d.size; the caller writes d.
  Result<uint64_t> new_dir_block(uint32_t dir, fusefs::DiskInode& d, uint64_t fb, uint32_t parent);
  // `want` when it is free, else the first free inode; 0 when none.
  uint32_t free_inode(uint32_t want) const;
  // A new empty directory at inode `ino` whose '..' names parent.
  Status make_directory(uint32_t ino, uint32_t parent, uint16_t perm);
  // Adds an entry (growing the directory when it is full; clears its
  // index flag, as a plain add would break the hash order).
  Result<bool> add_entry(uint32_t dir, const std::string& name, uint32_t ino);
  // Removes the entry `name` if it names `ino`; false when there is none.
  Result<bool> remove_entry(uint32_t dir, const std::string& name, uint32_t ino);
  // Frees an inode's blocks in owner_ and zeroes its record.
  Status clear_inode(uint32_t ino);

  // The image's unreadable blocks (ImageIo::unreadable_ranges), before pass 1.
  Status find_unreadable();
  // After pass 3 (paths are known): who owns each unreadable block.
  Status report_unreadable();
  // Before check_super: a dirty journal is replayed (not under -n), as
  // e2fsck does (tools/fsck/journal.cpp).
  Status replay_journal();
  // After check_super: where the journal is (its blocks are metadata in
  // pass 1), or a finding when it cannot be found.
  Status check_journal();
  Status check_super();
  void check_backups();
  // The orphan list (orphans.cpp): cleared before pass 1, noted under -n.
  Result<std::vector<uint32_t>> orphan_chain(std::string* broken);
  Status release_orphans();
  Status write_superblocks();
  Status pass1();
  Status pass1b();
  // Pass 1's i_blocks and directory-size checks, for an inode pass 1B changed.
  Status recheck_counts(uint32_t ino);
  Status check_root();
  Status pass2();
  Status pass3();
  Status pass4();
  Status pass5();
  Status keep_unowned(uint32_t group, std::vector<std::byte>& bmap);  // pass 5, after unknown subtrees

  // ---- the state the passes share
  ImageIo& io_;
  const FsckOptions& o_;
  fusefs::Superblock sb_;
  uint64_t sb_block_ = 0;  // where the superblock in use was read from (0: primary)
  uint32_t bs_ = 0, seed_ = 0;
  std::vector<fusefs::GroupDesc> gd_;
  std::vector<InodeState> ino_;   // index: inode number
  std::vector<uint32_t> owner_;   // index: block number
  std::vector<uint32_t> dirs_;    // directory inodes, ascending
  struct DupClaim {
    uint32_t ino;
    PointerRef ref;
    uint32_t block;
  };
  std::vector<DupClaim> dups_;
  fusefs::journal::JournalExtent journal_;  // blocks 0: no journal
  // Pointers inside indirect blocks that pass 1 was told to clear; cleared
  // after pass 1B, once every block has one owner.
  std::vector<PointerRef> late_clears_;
  // Entries naming directories (pass 2), resolved once every directory has
  // been read: a directory keeps one name, preferably in the directory its
  // '..' names.
  struct DirLink {
    uint32_t dir;
    std::string name;
  };
  std::map<uint32_t, std::vector<DirLink>> dir_links_;
  uint32_t lost_found_ = 0;
  std::set<uint32_t> pending_orphans_;  // -n: on the orphan list, freed by the next mount
  bool gdt_dirty_ = false;      // descriptors need rewriting
  bool rewrite_super_ = false;  // primary or backups need rewriting in pass 5

 private:
  ImageBlocks blocks_;
  Findings findings_;
};

// The directory hash of the image (the filesystem's seeded hash).
uint32_t name_hash(const fusefs::Superblock& sb, std::string_view name);

}  // namespace cardfs::fsck
