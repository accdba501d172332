#include "fusefs/fuse/control.h"

namespace cardfs::fuse {
namespace {

std::string parent_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

std::string base_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::string_view trim_value(std::string_view v) {
  const char* ws = " \t\r\n";
  auto b = v.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  auto e = v.find_last_not_of(ws);
  return v.substr(b, e - b + 1);
}

std::optional<size_t> ControlTree::find(const std::string& path) const {
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i].path == path) return i;
  return std::nullopt;
}

size_t ControlTree::ensure_dir(const std::string& path) {
  if (auto i = find(path)) return *i;
  if (!path.empty()) ensure_dir(parent_of(path));
  nodes_.push_back({path, true});
  return nodes_.size() - 1;
}

void ControlTree::add(ControlFile file) {
  ensure_dir(parent_of(file.path));
  nodes_.push_back({file.path, false, int(files_.size())});
  files_.push_back(std::move(file));
}

ControlTree::Entry ControlTree::entry(size_t index) const {
  const Node& n = nodes_[index];
  bool writable = n.file >= 0 && (files_[size_t(n.file)].write || files_[size_t(n.file)].write_from);
  return {base_ino_ + index, index == 0 ? kDirName : base_of(n.path), n.is_dir, writable};
}

std::optional<ControlTree::Entry> ControlTree::stat(uint64_t ino) const {
  if (!owns(ino)) return std::nullopt;
  return entry(size_t(ino - base_ino_));
}

std::optional<ControlTree::Entry> ControlTree::lookup(uint64_t parent_ino,
                                                      std::string_view name) const {
  auto parent = stat(parent_ino);
  if (!parent || !parent->is_dir) return std::nullopt;
  const std::string& dir = nodes_[size_t(parent_ino - base_ino_)].path;
  std::string path = dir.empty() ? std::string(name) : dir + "/" + std::string(name);
  if (auto i = find(path); i && *i != 0) return entry(*i);
  return std::nullopt;
}

std::vector<ControlTree::Entry> ControlTree::list(uint64_t dir_ino) const {
  std::vector<Entry> out;
  auto dir = stat(dir_ino);
  if (!dir || !dir->is_dir) return out;
  const std::string& path = nodes_[size_t(dir_ino - base_ino_)].path;
  for (size_t i = 1; i < nodes_.size(); ++i)
    if (parent_of(nodes_[i].path) == path) out.push_back(entry(i));
  return out;
}

Result<std::string> ControlTree::read(uint64_t ino) const {
  auto e = stat(ino);
  if (!e) return Status::error(ENOENT, "no such control file");
  if (e->is_dir) return Status::error(EISDIR, "a control directory");
  return files_[size_t(nodes_[size_t(ino - base_ino_)].file)].read();
}

Status ControlTree::write(uint64_t ino, std::string_view value, pid_t writer) const {
  auto e = stat(ino);
  if (!e) return Status::error(ENOENT, "no such control file");
  if (e->is_dir) return Status::error(EISDIR, "a control directory");
  const ControlFile& f = files_[size_t(nodes_[size_t(ino - base_ino_)].file)];
  if (f.write_from) return f.write_from(trim_value(value), writer).with_context(f.path);
  if (!f.write) return Status::error(EACCES, f.path + " is read-only");
  return f.write(trim_value(value)).with_context(f.path);
}

}  // namespace cardfs::fuse
