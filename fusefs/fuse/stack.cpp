#include "fusefs/fuse/stack.h"

#include <pthread.h>
#include <time.h>

#include "base/log.h"
#include "fusefs/fuse/stat_view.h"
#include "sdcard/counters_text.h"
#include "sdcard/profiles.h"

namespace cardfs::fuse {
namespace {

Nanos wall_clock_offset(const Clock& clock) {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return Nanos(int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec) - clock.now();
}

fusefs::AtimePolicy atime_policy(const MountOptions& o) {
  auto policy = fusefs::AtimePolicy::kRelatime;
  for (const auto& f : o.vfs_flags) {
    if (f == "noatime") policy = fusefs::AtimePolicy::kNoatime;
    if (f == "strictatime") policy = fusefs::AtimePolicy::kStrictatime;
    if (f == "relatime") policy = fusefs::AtimePolicy::kRelatime;
  }
  return policy;
}

}  // namespace

cache::Tunables cache_tunables(const MountOptions& o, cache::Tunables t) {
  if (o.cache_size) t.cache_size = *o.cache_size;
  if (o.dirty_ratio) t.dirty_ratio = *o.dirty_ratio;
  if (o.dirty_background_ratio) t.dirty_background_ratio = *o.dirty_background_ratio;
  if (o.dirty_expire_centisecs) t.dirty_expire_centisecs = *o.dirty_expire_centisecs;
  if (o.dirty_writeback_centisecs) t.dirty_writeback_centisecs = *o.dirty_writeback_centisecs;
  return t;
}

// The queue as the card's profile was measured behind (its host's largest
// command), tracing on the card's timeline in fast mode.
blockdev::QueueOptions Stack::queue_options(const sdcard::Card& card, const MountOptions& o) {
  blockdev::QueueOptions q;
  if (const uint32_t kb = card.profile().host_max_sectors_kb; kb != 0)
    q.limits.max_hw_sectors_kb = q.limits.max_sectors_kb = kb;
  const bool card_time = o.trace_clock ? *o.trace_clock == "card" : !o.realtime;
  q.trace_clock = card_time ? blockdev::TraceClock::kCard : blockdev::TraceClock::kHost;
  return q;
}

Status Stack::apply_queue_options(const MountOptions& o) {
  auto set = [&](const char* name, const std::string& value) {
    return queue_->write_attr(name, value).with_context(std::string("queue ") + name);
  };
  if (o.scheduler) CARDFS_RETURN_IF_ERROR(set("scheduler", scheduler_name(*o.scheduler)));
  if (o.nomerges) CARDFS_RETURN_IF_ERROR(set("nomerges", std::to_string(*o.nomerges)));
  if (o.read_ahead_kb) CARDFS_RETURN_IF_ERROR(set("read_ahead_kb", std::to_string(*o.read_ahead_kb)));
  if (o.max_sectors_kb)
    CARDFS_RETURN_IF_ERROR(set("max_sectors_kb", std::to_string(*o.max_sectors_kb)));
  return Status::ok();
}

Status Stack::apply_tunables(const MountOptions& o) {
  cache_->set_tunables(cache_tunables(o, cache_->tunables()));
  return apply_queue_options(o);
}

// powercut_after= arms the card's fault plan, record= its command log;
// both count the card's commands from the start of writes on.
Status Stack::arm_faults_and_record(const MountOptions& o) {
  if (o.powercut_after) {
    sdcard::FaultPlan plan;
    plan.power_cut_after = *o.powercut_after;
    plan.cut = o.powercut_torn ? sdcard::FaultPlan::Cut::kTorn : sdcard::FaultPlan::Cut::kBetween;
    card_->set_faults(plan);
  }
  if (o.record_file.empty()) return Status::ok();
  CARDFS_ASSIGN_OR_RETURN(record_, blockdev::CommandLog::create(o.record_file));
  card_->set_recorder(record_.get());
  return Status::ok();
}

// The card, its driver and queue, opened once (one power-on scan: 137 MiB
// of records on a 64 GiB card). A read-write card holds its writes until
// start_card(), so the look at the filesystem changes nothing.
Result<std::unique_ptr<Stack>> Stack::open_card(const std::string& image, const MountOptions& o,
                                                Clock* clock) {
  std::unique_ptr<Stack> s(new Stack(clock));
  sdcard::CardOptions card_opts;
  card_opts.realtime = o.realtime;
  card_opts.read_only = o.read_only;
  card_opts.hold_writes = !o.read_only;
  card_opts.durable = o.durable;
  card_opts.progress = o.scan_progress;
  auto card = sdcard::Card::open(image, *s->clock_, card_opts);
  if (!card.is_ok()) return card.status().with_context(image + " is not a usable card image");
  s->card_ = std::move(*card);
  s->driver_ = std::make_unique<blockdev::SdcardDriver>(*s->card_);
  s->queue_ = std::make_unique<blockdev::Queue>(*s->driver_, *s->clock_, queue_options(*s->card_, o));
  return s;
}

// The card takes writes; faults, the command log, the queue's options and
// the trace apply from here (the look before is not traced or counted).
Status Stack::start_card(const MountOptions& o) {
  CARDFS_RETURN_IF_ERROR(card_->begin_writes());
  CARDFS_RETURN_IF_ERROR(arm_faults_and_record(o));
  CARDFS_RETURN_IF_ERROR(apply_queue_options(o));
  if (!o.trace_file.empty()) CARDFS_RETURN_IF_ERROR(start_trace(o.trace_file).with_context("starting the trace"));
  return Status::ok();
}

// Cache and filesystem over the queue; probe: both read-only.
Status Stack::mount_fs(const std::string& image, const MountOptions& o, bool probe) {
  auto sb = fusefs::read_superblock(*queue_, o.read_only);
  if (!sb.is_ok())
    return sb.status().with_context(image + " holds no mountable cardfs filesystem (mkfs.cardfs "
                                            "makes one, fsck.cardfs repairs one)");
  if (!o.read_only && (sb->state & fusefs::kStateErrors))
    return Status::error(EUCLEAN, image + " is marked as having errors: run fsck.cardfs " + image);
  uint32_t block_size = sb->block_size();
  cache_ = std::make_unique<cache::PageCache>(*queue_, *clock_, block_size, cache_tunables(o));
  fusefs::MountOptions fs_opts;
  fs_opts.read_only = o.read_only || probe;
  fs_opts.probe = probe;
  fs_opts.atime = atime_policy(o);
  fs_opts.wall_offset = wall_clock_offset(*clock_);
  auto fs = fusefs::Filesystem::mount(*cache_, *clock_, block_size, fs_opts);
  if (!fs.is_ok()) return fs.status().with_context("mounting " + image);
  fs_ = std::move(*fs);
  return Status::ok();
}

Result<std::unique_ptr<Stack>> Stack::open(const std::string& image, const MountOptions& o) {
  return open_with(image, o, nullptr);
}

Result<std::unique_ptr<Stack>> Stack::open(const std::string& image, const MountOptions& o, Clock& clock) {
  return open_with(image, o, &clock);
}

Result<std::unique_ptr<Stack>> Stack::open_with(const std::string& image, const MountOptions& o, Clock* clock) {
  CARDFS_ASSIGN_OR_RETURN(auto s, open_card(image, o, clock));
  if (!o.read_only) {
    // A read-only look first, so an image we refuse is left exactly as it was.
    s->probe_ = true;
    CARDFS_RETURN_IF_ERROR(s->mount_fs(image, o, true));
    s->fs_.reset();
    s->cache_.reset();
    s->queue_->wait_idle();
    s->probe_ = false;
  }
  CARDFS_RETURN_IF_ERROR(s->start_card(o));
  CARDFS_RETURN_IF_ERROR(s->mount_fs(image, o, false));
  s->start_threads(o);
  return s;
}

// The threads of a mounted stack beyond the driver's mmcqd/0 (started with
// the driver); shutdown() stops them in reverse. Read-only: no writers.
void Stack::start_threads(const MountOptions& o) {
  cache_->start_flusher();  // flush-data
  if (o.read_only) return;
  const uint32_t commit = o.commit.value_or(0) ? *o.commit : 5;  // ext4's default
  fs_->start_journal_thread(std::chrono::seconds(commit));  // jbd2/mmcblk0-8
  flush_metadata_thread_ = std::thread([this] { flush_metadata_loop(); });
}

void Stack::flush_metadata_loop() {
  // Not the cache's flusher (flush-data): this one writes the filesystem's
  // metadata (bitmaps, group descriptors, superblock) on the same period.
  pthread_setname_np(pthread_self(), "flush-metadata");
  std::unique_lock lock(fm_mu_);
  for (;;) {
    auto period = Nanos(int64_t(cache_->tunables().dirty_writeback_centisecs) * 10'000'000);
    if (period.count() == 0) period = std::chrono::seconds(5);
    // Woken at once by shutdown(): an unmount does not wait for the period.
    if (clock_->wait_until(lock, fm_cv_, clock_->now() + period, [&] { return fm_stop_; })) return;
    lock.unlock();
    Status st = fs_->flush_metadata();
    if (!st.is_ok()) logger("fuse")->error("metadata write-back: {}", st.to_string());
    lock.lock();
  }
}

Status Stack::shutdown() {
  if (shut_down_) return Status::ok();
  shut_down_ = true;
  {
    std::lock_guard lock(fm_mu_);
    fm_stop_ = true;
  }
  fm_cv_.notify_all();
  if (flush_metadata_thread_.joinable()) flush_metadata_thread_.join();
  Status result;
  auto keep_first = [&](Status st, const char* what) {
    if (!st.is_ok()) logger("fuse")->error("{}: {}", what, st.to_string());
    if (result.is_ok() && !st.is_ok()) result = st.with_context(what);
  };
  if (probe_) {
    // Nothing was changed and nothing may be written (the card holds its
    // writes, its close writes nothing): just let go.
    fs_.reset();
    cache_.reset();
    queue_.reset();
    driver_.reset();
    card_.reset();
    return Status::ok();
  }
  if (fs_) keep_first(fs_->unmount(), "unmounting the filesystem");
  if (cache_) {
    keep_first(cache_->sync_all(), "writing the page cache back");
    cache_->stop_flusher();
  }
  if (queue_) {
    queue_->wait_idle();
    if (!trace_name().empty()) keep_first(stop_trace(), "stopping the trace");
  }
  if (card_) {
    if (card_->powered_off())  // powercut: nothing more reaches the card
      logger("fuse")->warn("the card lost power (powercut); what it had not stored is lost; "
                           "the next mount powers it on");
    keep_first(card_->close(), "closing the card");
  }
  if (record_) keep_first(record_->close(), "writing the command log");
  return result;
}

Status Stack::start_trace(const std::string& name) {
  std::lock_guard lock(trace_mu_);
  if (!trace_name_.empty()) return Status::error(EBUSY, "a trace to " + trace_name_ + " is running");
  CARDFS_RETURN_IF_ERROR(queue_->start_trace(name));
  trace_name_ = name;
  return Status::ok();
}

Status Stack::stop_trace() {
  std::lock_guard lock(trace_mu_);
  if (trace_name_.empty()) return Status::error(EINVAL, "no trace is running");
  trace_name_.clear();
  return queue_->stop_trace();
}

std::string Stack::trace_name() {
  std::lock_guard lock(trace_mu_);
  return trace_name_;
}

Stack::~Stack() {
  Status st = shutdown();
  (void)st;  // already logged
}

std::string Stack::snapshot_text() {
  Snapshot s;
  for (const auto& [name, value] : sdcard::counter_fields(*card_)) s[name] = value;
  using blockdev::blktrace::Act;
  auto q = [&](const char* name, Act a) { s[std::string("queue.") + name] = double(queue_->counter(a).total()); };
  q("queued", blockdev::blktrace::kActQueue);
  q("back_merges", blockdev::blktrace::kActBackMerge);
  q("front_merges", blockdev::blktrace::kActFrontMerge);
  q("splits", blockdev::blktrace::kActSplit);
  q("requests_issued", blockdev::blktrace::kActIssue);
  q("requests_completed", blockdev::blktrace::kActComplete);
  s["queue.merges"] = s["queue.back_merges"] + s["queue.front_merges"];
  auto done = queue_->counter(blockdev::blktrace::kActComplete);
  s["queue.read_kb"] = double(done.bytes[0] / 1024);
  s["queue.write_kb"] = double(done.bytes[1] / 1024);
  for (auto& [k, v] : parse_snapshot(cache_->meminfo(), "mem.")) s[k] = v;
  for (auto& [k, v] : parse_snapshot(cache_->vmstat(), "vm.")) s[k] = v;
  fusefs::FsCounters f = fs_->counters();
  s["fs.lookups"] = double(f.lookups);
  s["fs.dir_blocks_read"] = double(f.dir_blocks_read);
  if (fs_->journaled()) {
    fusefs::JournalCounters j = fs_->journal_counters();
    s["journal.commits"] = double(j.commits);
    s["journal.blocks_logged"] = double(j.blocks_logged);
    s["journal.log_blocks"] = double(j.log_blocks);
    s["journal.revokes"] = double(j.revokes);
    s["journal.checkpoints"] = double(j.checkpoints);
    s["journal.wait_ms"] = double(j.wait_ns) / 1e6;
  }
  return format_snapshot(s);
}

}  // namespace cardfs::fuse

namespace cardfs::fuse {

void Stack::mark(std::string_view text, pid_t writer) {
  queue_->trace_message(text, writer);
  if (record_) record_->mark(text);
  logger("fuse")->info("mark: {}", text);
}

}  // namespace cardfs::fuse
