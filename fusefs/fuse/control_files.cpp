#include "fusefs/fuse/control_files.h"

#include <unistd.h>

#include <algorithm>

#include "base/log.h"
#include "fusefs/fuse/control_powercut.h"
#include "fusefs/fuse/trace_name.h"
#include "fusefs/fuse/waiting_ops.h"
#include "sdcard/profiles.h"

namespace cardfs::fuse {
namespace {

// One vm tunable, validated as the mount option `name=value` would be.
ControlFile vm_tunable(Stack& s, const std::string& name,
                       uint64_t (*get)(const cache::Tunables&),
                       void (*set)(cache::Tunables&, const MountOptions&)) {
  return {"vm/" + name,
          [&s, get] { return std::to_string(get(s.cache().tunables())) + "\n"; },
          [&s, name, set](std::string_view v) -> Status {
            CARDFS_ASSIGN_OR_RETURN(MountOptions o, parse_mount_options({name + "=" + std::string(v)}));
            cache::Tunables t = s.cache().tunables();
            set(t, o);
            if (t.dirty_background_ratio >= t.dirty_ratio)
              return Status::error(EINVAL, "dirty_background_ratio must stay below dirty_ratio");
            s.cache().set_tunables(t);
            return Status::ok();
          }};
}

void add_vm_tunables(ControlTree& t, Stack& s) {
  t.add(vm_tunable(s, "cache_size", [](const cache::Tunables& x) { return x.cache_size; },
                   [](cache::Tunables& x, const MountOptions& o) { x.cache_size = *o.cache_size; }));
  t.add(vm_tunable(s, "dirty_ratio", [](const cache::Tunables& x) { return uint64_t(x.dirty_ratio); },
                   [](cache::Tunables& x, const MountOptions& o) { x.dirty_ratio = *o.dirty_ratio; }));
  t.add(vm_tunable(
      s, "dirty_background_ratio",
      [](const cache::Tunables& x) { return uint64_t(x.dirty_background_ratio); },
      [](cache::Tunables& x, const MountOptions& o) {
        x.dirty_background_ratio = *o.dirty_background_ratio;
      }));
  t.add(vm_tunable(
      s, "dirty_expire_centisecs",
      [](const cache::Tunables& x) { return uint64_t(x.dirty_expire_centisecs); },
      [](cache::Tunables& x, const MountOptions& o) {
        x.dirty_expire_centisecs = *o.dirty_expire_centisecs;
      }));
  t.add(vm_tunable(
      s, "dirty_writeback_centisecs",
      [](const cache::Tunables& x) { return uint64_t(x.dirty_writeback_centisecs); },
      [](cache::Tunables& x, const MountOptions& o) {
        x.dirty_writeback_centisecs = *o.dirty_writeback_centisecs;
      }));
}

void add_queue_attrs(ControlTree& t, Stack& s) {
  for (const std::string& name : s.queue().attr_names()) {
    t.add({"queue/" + name,
           [&s, name]() -> std::string {
             auto v = s.queue().read_attr(name);
             return (v.is_ok() ? *v : v.status().message()) + "\n";
           },
           [&s, name](std::string_view v) { return s.queue().write_attr(name, v); }});
  }
}

// Starting and stopping a blktrace-format trace: "start NAME" / "stop".
// NAME is taken relative to the writer's working directory (trace_name.h);
// reading the file back says where the files go.
void add_trace(ControlTree& t, Stack& s, const std::string& mountpoint) {
  t.add({"trace",
         [&s] {
           const std::string name = s.trace_name();
           if (name.empty()) return std::string("off\n");
           auto clock = s.queue().read_attr("trace_clock");
           return "on " + name + " (files " + name + ".blktrace.0 .. ." +
                  std::to_string(std::max(1L, sysconf(_SC_NPROCESSORS_CONF)) - 1) + ", trace_clock " +
                  (clock.is_ok() ? *clock : "?") + ")\n";
         },
         nullptr,
         [&s, mountpoint](std::string_view v, pid_t writer) -> Status {
           if (v == "stop") return s.stop_trace();
           if (v.rfind("start ", 0) != 0 || v.size() <= 6)
             return Status::error(EINVAL, "write 'start NAME' or 'stop'");
           auto path = resolve_trace_name(std::string(v.substr(6)), writer, mountpoint);
           Status st = path.is_ok() ? s.start_trace(*path) : path.status();
           if (!st.is_ok()) {  // the writer sees only EINVAL: the reason goes to the log
             logger("fuse")->warn("trace not started: {}", st.to_string());
             return st;
           }
           logger("fuse")->info("trace started: {}.blktrace.*", *path);
           return Status::ok();
         }});
}

std::string card_info(Stack& s) {
  const sdcard::Profile& p = s.card().profile();
  std::string out;
  out += "profile " + std::string(p.name) + "\n";
  out += "summary " + std::string(p.summary) + "\n";
  out += "sectors " + std::to_string(s.card().sector_count()) + "\n";
  out += "au_bytes " + std::to_string(p.au_bytes) + "\n";
  out += "page_bytes " + std::to_string(p.page_bytes) + "\n";
  out += "open_aus " + std::to_string(p.open_aus) + "\n";
  return out;
}

}  // namespace

std::unique_ptr<ControlTree> make_control_tree(Stack& s, uint64_t base_ino, const std::string& mountpoint) {
  auto t = std::make_unique<ControlTree>(base_ino);
  t->add({"pid", [] { return std::to_string(getpid()) + "\n"; }, nullptr});
  t->add({"stat", [&s] { return s.snapshot_text(); }, nullptr});
  t->add({"cache/meminfo", [&s] { return s.cache().meminfo(); }, nullptr});
  t->add({"cache/vmstat", [&s] { return s.cache().vmstat(); }, nullptr});
  t->add({"card/info", [&s] { return card_info(s); }, nullptr});
  t->add({"fuse/requests", [] {
            return "handed_off " + std::to_string(waiting_ops::handed_off()) + "\nmisanswered " +
                   std::to_string(RequestScope::misanswered()) + "\n";
          }, nullptr});
  add_vm_tunables(*t, s);
  add_queue_attrs(*t, s);
  add_trace(*t, s, mountpoint);
  add_powercut_files(*t, s);
  t->add({"sync", [] { return std::string("write 1 to write everything back\n"); },
          [&s](std::string_view v) -> Status {
            if (v != "1") return Status::error(EINVAL, "write 1");
            return s.fs().sync();
          }});
  return t;
}

}  // namespace cardfs::fuse
