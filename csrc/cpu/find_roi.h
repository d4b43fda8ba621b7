// find_roi on the CPU: 8-connected components by union-find over row runs.
#pragma once

#include <vector>

#include "cpu/batch.h"

namespace gz {

struct Run {
    int xs, xe, y;  // pixels [xs, xe) of row y
    int parent;     // union-find parent (run index); a root is its component's first run
};

// Reused per thread so that steady-state calls allocate nothing.
struct RoiWorkspace {
    std::vector<uint8_t> gray;   // grey rows padded to whole 64-pixel words (zeros)
    std::vector<uint64_t> bits;  // one row of foreground bits
    std::vector<int> edges;      // one row of run edge positions
    std::vector<Run> runs;
    std::vector<int> label;  // run -> component index
    std::vector<Component> comps;
};

Box find_roi_one(const uint8_t* img, int h, int w, int64_t row_stride, const RoiParams& p,
                 RoiWorkspace& ws);

void find_roi_batch(const ImageBatch& images, const RoiParams& p, int32_t* boxes, int threads);

}  // namespace gz
