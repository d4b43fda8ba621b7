// C entry points (for ctypes) to the CUDA backend's host and kernel code, built for the CPU:
// compiled together with csrc/cuda/find_roi.cu and crop_resize.cu against the stand-in
// cuda_runtime.h next to this file. Host memory plays device memory. Each returns 0, or 1
// with the exception text in err.
#include <cstring>
#include <exception>
#include <vector>

#include "cuda/crop_resize.h"
#include "cuda/find_roi.h"

namespace {
int fail(const std::exception& e, char* err, int errlen) {
    std::strncpy(err, e.what(), errlen - 1);
    err[errlen - 1] = 0;
    return 1;
}
}  // namespace

extern "C" {

// Block scheduling for the next launches: slots = blocks in flight at once (1 = one block
// after another), order 0 forward, 1 reverse, 2 shuffled with seed.
void gz_emu_configure(int slots, int order, unsigned seed) {
    emu::config.slots = slots < 1 ? 1 : static_cast<unsigned>(slots);
    emu::config.order = order;
    emu::config.seed = seed;
}

void gz_emu_reset_stats() {
    emu::walk_max = 0;
    emu::walk_total = 0;
    emu::walks = 0;
    emu::concurrent_launches = 0;
    emu::serial_launches = 0;
    for (auto& kind : emu::crop_tiles)
        for (auto& t : kind) t = 0;
    emu::staged_misses = 0;
}

// out[0..11]: longest union-find root walk, total walk steps, walks, launches run with
// concurrent blocks, launches run one block at a time; crop_resize tiles poisoned, by
// output_pixel, area with tables (global memory, staged), rotated with tables (global,
// staged); staged reads outside the staged region.
void gz_emu_stats(long long* out) {
    out[0] = emu::walk_max;
    out[1] = emu::walk_total;
    out[2] = emu::walks;
    out[3] = emu::concurrent_launches;
    out[4] = emu::serial_launches;
    out[5] = emu::crop_tiles[0][0];
    out[6] = emu::crop_tiles[1][0];
    for (int k = 0; k < 4; ++k) out[7 + k] = emu::crop_tiles[2 + k / 2][k % 2];
    out[11] = emu::staged_misses;
}

long long gz_emu_scratch_bytes(long long n, int h, int w) {
    return static_cast<long long>(gz::cuda::find_roi_scratch_bytes(n, h, w));
}

int gz_emu_find_roi(const std::uint8_t* images, long long n, int h, int w, long long image_stride,
                    long long row_stride, int mode, int threshold, double k, double pad, std::int32_t* boxes,
                    long long scratch_bytes, char* err, int errlen) {
    try {
        // Garbage, like torch.empty on a device: a read of scratch the kernels never wrote
        // shows up as wrong boxes (or a crash) instead of a lucky zero.
        std::vector<char> scratch(scratch_bytes > 0 ? scratch_bytes : 1, static_cast<char>(0xA5));
        gz::cuda::find_roi({images, n, h, w, image_stride, row_stride, mode, threshold, k, pad, boxes,
                            scratch.data(), static_cast<std::size_t>(scratch_bytes), nullptr});
        return 0;
    } catch (const std::exception& e) {
        return fail(e, err, errlen);
    }
}

int gz_emu_crop_resize(const std::uint8_t* images, long long n, int h, int w, long long image_stride,
                       long long row_stride, const std::int32_t* boxes, void* out, int size, const float* rot,
                       const std::uint8_t* flips, int interp, int out_dtype, int gray, const float* mean,
                       const float* std, char* err, int errlen) {
    try {
        gz::cuda::ResizeLaunch l{images, n, h, w, image_stride, row_stride, boxes, out, size, rot, flips,
                                 interp, out_dtype, gray != 0, {mean[0], mean[1], mean[2]},
                                 {std[0], std[1], std[2]}, nullptr};
        gz::cuda::crop_resize(l);
        return 0;
    } catch (const std::exception& e) {
        return fail(e, err, errlen);
    }
}
}
