#include "blockdev/command_log.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstring>

#include "blockdev/trace_format.h"

namespace cardfs::blockdev {
namespace {

using namespace blktrace;
using sdcard::CommandKind;

constexpr uint32_t kCardDevice = make_dev(179, 0);  // mmcblk0, as the queue's traces
constexpr size_t kFlushAt = 1 << 20;                 // bytes buffered before a write

uint32_t issue_action(const sdcard::CommandView& c) {
  uint32_t cat = 0;
  switch (c.kind) {
    case CommandKind::kRead: cat = kTcRead; break;
    case CommandKind::kWrite: cat = kTcWrite; break;
    case CommandKind::kFlush: cat = kTcWrite | kTcFlush; break;
    case CommandKind::kDiscard: cat = kTcWrite | kTcDiscard; break;
  }
  if (c.fua) cat |= kTcFua;
  return action_word(kActIssue) | category(cat);
}

}  // namespace

Result<std::unique_ptr<CommandLog>> CommandLog::create(const std::string& name) {
  const std::string path = name + ".blktrace.0";
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return Status::error(errno ? errno : EIO, "creating the command log " + path);
  std::unique_ptr<CommandLog> log(new CommandLog(f, path));
  log->note_recorder();
  return log;
}

// Names the recording process, as the kernel's process note names a pid
// before its first event: blkparse and `cardfs trace` then show the
// commands as "[cardfs]" instead of "[(null)]". Sequence 0, as the
// tracer's process notes: it is no event and takes no number.
void CommandLog::note_recorder() {
  pid_ = uint32_t(::getpid());
  std::array<char, 16> comm{};
  if (std::FILE* in = std::fopen("/proc/self/comm", "r")) {
    if (std::fgets(comm.data(), int(comm.size()), in) == nullptr) comm[0] = '\0';
    std::fclose(in);
  }
  comm[strcspn(comm.data(), "\n")] = '\0';
  Record r;
  r.action = kProcessNote;
  r.pid = pid_;
  r.device = kCardDevice;
  r.pdu.resize(comm.size());
  std::memcpy(r.pdu.data(), comm.data(), comm.size());
  encode(r, buf_);
}

CommandLog::~CommandLog() { (void)close(); }

void CommandLog::put(uint32_t action, uint64_t sector, uint32_t bytes, uint32_t pid,
                     std::span<const std::byte> pdu) {
  Record r;
  r.sequence = sequence_++;
  r.time = last_time_;
  r.sector = sector;
  r.bytes = bytes;
  r.action = action;
  r.pid = pid;
  r.device = kCardDevice;
  r.pdu.assign(pdu.begin(), pdu.end());
  encode(r, buf_);
  if (buf_.size() < kFlushAt || !file_) return;
  if (std::fwrite(buf_.data(), 1, buf_.size(), file_) != buf_.size() && error_.is_ok())
    error_ = Status::error(errno ? errno : EIO, "writing the command log " + path_);
  buf_.clear();
}

void CommandLog::record(const sdcard::CommandView& c) {
  std::lock_guard lock(mu_);
  last_time_ = uint64_t(c.device_time.count());
  put(issue_action(c), c.sector, uint32_t(c.sectors * 512), pid_, {});
  if (c.kind != CommandKind::kWrite) return;
  // The data in driver-data records of at most kChunkBytes (pdu_len is 16 bits).
  uint64_t sector = c.sector;
  std::vector<std::byte> chunk;
  auto emit = [&] {
    put(kDriverData, sector, uint32_t(chunk.size()), pid_, chunk);
    sector += chunk.size() / 512;
    chunk.clear();
  };
  for (const iovec& v : c.data) {
    const auto* p = static_cast<const std::byte*>(v.iov_base);
    for (size_t done = 0; done < v.iov_len;) {
      const size_t n = std::min<size_t>(kChunkBytes - chunk.size(), v.iov_len - done);
      chunk.insert(chunk.end(), p + done, p + done + n);
      done += n;
      if (chunk.size() == kChunkBytes) emit();
    }
  }
  if (!chunk.empty()) emit();
}

void CommandLog::mark(std::string_view text) {
  std::lock_guard lock(mu_);
  put(kMessageNote, 0, 0, pid_, std::as_bytes(std::span(text.data(), text.size())));
}

Status CommandLog::close() {
  std::lock_guard lock(mu_);
  if (!file_) return error_;
  if (!buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), file_) != buf_.size() && error_.is_ok())
    error_ = Status::error(errno ? errno : EIO, "writing the command log " + path_);
  buf_.clear();
  if (std::fclose(file_) != 0 && error_.is_ok()) error_ = Status::error(errno ? errno : EIO, "closing the command log " + path_);
  file_ = nullptr;
  return error_;
}

// ---- reading

Result<std::unique_ptr<CommandLogReader>> CommandLogReader::open(const std::string& name) {
  const std::string path = name + ".blktrace.0";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::error(errno ? errno : EIO, "opening the command log " + path);
  struct stat st;
  std::unique_ptr<CommandLogReader> r(new CommandLogReader());
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return Status::error(errno ? errno : EIO, "reading " + path);
  }
  r->size_ = size_t(st.st_size);
  if (r->size_ > 0) {
    r->map_ = ::mmap(nullptr, r->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (r->map_ == MAP_FAILED) r->map_ = nullptr;
  }
  ::close(fd);
  if (r->size_ > 0 && !r->map_) return Status::error(errno ? errno : EIO, "mapping " + path);
  CARDFS_RETURN_IF_ERROR(r->parse().with_context(path));
  return r;
}

CommandLogReader::~CommandLogReader() {
  if (map_) ::munmap(map_, size_);
}

Status CommandLogReader::parse() {
  const std::span<const std::byte> buf(static_cast<const std::byte*>(map_), size_);
  std::vector<std::string> marks;
  for (size_t pos = 0; pos < buf.size();) {
    Record r;
    std::span<const std::byte> pdu;
    Result<size_t> n = decode_at(buf, pos, r, &pdu);
    if (!n.is_ok()) {  // a recorder that died mid-record: keep what is whole
      if (n.status().message().find("truncated") == std::string::npos) return n.status();
      truncated_ = true;
      break;
    }
    pos += *n;
    if (r.action == kMessageNote) {
      marks.emplace_back(reinterpret_cast<const char*>(pdu.data()), pdu.size());
    } else if (r.action == kDriverData) {
      if (commands_.empty() || commands_.back().kind != CommandKind::kWrite)
        return Status::error(EINVAL, "data record at byte " + std::to_string(pos - *n) + " follows no write");
      commands_.back().data.push_back({const_cast<std::byte*>(pdu.data()), pdu.size()});
    } else if (r.act() == kActIssue) {
      LoggedCommand c;
      auto has = [&](uint32_t bit) { return (r.action & category(bit)) != 0; };
      c.kind = has(kTcDiscard) ? CommandKind::kDiscard
               : has(kTcFlush) ? CommandKind::kFlush
               : has(kTcWrite) ? CommandKind::kWrite
                               : CommandKind::kRead;
      c.sector = r.sector;
      c.sectors = r.bytes / 512;
      c.fua = has(kTcFua);
      c.index = commands_.size() + 1;
      c.time_ns = r.time;
      c.marks_before = std::move(marks);
      marks.clear();
      commands_.push_back(std::move(c));
    }
  }
  trailing_ = std::move(marks);
  // A write whose data the log does not hold in full cannot be replayed.
  if (!commands_.empty() && commands_.back().kind == CommandKind::kWrite) {
    uint64_t bytes = 0;
    for (const iovec& v : commands_.back().data) bytes += v.iov_len;
    if (bytes != commands_.back().sectors * 512) {
      commands_.pop_back();
      truncated_ = true;
    }
  }
  return Status::ok();
}

}  // namespace cardfs::blockdev
