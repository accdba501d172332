// FtlPolicy: where a card's firmware puts each write, apart from the
// mechanism every policy shares (sdcard/ftl.h: the page map, programs and
// copies, AU roles, allocation with wear levelling, the erase queue,
// checkpoints and the power-on scan).
//
// A policy decides which AU a host write goes to, when AUs close, merge
// or are collected, and what of that it must restore at power-on. It
// works only through the FlashTranslationLayer's policy section, so a
// program it makes is counted, timed and made durable the same way as
// any other. The profile's FtlKind chooses one (make_ftl_policy); a new
// policy is a class here, a file, an FtlKind and a case there (how:
// docs/sdcard.md "Adding an FTL policy").
// Not thread-safe: called under the Card's state lock, as the FTL is.
#pragma once

#include <cstdint>
#include <memory>

#include "base/status.h"
#include "sdcard/image_format.h"
#include "sdcard/profiles.h"

namespace cardfs::sdcard {

class FlashTranslationLayer;

class FtlPolicy {
 public:
  virtual ~FtlPolicy() = default;

  // Programs logical page lp (host data, valid until the next flash
  // submit()), closing, merging or collecting AUs as the policy needs.
  virtual Status write(uint32_t lp, const std::byte* data) = 0;

  // Power-on: forget every open AU and placement the policy keeps; the
  // FTL then restores roles from a checkpoint or derives them.
  virtual void reset() = 0;
  // A checkpoint's record r for AU au holding valid pages (restore):
  // false when it contradicts what the scan found (the FTL then derives
  // roles instead). Called for every AU before any role is set.
  virtual bool restore(uint32_t au, const AuRecord& r) = 0;
  // After every restore() said yes and the roles are set: false when the
  // state restored breaks the policy's own limits.
  virtual bool restored() = 0;
  // Roles derived from the scan: AU au (kData) holds pages of logical AU owner.
  virtual void derived(uint32_t au, uint32_t owner) = 0;
  // After a power-on, before the card takes commands (not read-only):
  // puts back whatever state the policy needs that a cut left half done.
  virtual Status normalize() { return Status::ok(); }

  // Whether AUs in use belong to one logical AU (au_states' owner column).
  virtual bool owns_aus() const = 0;
};

// The policy of a profile's FtlKind, over ftl (which owns it).
std::unique_ptr<FtlPolicy> make_ftl_policy(FtlKind kind, FlashTranslationLayer& ftl);
// The two the profiles use (ftl_block.cpp, ftl_page.cpp).
std::unique_ptr<FtlPolicy> make_block_ftl(FlashTranslationLayer& ftl);
std::unique_ptr<FtlPolicy> make_page_ftl(FlashTranslationLayer& ftl);

}  // namespace cardfs::sdcard
