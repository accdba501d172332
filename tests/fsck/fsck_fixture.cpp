#include "tests/fsck/fsck_fixture.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <sstream>

#include "cache/page_cache.h"
#include "fusefs/dir_block.h"
#include "fusefs/filesystem.h"
#include "fusefs/mkfs.h"
#include "tools/fsck/image_io.h"
#include "tools/fsck/super.h"

namespace cardfs::fsck::testing {

using namespace fusefs;

std::string pattern(uint32_t seed, size_t n) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1103515245u + 12345u;
    s[i] = char('a' + (x >> 16) % 26);
  }
  return s;
}

bool has_finding(const FsckReport& r, Problem p) {
  for (const Finding& f : r.findings)
    if (f.code == p) return true;
  return false;
}

std::string describe(const FsckReport& r) {
  std::ostringstream o;
  o << "exit " << r.exit_code << ", " << r.findings.size() << " findings:";
  for (const Finding& f : r.findings)
    o << "\n  [" << problem_info(f.code).id << "] " << f.message << (f.fixed ? " (fixed)" : "");
  return o.str();
}

void expect_found_and_repaired(TestImage& img, Problem p, const std::vector<std::string>& damaged) {
  FsckReport first = img.fsck(Mode::kNo);
  INFO("fsck -n: " << describe(first) << "\n" << img.last_output());
  CHECK(first.exit_code == kExitUncorrected);
  CHECK(has_finding(first, p));
  FsckReport fix = img.fsck(Mode::kYes);
  INFO("fsck -y: " << describe(fix) << "\n" << img.last_output());
  CHECK(fix.exit_code == kExitCorrected);
  CHECK(fix.modified);
  FsckReport again = img.fsck(Mode::kNo);
  INFO("fsck -n again: " << describe(again));
  CHECK(again.exit_code == kExitClean);
  CHECK(img.verify_files(damaged) == "");
}

void edit_dir_block(TestImage& img, uint32_t dir, uint64_t block,
                    const std::function<void(std::vector<std::byte>&)>& edit) {
  auto b = img.read_block(block);
  edit(b);
  dir_block::seal(b, dir, img.sb().csum_seed());
  img.write_block(block, b);
}

uint32_t entry_offset(std::span<const std::byte> b, const std::string& name) {
  auto hit = dir_block::find(b, name);
  REQUIRE(hit.is_ok());
  REQUIRE(hit->has_value());
  return (*hit)->offset;
}

namespace {

struct Mounted {
  Mounted(blockdev::BlockDevice& dev, Clock& clock, uint32_t bs)
      : cache(dev, clock, bs) {
    auto m = Filesystem::mount(cache, clock, bs);
    if (m.is_ok()) fs = std::move(*m);
    else error = m.status().to_string();
  }
  ~Mounted() {
    if (fs) (void)fs->unmount();
  }
  Result<Ino> resolve(const std::string& path) {
    Ino at = kRootIno;
    std::stringstream ss(path);
    std::string part;
    while (std::getline(ss, part, '/')) {
      if (part.empty()) continue;
      CARDFS_ASSIGN_OR_RETURN(Attr a, fs->lookup(at, part));
      at = a.ino;
    }
    return at;
  }
  cache::PageCache cache;
  std::unique_ptr<Filesystem> fs;
  std::string error;
};

}  // namespace

TestImage::TestImage(ImageSpec spec) : spec_(spec), dev_(spec.bytes / 512) {
  {
    cache::PageCache cache(dev_, clock_, spec_.block_size);
    FormatOptions f;
    f.block_size = spec_.block_size;
    f.label = "fscktest";
    for (int i = 0; i < 16; ++i) f.uuid[i] = uint8_t(i * 13 + 5);
    f.now_sec = 1700000000;
    auto sum = format(cache, spec_.bytes, f);
    REQUIRE(sum.is_ok());
    sb_ = sum->sb;
  }
  populate();
}

void TestImage::populate() {
  Mounted m(dev_, clock_, spec_.block_size);
  REQUIRE(m.fs);
  Filesystem& fs = *m.fs;
  Creds c;
  auto file = [&](Ino parent, const std::string& dir, const std::string& name, size_t n, uint32_t seed) {
    auto a = fs.mknod(parent, name, S_IFREG | 0644, 0, c);
    REQUIRE(a.is_ok());
    std::string data = pattern(seed, n);
    auto w = fs.write(a->ino, 0, std::as_bytes(std::span(data.data(), data.size())));
    REQUIRE(w.is_ok());
    files_[dir + "/" + name] = data;
  };
  file(kRootIno, "", "a.txt", 3000, 1);
  file(kRootIno, "", "b.txt", 1500, 2);
  file(kRootIno, "", "big.bin", 300 * 1024, 3);
  auto d1 = fs.mkdir(kRootIno, "dir1", 0755, c);
  REQUIRE(d1.is_ok());
  file(d1->ino, "/dir1", "f1", 5000, 4);
  auto sub = fs.mkdir(d1->ino, "sub", 0755, c);
  REQUIRE(sub.is_ok());
  file(sub->ino, "/dir1/sub", "f2", 2048, 5);
  REQUIRE(fs.symlink(kRootIno, "link", "dir1/f1", c).is_ok());
  auto h = fs.mkdir(kRootIno, "hashed", 0755, c);
  REQUIRE(h.is_ok());
  for (uint32_t i = 0; i < spec_.hashed_files; ++i)
    file(h->ino, "/hashed", "file-with-a-longish-name-" + std::to_string(i), 100 + i, 100 + i);
}

FsckReport TestImage::fsck(Mode mode, bool force, uint64_t backup) {
  DeviceIo io(dev_, mode == Mode::kNo);
  FsckOptions o;
  o.mode = mode;
  o.force = force;
  o.superblock = backup;
  o.now_sec = 1700000100;
  output_.clear();
  o.out = [this](const std::string& line) { output_ += line + "\n"; };
  auto r = check_filesystem(io, o);
  INFO(r.status().to_string());
  REQUIRE(r.is_ok());
  return *r;
}

std::string TestImage::verify_files(const std::vector<std::string>& skip) {
  Mounted m(dev_, clock_, spec_.block_size);
  if (!m.fs) return "mount failed: " + m.error;
  for (const auto& [path, want] : files_) {
    if (std::find(skip.begin(), skip.end(), path) != skip.end()) continue;
    auto ino = m.resolve(path);
    if (!ino.is_ok()) return path + ": " + ino.status().to_string();
    std::string got(want.size() + 16, '\0');
    auto n = m.fs->read(*ino, 0, std::as_writable_bytes(std::span(got.data(), got.size())));
    if (!n.is_ok()) return path + ": " + n.status().to_string();
    got.resize(*n);
    if (got != want) return path + ": contents differ";
  }
  return "";
}

std::string TestImage::read_path(const std::string& path) {
  Mounted m(dev_, clock_, spec_.block_size);
  if (!m.fs) return "mount failed: " + m.error;
  auto ino = m.resolve(path);
  if (!ino.is_ok()) return "error: " + ino.status().to_string();
  std::string got(1 << 20, '\0');
  auto n = m.fs->read(*ino, 0, std::as_writable_bytes(std::span(got.data(), got.size())));
  if (!n.is_ok()) return "error: " + n.status().to_string();
  got.resize(*n);
  return got;
}

uint32_t TestImage::inode_of(const std::string& path) {
  Mounted m(dev_, clock_, spec_.block_size);
  if (!m.fs) return 0;
  auto ino = m.resolve(path);
  return ino.is_ok() ? uint32_t(*ino) : 0;
}

std::string TestImage::rmdir(const std::string& parent, const std::string& name) {
  Mounted m(dev_, clock_, spec_.block_size);
  if (!m.fs) return "mount failed: " + m.error;
  auto dir = m.resolve(parent);
  if (!dir.is_ok()) return dir.status().to_string();
  Status st = m.fs->rmdir(*dir, name);
  return st.is_ok() ? "" : st.to_string();
}

void TestImage::add_file(const std::string& name, const std::string& data) {
  Mounted m(dev_, clock_, spec_.block_size);
  REQUIRE(m.fs);
  auto a = m.fs->mknod(kRootIno, name, S_IFREG | 0644, 0, Creds{});
  REQUIRE(a.is_ok());
  REQUIRE(m.fs->write(a->ino, 0, std::as_bytes(std::span(data.data(), data.size()))).is_ok());
  files_["/" + name] = data;
}

uint32_t TestImage::add_orphan(const std::string& name, const std::string& data) {
  Mounted m(dev_, clock_, spec_.block_size);
  REQUIRE(m.fs);
  auto a = m.fs->mknod(kRootIno, name, S_IFREG | 0644, 0, Creds{});
  REQUIRE(a.is_ok());
  REQUIRE(m.fs->open(a->ino).is_ok());
  REQUIRE(m.fs->write(a->ino, 0, std::as_bytes(std::span(data.data(), data.size()))).is_ok());
  REQUIRE(m.fs->unlink(kRootIno, name).is_ok());
  REQUIRE(m.fs->sync().is_ok());
  m.fs.reset();  // no unmount: the open file is never closed
  return uint32_t(a->ino);
}

void TestImage::add_preallocated_file(const std::string& name, uint64_t size, uint64_t offset,
                                      const std::string& data, uint64_t extra) {
  Mounted m(dev_, clock_, spec_.block_size);
  REQUIRE(m.fs);
  auto a = m.fs->mknod(kRootIno, name, S_IFREG | 0644, 0, Creds{});
  REQUIRE(a.is_ok());
  REQUIRE(m.fs->fallocate(a->ino, 0, 0, size).is_ok());
  REQUIRE(m.fs->write(a->ino, offset, std::as_bytes(std::span(data.data(), data.size()))).is_ok());
  if (extra) REQUIRE(m.fs->fallocate(a->ino, FALLOC_FL_KEEP_SIZE, size, extra).is_ok());
  std::string want(size, '\0');
  want.replace(offset, data.size(), data);
  files_["/" + name] = want;
}

void TestImage::add_wide_dir(const std::string& name, uint32_t count, size_t name_len) {
  Mounted m(dev_, clock_, spec_.block_size);
  REQUIRE(m.fs);
  Creds c;
  auto dir = m.fs->mkdir(kRootIno, name, 0755, c);
  REQUIRE(dir.is_ok());
  for (uint32_t i = 0; i < count; ++i) {
    std::string file = std::to_string(i) + "-";
    file.resize(name_len, 'x');
    auto a = m.fs->mknod(dir->ino, file, S_IFREG | 0644, 0, c);
    REQUIRE(a.is_ok());
    const std::string data = std::to_string(i);
    REQUIRE(m.fs->write(a->ino, 0, std::as_bytes(std::span(data.data(), data.size()))).is_ok());
    files_["/" + name + "/" + file] = data;
  }
}

std::vector<std::byte> TestImage::read_bytes(uint64_t offset, size_t n) {
  DeviceIo io(dev_, true);
  std::vector<std::byte> out(n);
  REQUIRE(io.read(offset, out).is_ok());
  return out;
}

void TestImage::write_bytes(uint64_t offset, std::span<const std::byte> b) {
  DeviceIo io(dev_, false);
  REQUIRE(io.write(offset, b).is_ok());
}

std::vector<std::byte> TestImage::read_block(uint64_t block) {
  return read_bytes(block * spec_.block_size, spec_.block_size);
}

void TestImage::write_block(uint64_t block, std::span<const std::byte> b) {
  write_bytes(block * spec_.block_size, b);
}

uint64_t TestImage::inode_byte(uint32_t ino) {
  GroupLayout l = group_layout(sb_, (ino - 1) / sb_.inodes_per_group);
  BlockOffset at = inode_location(sb_, l.inode_table, ino);
  return at.block * spec_.block_size + at.offset;
}

DiskInode TestImage::inode(uint32_t ino) {
  auto rec = read_bytes(inode_byte(ino), kInodeSize);
  auto d = decode_inode(rec, ino, sb_.csum_seed());
  REQUIRE(d.is_ok());
  return *d;
}

void TestImage::set_inode(uint32_t ino, const DiskInode& d) {
  std::vector<std::byte> rec(kInodeSize);
  encode_inode(d, ino, sb_.csum_seed(), rec);
  write_bytes(inode_byte(ino), rec);
}

}  // namespace cardfs::fsck::testing

namespace cardfs::fsck::testing {

void TestImage::run_workload(uint32_t seed, int ops) {
  Mounted m(dev_, clock_, spec_.block_size);
  REQUIRE(m.fs);
  Filesystem& fs = *m.fs;
  std::mt19937 rng(seed);
  std::vector<Ino> dirs{kRootIno};
  std::vector<std::pair<Ino, std::string>> names;  // (parent, name) of live non-directories
  Creds c;
  auto pick = [&](size_t n) { return size_t(rng() % n); };
  for (int i = 0; i < ops; ++i) {
    const Ino dir = dirs[pick(dirs.size())];
    const std::string name = "n" + std::to_string(i);
    switch (pick(9)) {
      case 0: case 1: {
        auto a = fs.mknod(dir, name, S_IFREG | 0644, 0, c);
        if (!a.is_ok()) break;
        std::string data = pattern(seed + i, pick(40000));
        (void)fs.write(a->ino, pick(3) == 0 ? pick(200000) : 0,
                       std::as_bytes(std::span(data.data(), data.size())));
        names.emplace_back(dir, name);
        break;
      }
      case 2:
        if (auto a = fs.mkdir(dir, name, 0755, c); a.is_ok()) dirs.push_back(a->ino);
        break;
      case 3:
        if (fs.symlink(dir, name, std::string(pick(120) + 1, 't'), c).is_ok()) names.emplace_back(dir, name);
        break;
      case 4: case 5: {
        if (names.empty()) break;
        auto [p, n] = names[pick(names.size())];
        auto a = fs.lookup(p, n);
        if (!a.is_ok()) break;
        if (S_ISREG(a->mode)) (void)fs.truncate(a->ino, pick(60000));
        else if (fs.link(a->ino, dir, name).is_ok()) names.emplace_back(dir, name);
        break;
      }
      case 6: {
        if (names.empty()) break;
        size_t k = pick(names.size());
        (void)fs.unlink(names[k].first, names[k].second);
        names.erase(names.begin() + long(k));
        break;
      }
      case 7: {
        if (names.empty()) break;
        size_t k = pick(names.size());
        if (fs.rename(names[k].first, names[k].second, dir, name).is_ok()) names[k] = {dir, name};
        break;
      }
      case 8: {  // holes, space past the end of file, zeroed and shifted ranges
        if (names.empty()) break;
        auto a = fs.lookup(names[pick(names.size())].first, names[pick(names.size())].second);
        if (!a.is_ok() || !S_ISREG(a->mode)) break;
        constexpr int kModes[] = {FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, FALLOC_FL_KEEP_SIZE,
                                  FALLOC_FL_ZERO_RANGE, FALLOC_FL_COLLAPSE_RANGE,
                                  FALLOC_FL_INSERT_RANGE};
        const int mode = kModes[pick(5)];
        const bool shift = mode & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE);
        const uint64_t unit = shift ? fs.superblock().block_size() : 1;  // shifts: whole blocks
        (void)fs.fallocate(a->ino, mode, pick(50000) / unit * unit, (1 + pick(20000) / unit) * unit);
        break;
      }
    }
  }
}

}  // namespace cardfs::fsck::testing
