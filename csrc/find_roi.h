// find_roi on the CPU: 8-connected components by union-find over row runs.
#pragma once

#include <vector>

#include "batch.h"

namespace gz {

struct Run {
    int xs, xe, y;  // pixels [xs, xe) of row y
    int parent;     // union-find parent (run index); a root is its component's first run
};

// Reused per thread so that steady-state calls allocate nothing.
struct RoiWorkspace {
    std::vector<uint8_t> mask;   // one row of 0x00/0xFF foreground flags, padded to 64
    std::vector<uint64_t> bits;  // the same row packed to bits
    std::vector<Run> runs;
    std::vector<int> label;            // run -> component index
    std::vector<Component> comps;
};

// Threshold for one image: params.threshold, or the auto rule of gz_common.h.
int image_threshold(const uint8_t* img, int h, int w, int64_t row_stride, const RoiParams& p);

Box find_roi_one(const uint8_t* img, int h, int w, int64_t row_stride, const RoiParams& p,
                 RoiWorkspace& ws);

void find_roi_batch(const ImageBatch& images, const RoiParams& p, int32_t* boxes, int threads);

}  // namespace gz
