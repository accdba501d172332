// Reference-model property test: random create, write, truncate, link,
// unlink, rename, mkdir and rmdir on the Filesystem API against an
// in-memory model, remounting at intervals and checking free counts.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <random>

#include "tests/fusefs/fs_fixture.h"

using namespace cardfs;
using namespace cardfs::fusefs;
using namespace cardfs::fusefs::testing;

namespace {

struct MNode {
  bool dir = false;
  std::map<std::string, Ino> children;  // directories
  std::string data;                     // files
  uint32_t nlink = 1;
  Ino parent = 0;                       // directories
};

class Model {
 public:
  Model() { nodes_[kRootIno] = MNode{true, {{"lost+found", kLostFoundIno}}, {}, 3, kRootIno}; 
            nodes_[kLostFoundIno] = MNode{true, {}, {}, 2, kRootIno}; }
  std::map<Ino, MNode>& nodes() { return nodes_; }
  MNode& at(Ino i) { return nodes_.at(i); }
  std::vector<Ino> dirs() const { return of_kind(true); }
  std::vector<Ino> files() const { return of_kind(false); }
  // True if `a` is `d` or one of its ancestors.
  bool is_ancestor(Ino a, Ino d) const {
    for (Ino x = d;; x = nodes_.at(x).parent) {
      if (x == a) return true;
      if (x == kRootIno) return false;
    }
  }
  void drop_link(Ino i) {
    MNode& n = at(i);
    if (n.dir) n.nlink = 0;
    else --n.nlink;
    if (n.nlink == 0) nodes_.erase(i);
  }

 private:
  std::vector<Ino> of_kind(bool dir) const {
    std::vector<Ino> out;
    for (auto& [i, n] : nodes_)
      if (n.dir == dir) out.push_back(i);
    return out;
  }
  std::map<Ino, MNode> nodes_;
};

class Runner {
 public:
  Runner(TestFs& t, uint32_t seed) : t_(t), rng_(seed) {}

  void step() {
    switch (rng_() % 10) {
      case 0: case 1: create(false); break;
      case 2: create(true); break;
      case 3: case 4: write(); break;
      case 5: truncate(); break;
      case 6: link(); break;
      case 7: unlink_or_rmdir(); break;
      default: rename(); break;
    }
  }

  void verify() {
    for (auto& [ino, n] : m_.nodes()) {
      auto a = t_->getattr(ino);
      INFO("inode " << ino << ": " << a.status().to_string());
      REQUIRE(a.is_ok());
      CHECK(a->nlink == n.nlink);
      if (n.dir) {
        std::map<std::string, Ino> listed;
        REQUIRE(t_->readdir(ino, 0, [&](const DirEntry& e) {
          if (e.name != "." && e.name != "..") listed[std::string(e.name)] = e.ino;
          return true;
        }).is_ok());
        CHECK(listed == n.children);
      } else {
        CHECK(a->size == n.data.size());
        std::vector<std::byte> buf(n.data.size() + 10);
        auto got = t_->read(ino, 0, buf);
        REQUIRE(got.is_ok());
        CHECK(string_of(std::span(buf).first(*got)) == n.data);
      }
    }
    Status st = t_->check_free_counts();
    INFO(st.to_string());
    CHECK(st.is_ok());
  }

 private:
  template <typename T>
  T pick(const std::vector<T>& v) { return v[rng_() % v.size()]; }
  std::string name() { return std::string(1, char('a' + rng_() % 6)); }
  Ino dir() { return pick(m_.dirs()); }

  void expect(const Status& st, int want, const char* what) {
    INFO(what << ": got " << st.to_string() << ", want errno " << want);
    REQUIRE(st.code() == want);
  }

  void create(bool is_dir) {
    Ino d = dir();
    std::string n = name();
    auto a = is_dir ? t_->mkdir(d, n, 0755, {}) : t_->mknod(d, n, S_IFREG | 0644, 0, {});
    MNode& pd = m_.at(d);
    if (pd.children.count(n)) return expect(a.status(), EEXIST, "create existing");
    expect(a.status(), 0, "create");
    t_->forget(a->ino, 1);
    pd.children[n] = a->ino;
    if (is_dir) ++pd.nlink;
    m_.nodes()[a->ino] = MNode{is_dir, {}, {}, is_dir ? 2u : 1u, d};
  }

  void write() {
    auto files = m_.files();
    if (files.empty()) return;
    Ino f = pick(files);
    // Mostly small files; now and then one reaching the double indirect range.
    uint64_t off = rng_() % 8 ? rng_() % (48 * 1024) : rng_() % (400 * 1024);
    std::string data(1 + rng_() % 6000, char('A' + rng_() % 26));
    auto n = t_->write(f, off, bytes_of(data));
    expect(n.status(), 0, "write");
    std::string& ref = m_.at(f).data;
    if (ref.size() < off + data.size()) ref.resize(off + data.size(), '\0');
    ref.replace(off, data.size(), data);
  }

  void truncate() {
    auto files = m_.files();
    if (files.empty()) return;
    Ino f = pick(files);
    uint64_t size = rng_() % (40 * 1024);
    expect(t_->truncate(f, size), 0, "truncate");
    m_.at(f).data.resize(size, '\0');
  }

  void link() {
    auto files = m_.files();
    if (files.empty()) return;
    Ino f = pick(files), d = dir();
    std::string n = name();
    auto a = t_->link(f, d, n);
    if (m_.at(d).children.count(n)) return expect(a.status(), EEXIST, "link onto existing");
    expect(a.status(), 0, "link");
    t_->forget(f, 1);
    m_.at(d).children[n] = f;
    ++m_.at(f).nlink;
  }

  void unlink_or_rmdir() {
    Ino d = dir();
    std::string n = name();
    MNode& pd = m_.at(d);
    auto it = pd.children.find(n);
    const bool rm_dir = rng_() % 2;
    Status st = rm_dir ? t_->rmdir(d, n) : t_->unlink(d, n);
    if (it == pd.children.end()) return expect(st, ENOENT, "remove missing");
    Ino c = it->second;
    MNode& cn = m_.at(c);
    if (!rm_dir && cn.dir) return expect(st, EISDIR, "unlink dir");
    if (rm_dir && !cn.dir) return expect(st, ENOTDIR, "rmdir file");
    if (rm_dir && !cn.children.empty()) return expect(st, ENOTEMPTY, "rmdir non-empty");
    expect(st, 0, "remove");
    pd.children.erase(it);
    if (rm_dir) --pd.nlink;
    m_.drop_link(c);
  }

  void rename() {
    Ino d1 = dir(), d2 = dir();
    std::string n1 = name(), n2 = name();
    const uint32_t flags = std::array<uint32_t, 4>{0, 0, kRenameNoReplace, kRenameExchange}[rng_() % 4];
    Status st = t_->rename(d1, n1, d2, n2, flags);
    MNode &p1 = m_.at(d1), &p2 = m_.at(d2);
    auto s = p1.children.find(n1);
    if (s == p1.children.end()) return expect(st, ENOENT, "rename missing source");
    auto t = p2.children.find(n2);
    const bool has_dst = t != p2.children.end();
    if ((flags & kRenameExchange) && !has_dst) return expect(st, ENOENT, "exchange missing target");
    if ((flags & kRenameNoReplace) && has_dst) return expect(st, EEXIST, "noreplace");
    const Ino src = s->second, dst = has_dst ? t->second : 0;
    if (has_dst && src == dst) return expect(st, 0, "rename onto same inode");
    if (m_.is_ancestor(src, d2)) return expect(st, EINVAL, "rename into own subtree");
    if (has_dst && m_.is_ancestor(dst, d1))
      return expect(st, (flags & kRenameExchange) ? EINVAL : ENOTEMPTY, "target is ancestor");
    MNode& sn = m_.at(src);
    if (flags & kRenameExchange) {
      expect(st, 0, "exchange");
      MNode& dn = m_.at(dst);
      s->second = dst;
      t->second = src;
      if (d1 != d2) {
        if (sn.dir) { sn.parent = d2; --p1.nlink; ++p2.nlink; }
        if (dn.dir) { dn.parent = d1; --p2.nlink; ++p1.nlink; }
      }
      return;
    }
    if (has_dst) {
      MNode& dn = m_.at(dst);
      if (sn.dir && !dn.dir) return expect(st, ENOTDIR, "dir over file");
      if (!sn.dir && dn.dir) return expect(st, EISDIR, "file over dir");
      if (dn.dir && !dn.children.empty()) return expect(st, ENOTEMPTY, "over non-empty dir");
    }
    expect(st, 0, "rename");
    if (has_dst) {
      if (m_.at(dst).dir) --p2.nlink;
      m_.drop_link(dst);
    }
    p1.children.erase(n1);
    p2.children[n2] = src;
    if (sn.dir && d1 != d2) {
      sn.parent = d2;
      --p1.nlink;
      ++p2.nlink;
    }
  }

  TestFs& t_;
  std::mt19937 rng_;
  Model m_;
};

}  // namespace

TEST_CASE("random namespace and data operations match a reference model across remounts") {
  const uint32_t seed = GENERATE(1u, 2u, 3u, 4u);
  INFO("seed " << seed);
  TestFs t(sized(32 << 20, 1024));
  const uint64_t free_blocks = t->statfs()->free_blocks;
  const uint64_t free_inodes = t->statfs()->free_files;
  Runner r(t, seed);
  for (int i = 1; i <= 3000; ++i) {
    INFO("step " << i);
    r.step();
    if (i % 300 == 0) {
      t.remount();
      r.verify();
    }
  }
  r.verify();
  // Remove everything: the free counts come back exactly.
  std::function<void(Ino)> wipe = [&](Ino d) {
    std::vector<std::pair<std::string, uint8_t>> names;
    REQUIRE(t->readdir(d, 0, [&](const DirEntry& e) {
      if (e.name != "." && e.name != "..") names.emplace_back(std::string(e.name), e.type);
      return true;
    }).is_ok());
    for (auto& [n, type] : names) {
      if (type == kFtDir) {
        auto a = t->lookup(d, n);
        REQUIRE(a.is_ok());
        t->forget(a->ino, 1);
        wipe(a->ino);
        if (a->ino != kLostFoundIno) REQUIRE(t->rmdir(d, n).is_ok());
      } else {
        REQUIRE(t->unlink(d, n).is_ok());
      }
    }
  };
  wipe(kRootIno);
  t.remount();
  CHECK(t->statfs()->free_blocks == free_blocks);
  CHECK(t->statfs()->free_files == free_inodes);
  CHECK(t->check_free_counts().is_ok());
}
