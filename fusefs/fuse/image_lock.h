// ImageLock: the daemon's hold on its card image, for as long as it runs,
// so two daemons never mount one image and no tool writes it meanwhile.
// It is base/image_claim.h's ImageClaim, the one lock every tool that
// writes an image also takes (one mechanism, tested in one place).
#pragma once

#include "base/image_claim.h"

namespace cardfs::fuse {

using ImageLock = ImageClaim;

}  // namespace cardfs::fuse
