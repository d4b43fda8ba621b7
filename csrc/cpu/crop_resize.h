// crop_resize on the CPU: the gz_common.h resampling rules, evaluated row-wise.
#pragma once

#include <vector>

#include "cpu/batch.h"

namespace gz {

// Q16 taps of one axis, padded to a common count per output (zero weights, clamped
// indices) so the inner loops have a fixed trip count; zero weights add nothing.
struct AxisTable {
    int length = -1, size = -1, taps = 0;
    bool linear = false;
    std::vector<int> first;   // per output
    std::vector<uint32_t> w;  // per output x taps
    void build(int length, int size, bool linear);  // no-op when unchanged
};

// Reused per thread so that steady-state calls allocate nothing.
struct ResizeWorkspace {
    AxisTable xs, ys;
    std::vector<uint8_t> gray_box;         // the box in grey (grayscale output only)
    std::vector<const uint8_t*> rows;      // the source rows of one output row
    std::vector<uint16_t> rounded;         // 8 output rows of rounded vertical sums
    std::vector<uint16_t> columns;         // the same, transposed
    std::vector<float> values;             // the resampled box A, C x S(ax) x S(ay)
    std::vector<float> permuted;           // one plane of A in output order
    std::vector<uint32_t> packed;          // rotated path: sampled rows, one word per pixel
};

// Resamples image i of the batch (box b) into its slot of params.out.
void crop_resize_one(const uint8_t* img, int h, int w, int64_t row_stride, const Box& b,
                     int64_t i, const ResizeParams& p, ResizeWorkspace& ws);

void crop_resize_batch(const ImageBatch& images, const int32_t* boxes, const ResizeParams& p,
                       int threads);

}  // namespace gz
