#include "base/mount_table.h"

#include <libmount/libmount.h>
#include <sys/sysmacros.h>

#include <cstdio>
#include <cstring>
#include <memory>

namespace cardfs {

namespace {

struct TableFree {
  void operator()(libmnt_table* t) const { mnt_unref_table(t); }
};
using Table = std::unique_ptr<libmnt_table, TableFree>;

std::string text_or_empty(const char* s) { return s ? s : ""; }

// Bad lines are skipped: a table with one odd entry still says what it can.
int skip_bad_line(libmnt_table*, const char*, int) { return 1; }

Result<Table> new_table() {
  Table t(mnt_new_table());
  if (!t) return Status::error(ENOMEM, "libmount: no memory for a mount table");
  mnt_table_set_parser_errcb(t.get(), skip_bad_line);
  return t;
}

std::vector<MountEntry> entries_of(libmnt_table* t) {
  std::vector<MountEntry> out;
  libmnt_iter* it = mnt_new_iter(MNT_ITER_FORWARD);
  libmnt_fs* fs = nullptr;
  while (it && mnt_table_next_fs(t, it, &fs) == 0) {
    MountEntry e{text_or_empty(mnt_fs_get_source(fs)), text_or_empty(mnt_fs_get_target(fs)),
                 text_or_empty(mnt_fs_get_fstype(fs)), ""};
    if (mnt_fs_get_id(fs) > 0) {  // a mountinfo line: it carries the device
      const dev_t dev = mnt_fs_get_devno(fs);
      e.devno = std::to_string(major(dev)) + ":" + std::to_string(minor(dev));
    }
    out.push_back(std::move(e));
  }
  mnt_free_iter(it);
  return out;
}

}  // namespace

Result<std::vector<MountEntry>> parse_mount_table(std::string_view text) {
  CARDFS_ASSIGN_OR_RETURN(Table t, new_table());
  if (text.empty()) return std::vector<MountEntry>{};
  std::string copy(text);
  FILE* f = fmemopen(copy.data(), copy.size(), "r");
  if (!f) return Status::error(errno, std::string("fmemopen: ") + std::strerror(errno));
  const int rc = mnt_table_parse_stream(t.get(), f, "mount table text");
  std::fclose(f);
  if (rc < 0) return Status::error(-rc, "libmount could not parse the mount table");
  return entries_of(t.get());
}

Result<std::vector<MountEntry>> read_mount_table(const std::string& path) {
  CARDFS_ASSIGN_OR_RETURN(Table t, new_table());
  const int rc = mnt_table_parse_file(t.get(), path.c_str());
  if (rc < 0) return Status::error(-rc, "reading the mount table " + path + ": " + std::strerror(-rc));
  return entries_of(t.get());
}

}  // namespace cardfs
