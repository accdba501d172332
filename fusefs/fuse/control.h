// ControlTree: the files of the hidden control directory MOUNT/.cardfs/,
// as a table of names with a reader and, for tunables, a writer (the way
// sysfs exposes a driver's attributes).
//
// Contract
// - Paths are relative to .cardfs/ ("vm/dirty_ratio"); directories are
//   implied by the paths. Each node gets a stable inode number counted up
//   from the base given to the constructor, so the FUSE adapter can tell
//   control inodes from filesystem ones by range.
// - read() snapshots the whole content (the adapter does so at open, so a
//   reader sees one consistent snapshot); write() applies one value, with
//   surrounding whitespace ignored, and returns EINVAL with a message for
//   bad input, EACCES for read-only files.
// - Built once before the session starts; afterwards only const methods
//   are called, from any thread. Readers and writers must be thread-safe.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace cardfs::fuse {

struct ControlFile {
  std::string path;                                   // "queue/scheduler"
  std::function<std::string()> read;                  // the file's content
  std::function<Status(std::string_view)> write;      // null: read-only
  // Instead of write, for a file whose value depends on who writes it:
  // gets the writing process's pid too (0 if unknown).
  std::function<Status(std::string_view, pid_t)> write_from = nullptr;
};

class ControlTree {
 public:
  inline static const std::string kDirName = ".cardfs";

  // Node 0 (the .cardfs directory itself) gets inode base_ino.
  explicit ControlTree(uint64_t base_ino) : base_ino_(base_ino) { nodes_.push_back({"", true}); }

  // Adds a file (and any missing parent directories).
  void add(ControlFile file);

  uint64_t root_ino() const { return base_ino_; }
  bool owns(uint64_t ino) const { return ino >= base_ino_ && ino < base_ino_ + nodes_.size(); }

  struct Entry {
    uint64_t ino;
    std::string name;  // the last component
    bool is_dir;
    bool writable;
  };
  std::optional<Entry> lookup(uint64_t parent_ino, std::string_view name) const;
  std::optional<Entry> stat(uint64_t ino) const;
  // Children of a directory node, in insertion order.
  std::vector<Entry> list(uint64_t dir_ino) const;

  Result<std::string> read(uint64_t ino) const;
  // `writer` is the pid of the process writing (FUSE's request context).
  Status write(uint64_t ino, std::string_view value, pid_t writer = 0) const;

 private:
  struct Node {
    std::string path;
    bool is_dir;
    int file = -1;  // index into files_
  };
  Entry entry(size_t index) const;
  size_t ensure_dir(const std::string& path);
  std::optional<size_t> find(const std::string& path) const;

  uint64_t base_ino_;
  std::vector<Node> nodes_;
  std::vector<ControlFile> files_;
};

// Strips spaces and newlines around a written value ("20\n" -> "20").
std::string_view trim_value(std::string_view v);

}  // namespace cardfs::fuse
