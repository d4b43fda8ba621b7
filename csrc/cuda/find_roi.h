// find_roi on the GPU: auto threshold, batched 8-connected components, per-image choice and box.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace gz::cuda {

struct RoiLaunch {
    const std::uint8_t* images;  // device, N x H x W x 3, pixel stride 3
    std::int64_t n;
    int h, w;
    std::int64_t image_stride, row_stride;  // bytes
    int mode;       // GZ_MODE_*
    int threshold;  // 0..255, or -1 = auto
    double k, pad;
    std::int32_t* boxes;  // device, N x 4
    void* scratch;        // device, at least find_roi_scratch_bytes(1, h, w); the batch runs
                          // in chunks of as many images as fit
    std::size_t scratch_bytes;
    cudaStream_t stream;
};

// Bytes of scratch recommended for n images of h x w: enough for a chunk of
// find_roi_chunk_images(n, h, w) images (bounded, ~128 MiB at most unless one image needs more).
std::size_t find_roi_scratch_bytes(std::int64_t n, int h, int w);
std::int64_t find_roi_chunk_images(std::int64_t n, int h, int w);

// Validates the arguments (std::invalid_argument) and enqueues the kernels on l.stream
// (std::runtime_error on a launch failure). Never allocates or synchronises.
void find_roi(const RoiLaunch& l);

}  // namespace gz::cuda
