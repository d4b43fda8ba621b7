// preprocess on the CPU: find_roi then crop_resize per image on the same thread, while the
// image is still in cache.
#pragma once

#include "cpu/batch.h"

namespace gz {

// boxes: N x 4 int32 output (the boxes found).
void preprocess_batch(const ImageBatch& images, const RoiParams& roi, const ResizeParams& p,
                      int32_t* boxes, int threads);

}  // namespace gz
