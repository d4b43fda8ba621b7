// crop_resize on the GPU: one thread per output pixel, all channels, rules of gz_common.h.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace gz::cuda {

struct ResizeLaunch {
    const std::uint8_t* images;  // device, N x H x W x 3, pixel stride 3
    std::int64_t n;
    int h, w;
    std::int64_t image_stride, row_stride;  // bytes
    const std::int32_t* boxes;              // device, N x 4, valid boxes (checked by ops.py)
    void* out;                              // device, contiguous N x C x S x S
    int size;
    const float* rot;            // device, N x 2 (cos, sin), or null
    const std::uint8_t* flips;   // device, N, or null
    int interp, out_dtype;       // GZ_INTERP_*, GZ_OUT_*
    bool gray;
    float mean[3], std[3];
    cudaStream_t stream;
};

// Validates the arguments (std::invalid_argument) and enqueues one kernel on l.stream
// (std::runtime_error on a launch failure). Never allocates or synchronises. Device-side
// boxes cannot be checked without a sync: an empty or out-of-image box yields NaN (float32)
// or 0 (uint8) for that image instead of an out-of-bounds read.
void crop_resize(const ResizeLaunch& l);

}  // namespace gz::cuda
