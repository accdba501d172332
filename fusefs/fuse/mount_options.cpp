#include "fusefs/fuse/mount_options.h"

#include <unistd.h>

#include <algorithm>
#include <sstream>
#include <functional>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "base/parse.h"

namespace cardfs::fuse {
namespace {

Status invalid(const std::string& msg) { return Status::error(EINVAL, msg); }

// Splits "a=1,b=x\,y" into {"a=1", "b=x,y"}; empty items are dropped.
std::vector<std::string> split_options(const std::string& arg) {
  std::vector<std::string> items;
  std::string cur;
  for (size_t i = 0; i < arg.size(); ++i) {
    if (arg[i] == '\\' && i + 1 < arg.size()) {
      cur += arg[++i];
    } else if (arg[i] == ',') {
      if (!cur.empty()) items.push_back(cur);
      cur.clear();
    } else {
      cur += arg[i];
    }
  }
  if (!cur.empty()) items.push_back(cur);
  return items;
}

struct Item {
  std::string name;
  std::optional<std::string> value;
};

using Handler = std::function<Status(const Item&, MountOptions&)>;

Status need_no_value(const Item& it) {
  if (it.value) return invalid("option '" + it.name + "' takes no value");
  return Status::ok();
}

Result<std::string> need_value(const Item& it) {
  if (!it.value || it.value->empty())
    return invalid("option '" + it.name + "' needs a value (" + it.name + "=...)");
  return *it.value;
}

Handler flag(bool MountOptions::*field, bool value) {
  return [field, value](const Item& it, MountOptions& o) {
    CARDFS_RETURN_IF_ERROR(need_no_value(it));
    o.*field = value;
    return Status::ok();
  };
}

// An unsigned tunable within [lo, hi].
Handler bounded(std::optional<uint32_t> MountOptions::*field, uint64_t lo, uint64_t hi) {
  return [=](const Item& it, MountOptions& o) -> Status {
    CARDFS_ASSIGN_OR_RETURN(std::string text, need_value(it));
    auto v = parse_uint(text);
    if (!v.is_ok()) return v.status().with_context(it.name);
    if (*v < lo || *v > hi)
      return invalid(it.name + ": " + text + " is out of range " + std::to_string(lo) + ".." +
                     std::to_string(hi));
    o.*field = uint32_t(*v);
    return Status::ok();
  };
}

// Physical memory, in bytes (0 when the system does not say).
uint64_t machine_memory() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? uint64_t(pages) * uint64_t(page) : 0;
}

// A cache larger than the machine could never be filled without swapping
// or the OOM killer ending the daemon with everything dirty in it: refused
// (at mount, SIGHUP and vm/cache_size alike) rather than clamped, so that
// what was asked is never silently something else.
Status set_cache_size(const Item& it, MountOptions& o) {
  CARDFS_ASSIGN_OR_RETURN(std::string text, need_value(it));
  auto v = parse_size(text);
  if (!v.is_ok()) return v.status().with_context("cache_size");
  if (*v < (1u << 20)) return invalid("cache_size: " + text + " is below the minimum of 1M");
  if (const uint64_t mem = machine_memory(); mem && *v > mem)
    return invalid("cache_size: " + text + " is more than this machine's memory (" +
                   std::to_string(mem >> 20) + " MiB)");
  o.cache_size = *v;
  return Status::ok();
}

Status set_scheduler(const Item& it, MountOptions& o) {
  CARDFS_ASSIGN_OR_RETURN(std::string text, need_value(it));
  if (text == "none") {
    o.scheduler = Scheduler::kNone;
  } else if (text == "mq-deadline") {
    o.scheduler = Scheduler::kMqDeadline;
  } else {
    return invalid("scheduler: '" + text + "' is not one of none, mq-deadline");
  }
  return Status::ok();
}

Status set_string(const Item& it, std::string& field) {
  CARDFS_ASSIGN_OR_RETURN(field, need_value(it));
  return Status::ok();
}

const std::unordered_map<std::string, Handler>& handlers() {
  static const std::unordered_map<std::string, Handler> table = {
      {"ro", flag(&MountOptions::read_only, true)},
      {"rw", flag(&MountOptions::read_only, false)},
      {"allow_other", flag(&MountOptions::allow_other, true)},
      {"default_permissions", flag(&MountOptions::default_permissions, true)},
      {"direct_io", flag(&MountOptions::direct_io, true)},
      {"sync", flag(&MountOptions::sync, true)},
      {"async", flag(&MountOptions::sync, false)},
      {"xattr", flag(&MountOptions::xattr, true)},
      {"noxattr", flag(&MountOptions::xattr, false)},
      {"acl", flag(&MountOptions::acl, true)},
      {"noacl", flag(&MountOptions::acl, false)},
      {"realtime", flag(&MountOptions::realtime, true)},
      {"durable", flag(&MountOptions::durable, true)},
      {"fsname", [](const Item& it, MountOptions& o) { return set_string(it, o.fsname); }},
      {"trace", [](const Item& it, MountOptions& o) { return set_string(it, o.trace_file); }},
      {"trace_clock",
       [](const Item& it, MountOptions& o) -> Status {
         CARDFS_ASSIGN_OR_RETURN(std::string v, need_value(it));
         if (v != "card" && v != "host") return invalid("trace_clock: '" + v + "' is not card or host");
         o.trace_clock = v;
         return Status::ok();
       }},
      {"tunables",
       [](const Item& it, MountOptions& o) { return set_string(it, o.tunables_file); }},
      {"commit", bounded(&MountOptions::commit, 0, 86400)},
      {"threads", bounded(&MountOptions::threads, 1, kMaxFuseThreads)},
      {"record", [](const Item& it, MountOptions& o) { return set_string(it, o.record_file); }},
      {"powercut_torn", flag(&MountOptions::powercut_torn, true)},
      {"powercut_after",
       [](const Item& it, MountOptions& o) -> Status {
         CARDFS_ASSIGN_OR_RETURN(std::string text, need_value(it));
         auto v = parse_uint(text);
         if (!v.is_ok()) return v.status().with_context(it.name);
         if (*v == 0) return invalid("powercut_after: the card's commands count from 1");
         o.powercut_after = *v;
         return Status::ok();
       }},
      {"cache_size", set_cache_size},
      {"dirty_ratio", bounded(&MountOptions::dirty_ratio, 1, 100)},
      {"dirty_background_ratio", bounded(&MountOptions::dirty_background_ratio, 0, 100)},
      {"dirty_expire_centisecs", bounded(&MountOptions::dirty_expire_centisecs, 0, 8640000)},
      {"dirty_writeback_centisecs",
       bounded(&MountOptions::dirty_writeback_centisecs, 0, 8640000)},
      {"read_ahead_kb", bounded(&MountOptions::read_ahead_kb, 0, 65536)},
      {"kernel_read_ahead_kb", bounded(&MountOptions::kernel_read_ahead_kb, 0, 65536)},
      {"nomerges", bounded(&MountOptions::nomerges, 0, 2)},
      {"max_sectors_kb", bounded(&MountOptions::max_sectors_kb, 4, 32767)},
      {"scheduler", set_scheduler},
      {"profile",
       [](const Item&, MountOptions&) {
         return invalid("profile cannot be changed at mount: it belongs to the image "
                        "(chosen by mkfs.cardfs)");
       }},
  };
  return table;
}

// Flags libfuse hands to the kernel as they are.
const std::unordered_set<std::string>& vfs_flags() {
  static const std::unordered_set<std::string> set = {
      "dev",     "nodev",     "suid",     "nosuid",     "exec",        "noexec",
      "atime",   "noatime",   "diratime", "nodiratime", "relatime",    "norelatime",
      "dirsync", "strictatime", "nostrictatime", "lazytime", "nolazytime"};
  return set;
}

// What mount(8) and fstab add for their own use.
bool is_mount_helper_option(const std::string& name) {
  static const std::unordered_set<std::string> set = {
      "defaults", "auto", "noauto", "user", "nouser", "users", "owner",
      "group",    "nofail", "_netdev", "comment", "loop"};
  return set.count(name) > 0 || name.rfind("x-", 0) == 0;
}

Status check_dirty_ratios(const MountOptions& o) {
  if (o.dirty_ratio && o.dirty_background_ratio && *o.dirty_background_ratio >= *o.dirty_ratio)
    return invalid("dirty_background_ratio (" + std::to_string(*o.dirty_background_ratio) +
                   ") must be below dirty_ratio (" + std::to_string(*o.dirty_ratio) + ")");
  return Status::ok();
}

Status apply(const Item& it, MountOptions& o) {
  const auto& table = handlers();
  if (auto h = table.find(it.name); h != table.end()) return h->second(it, o);
  if (vfs_flags().count(it.name)) {
    CARDFS_RETURN_IF_ERROR(need_no_value(it));
    o.vfs_flags.push_back(it.name);
    return Status::ok();
  }
  if (is_mount_helper_option(it.name)) return Status::ok();
  return invalid("unknown mount option '" + it.name + "'");
}

}  // namespace

Result<MountOptions> parse_mount_options(const std::vector<std::string>& option_args) {
  MountOptions o;
  for (const auto& arg : option_args) {
    for (const auto& raw : split_options(arg)) {
      Item it;
      auto eq = raw.find('=');
      it.name = raw.substr(0, eq);
      if (eq != std::string::npos) it.value = raw.substr(eq + 1);
      CARDFS_RETURN_IF_ERROR(apply(it, o));
    }
  }
  CARDFS_RETURN_IF_ERROR(check_dirty_ratios(o));
  if (o.powercut_torn && !o.powercut_after) return invalid("powercut_torn needs powercut_after=N");
  return o;
}

Result<MountOptions> overlay_tunables(const std::string& text, MountOptions base) {
  static const std::unordered_set<std::string> kTunables = {
      "cache_size",    "dirty_ratio", "dirty_background_ratio", "dirty_expire_centisecs",
      "dirty_writeback_centisecs", "read_ahead_kb", "scheduler", "nomerges", "max_sectors_kb"};
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    line.erase(std::min(line.find('#'), line.size()));
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos) continue;
    line = line.substr(first, line.find_last_not_of(" \t\r") + 1 - first);
    for (const auto& item : split_options(line)) {
      const std::string name = item.substr(0, item.find('='));
      if (!kTunables.count(name)) return invalid("'" + name + "' is not a tunable");
    }
    lines.push_back(line);
  }
  CARDFS_ASSIGN_OR_RETURN(MountOptions t, parse_mount_options(lines));
  auto take = [](auto& to, const auto& from) {
    if (from) to = from;
  };
  take(base.cache_size, t.cache_size);
  take(base.dirty_ratio, t.dirty_ratio);
  take(base.dirty_background_ratio, t.dirty_background_ratio);
  take(base.dirty_expire_centisecs, t.dirty_expire_centisecs);
  take(base.dirty_writeback_centisecs, t.dirty_writeback_centisecs);
  take(base.read_ahead_kb, t.read_ahead_kb);
  take(base.scheduler, t.scheduler);
  take(base.nomerges, t.nomerges);
  take(base.max_sectors_kb, t.max_sectors_kb);
  CARDFS_RETURN_IF_ERROR(check_dirty_ratios(base));
  return base;
}

bool kernel_checks_permissions(const MountOptions& opts) {
  // FUSE_CAP_POSIX_ACL turns default_permissions on in the kernel: the
  // daemon's own checks know no ACL.
  return opts.default_permissions || opts.allow_other || opts.acl;
}

std::string kernel_mount_options(const MountOptions& opts, const std::string& image_path) {
  std::string fsname = opts.fsname.empty() ? image_path : opts.fsname;
  std::string escaped;
  for (char c : fsname) {
    if (c == ',' || c == '\\') escaped += '\\';
    escaped += c;
  }
  std::string s = "fsname=" + escaped + ",subtype=cardfs";
  if (kernel_checks_permissions(opts)) s += ",default_permissions";
  if (opts.allow_other) s += ",allow_other";
  if (opts.read_only) s += ",ro";
  for (const auto& f : opts.vfs_flags) s += "," + f;
  return s;
}

const char* scheduler_name(Scheduler s) {
  return s == Scheduler::kNone ? "none" : "mq-deadline";
}

}  // namespace cardfs::fuse
