// Creating, opening (power-on scan), checkpointing and closing a Card.
#include <unistd.h>

#include <algorithm>
#include <optional>

#include "base/crc32c.h"
#include "base/log.h"
#include "sdcard/card.h"
#include "sdcard/card_impl.h"
#include "sdcard/page_crc.h"

namespace cardfs::sdcard {
namespace {

// Pages whose data is read per batch when verifying programs newer than
// the checkpoint.
constexpr size_t kVerifyChunk = 64;

// The newest valid checkpoint, or nullopt when neither slot holds one.
Result<std::optional<Checkpoint>> load_checkpoint(ImageFile& file, const ImageLayout& l, const Geometry& g) {
  std::optional<Checkpoint> newest;
  std::vector<std::byte> buf(l.checkpoint_slot_bytes);
  for (uint64_t off : l.checkpoint_offset) {
    CARDFS_RETURN_IF_ERROR(file.read_at(off, buf));
    Result<Checkpoint> c = decode_checkpoint(buf, g);
    if (!c.is_ok()) {
      if (c.status().code() != ENOENT) logger("sdcard")->warn("{}: ignoring checkpoint slot: {}", file.path(), c.status().message());
      continue;
    }
    if (!newest || c->generation > newest->generation) newest = std::move(c).value();
  }
  return newest;
}

// Reads every page's OOB record; pages programmed after the checkpoint have
// their data checked against the recorded CRC (a torn page fails it).
Result<std::vector<ScannedPage>> scan_flash(ImageFile& file, const ImageLayout& l, const Geometry& g,
                                            uint64_t checkpoint_seq) {
  const uint64_t n = g.physical_pages();
  std::vector<std::byte> oob(n * kOobBytes);
  CARDFS_RETURN_IF_ERROR(file.read_at(l.oob_offset, oob));
  std::vector<ScannedPage> scan(n);
  std::vector<uint64_t> unverified;
  for (uint64_t pp = 0; pp < n; ++pp) {
    scan[pp].state = decode_oob(oob.data() + pp * kOobBytes, &scan[pp].oob);
    if (scan[pp].state == OobState::kValid && scan[pp].oob.seq > checkpoint_seq) unverified.push_back(pp);
  }
  std::vector<std::byte> data(kVerifyChunk * g.page_bytes);
  for (size_t first = 0; first < unverified.size(); first += kVerifyChunk) {
    const size_t count = std::min(kVerifyChunk, unverified.size() - first);
    std::vector<iovec> iovs(count);
    std::vector<IoOp> ops(count);
    for (size_t i = 0; i < count; ++i) {
      iovs[i] = {data.data() + i * g.page_bytes, g.page_bytes};
      ops[i] = {l.flash_offset + unverified[first + i] * g.page_bytes, std::span<const iovec>(&iovs[i], 1)};
    }
    CARDFS_RETURN_IF_ERROR(file.read(ops));
    for (size_t i = 0; i < count; ++i) {
      ScannedPage& s = scan[unverified[first + i]];
      if (page_crc(std::span(data).subspan(i * g.page_bytes, g.page_bytes)) != s.oob.data_crc)
        s.state = OobState::kCorrupt;
    }
  }
  return scan;
}

Status write_new_image(ImageFile& file, const ImageHeader& h) {
  const ImageLayout l = layout_for(h.geometry);
  CARDFS_RETURN_IF_ERROR(file.set_size(l.file_bytes));
  Checkpoint c;
  c.generation = 1;
  c.page_seq.assign(h.geometry.user_pages(), 0);
  c.aus.assign(h.geometry.physical_aus(), AuRecord{});
  CARDFS_RETURN_IF_ERROR(file.write_at(l.checkpoint_offset[1], encode_checkpoint(c)));
  std::array<std::byte, kHeaderBytes> buf;
  encode_header(h, buf);
  CARDFS_RETURN_IF_ERROR(file.write_at(0, buf));
  return file.sync();
}

}  // namespace

Result<std::unique_ptr<Card>> Card::create(const std::string& path, const Profile& profile,
                                           uint64_t size_bytes, Clock& clock, CardOptions opts) {
  CARDFS_ASSIGN_OR_RETURN(Geometry g, make_geometry(profile, size_bytes));
  Result<std::unique_ptr<ImageFile>> file = ImageFile::open(path, OpenMode::kCreate);
  if (!file.is_ok()) return file.status().with_context("creating card image");
  ImageHeader h;
  h.geometry = g;
  h.profile = std::string(profile.name);
  h.serial = crc32c(std::as_bytes(std::span(path.data(), path.size()))) ^ uint32_t(size_bytes >> 20);
  h.clean = true;
  Status st = write_new_image(**file, h);
  file->reset();
  if (!st.is_ok()) {
    ::unlink(path.c_str());
    return st.with_context("creating " + path);
  }
  return open(path, clock, std::move(opts));
}

Result<std::unique_ptr<Card>> Card::open(const std::string& path, Clock& clock, CardOptions opts) {
  auto fail = [&](const Status& s) { return s.with_context(path); };
  Result<std::unique_ptr<ImageFile>> opened =
      ImageFile::open(path, opts.read_only ? OpenMode::kReadOnly : OpenMode::kReadWrite);
  if (!opened.is_ok()) return opened.status();
  std::unique_ptr<ImageFile> file = std::move(opened).value();
  Result<uint64_t> size = file->size();
  if (!size.is_ok()) return size.status();
  if (*size < kHeaderBytes)
    return fail(Status::error(EINVAL, "truncated image (" + std::to_string(*size) + " bytes)"));
  std::array<std::byte, kHeaderBytes> hbuf;
  CARDFS_RETURN_IF_ERROR(file->read_at(0, hbuf));
  Result<ImageHeader> header = decode_header(hbuf);
  if (!header.is_ok()) return fail(header.status());
  Result<const Profile*> profile = find_profile(header->profile);
  if (!profile.is_ok()) return fail(profile.status());
  if ((*profile)->page_bytes != header->geometry.page_bytes)
    return fail(Status::error(EINVAL, "page size does not match profile " + header->profile));
  const ImageLayout layout = layout_for(header->geometry);
  if (*size != layout.file_bytes)
    return fail(Status::error(EINVAL, std::string(*size < layout.file_bytes ? "truncated image" : "image size mismatch") +
                                          " (" + std::to_string(*size) + " bytes, geometry needs " +
                                          std::to_string(layout.file_bytes) + ")"));
  Result<std::optional<Checkpoint>> ckpt = load_checkpoint(*file, layout, header->geometry);
  if (!ckpt.is_ok()) return fail(ckpt.status());
  if (header->clean && !ckpt->has_value())
    return fail(Status::error(EINVAL, "image marked clean but no valid checkpoint"));
  const uint64_t ckpt_seq = ckpt->has_value() ? (*ckpt)->seq : 0;
  Result<std::vector<ScannedPage>> scan = scan_flash(*file, layout, header->geometry, ckpt_seq);
  if (!scan.is_ok()) return fail(scan.status());

  auto impl = std::make_unique<Impl>(clock, std::move(opts), **profile, *header, std::move(file));
  impl->ftl.rebuild(*scan, ckpt->has_value() ? &**ckpt : nullptr);
  impl->generation = ckpt->has_value() ? (*ckpt)->generation : 0;
  impl->opened_clean = header->clean;
  impl->programs_at_checkpoint = impl->ftl.programs();
  logger("sdcard")->debug("{}: opened {} card ({})", path, header->profile,
                          header->clean ? "clean" : "unclean stop: map rebuilt by OOB scan");
  if (!impl->opts.read_only) {
    // From here on the image may change: it is valid and will be ours.
    CARDFS_RETURN_IF_ERROR(impl->write_header(false));
    CARDFS_RETURN_IF_ERROR(impl->ftl.normalize());
    CARDFS_RETURN_IF_ERROR(impl->flash.submit());
  }
  return std::unique_ptr<Card>(new Card(std::move(impl)));
}

Status Card::Impl::write_header(bool clean) {
  header.clean = clean;
  std::array<std::byte, kHeaderBytes> buf;
  encode_header(header, buf);
  CARDFS_RETURN_IF_ERROR(file->write_at(0, buf));
  return opts.durable ? file->sync() : Status::ok();
}

Status Card::Impl::write_checkpoint() {
  if (flash.powered_off()) return Status::error(EIO, "card lost power");
  CARDFS_RETURN_IF_ERROR(flash.submit());
  if (opts.durable) CARDFS_RETURN_IF_ERROR(file->sync());
  const Checkpoint c = ftl.make_checkpoint(generation + 1);
  const std::vector<std::byte> bytes = encode_checkpoint(c);
  if (bytes.size() > layout.checkpoint_slot_bytes) return Status::error(EIO, "checkpoint larger than its slot");
  CARDFS_RETURN_IF_ERROR(file->write_at(layout.checkpoint_offset[c.generation % 2], bytes));
  if (opts.durable) CARDFS_RETURN_IF_ERROR(file->sync());
  generation = c.generation;
  programs_at_checkpoint = ftl.programs();
  ftl.checkpoint_written();
  return Status::ok();
}

Status Card::Impl::close_locked() {
  if (closed) return Status::ok();
  closed = true;
  if (opts.read_only || flash.powered_off()) return Status::ok();
  CARDFS_RETURN_IF_ERROR(drain());
  CARDFS_RETURN_IF_ERROR(write_checkpoint());  // syncs first when durable
  return write_header(true);
}

}  // namespace cardfs::sdcard
