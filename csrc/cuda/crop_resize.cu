// crop_resize on the GPU: one thread per output pixel computes every channel with
// gz_common.h's output_pixel<C>, the per-pixel work (tap weights, sample coordinates) shared
// across channels. Built with -fmad=false (see CMakeLists.txt), so the float operations of
// the rotated path round as on the CPU and the result equals the CPU backend's bit for bit.
#include "cuda/crop_resize.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "cuda/device_guard.h"
#include "cuda/launch.h"
#include "gz_common.h"

namespace gz::cuda {
namespace {

constexpr int kTileX = 32, kTileY = 8;
constexpr int kMaxSize = 4096;

struct Params {
    const std::uint8_t* images;
    std::int64_t n, image_stride, row_stride;
    int h, w, size, interp;
    const std::int32_t* boxes;
    const float* rot;
    const std::uint8_t* flips;
    float mean[3], std[3];
};

__device__ inline void store(float* out, float v, float mean, float std) { *out = to_f32(v, mean, std); }
__device__ inline void store(std::uint8_t* out, float v, float, float) { *out = to_u8(v); }
__device__ inline void poison(float* out) { *out = NAN; }
__device__ inline void poison(std::uint8_t* out) { *out = 0; }

template <int C, class T>
__global__ void __launch_bounds__(kTileX * kTileY) crop_resize_kernel(Params p, T* __restrict__ out) {
    const int ox = blockIdx.x * blockDim.x + threadIdx.x, oy = blockIdx.y * blockDim.y + threadIdx.y;
    const int S = p.size;
    if (ox >= S || oy >= S) return;
    const std::int64_t plane = std::int64_t(S) * S;
    for (std::int64_t i = blockIdx.z; i < p.n; i += gridDim.z) {
        T* dst = out + i * C * plane + std::int64_t(oy) * S + ox;
        const std::int32_t* q = p.boxes + 4 * i;
        const Box box{q[0], q[1], q[2], q[3]};
        const float cs = p.rot ? p.rot[2 * i] : 1.0f, sn = p.rot ? p.rot[2 * i + 1] : 0.0f;
        const int flips = p.flips ? p.flips[i] : 0;
        // Device-side arguments are not checked on the host (that would need a sync): a bad
        // box, a non-finite rotation or a flip code above 3 poisons the image (NaN, or 0 for
        // uint8) instead of reading out of bounds; ops.py records the reason on the device.
        if (!(0 <= box.x0 && box.x0 < box.x1 && box.x1 <= p.w && 0 <= box.y0 && box.y0 < box.y1 && box.y1 <= p.h) ||
            !isfinite(cs) || !isfinite(sn) || flips > 3) {
            for (int c = 0; c < C; ++c) poison(dst + c * plane);
            continue;
        }
        const std::uint8_t* img = p.images + i * p.image_stride;
        float value[C];
        output_pixel<C>(RgbSource<C>{img, p.row_stride}, p.w, p.h, box, S, ox, oy, cs, sn, flips, p.interp, value);
        for (int c = 0; c < C; ++c) store(dst + c * plane, value[c], p.mean[c], p.std[c]);
    }
}

template <int C, class T>
void launch(const Params& p, void* out, cudaStream_t stream) {
    const dim3 tile(kTileX, kTileY);
    const dim3 grid(ceil_div(p.size, kTileX), ceil_div(p.size, kTileY), grid_z(p.n));
    GZ_LAUNCH(grid, tile, stream, crop_resize_kernel<C, T>)(p, static_cast<T*>(out));
    check_launch("crop_resize");
}

void validate(const ResizeLaunch& l) {
    if (l.n < 1) throw std::invalid_argument("crop_resize: empty batch");
    if (l.h < 1 || l.w < 1) throw std::invalid_argument("crop_resize: zero-size images");
    if (l.h > kMaxSide || l.w > kMaxSide)
        throw std::invalid_argument("crop_resize: image sides are limited to " + std::to_string(kMaxSide));
    if (l.size < 1 || l.size > kMaxSize)
        throw std::invalid_argument("crop_resize: size must be 1.." + std::to_string(kMaxSize));
    if (l.interp != GZ_INTERP_AREA && l.interp != GZ_INTERP_BILINEAR)
        throw std::invalid_argument("crop_resize: interp must be 0 (area) or 1 (bilinear)");
    if (l.out_dtype != GZ_OUT_FLOAT32 && l.out_dtype != GZ_OUT_UINT8)
        throw std::invalid_argument("crop_resize: out_dtype must be 0 (float32) or 1 (uint8)");
    // Strides of size-1 dimensions are never used (torch leaves them arbitrary).
    if ((l.h > 1 && l.row_stride < 3 * std::int64_t(l.w)) ||
        (l.n > 1 && l.image_stride < (l.h - 1) * l.row_stride + 3 * l.w))
        throw std::invalid_argument("crop_resize: strides do not describe an N x H x W x 3 layout");
    if (!l.images || !l.boxes || !l.out) throw std::invalid_argument("crop_resize: null device pointer");
    const auto misaligned = [](const void* p, std::size_t a) { return reinterpret_cast<std::uintptr_t>(p) % a != 0; };
    if (misaligned(l.boxes, 4) || misaligned(l.rot, 4) || (l.out_dtype == GZ_OUT_FLOAT32 && misaligned(l.out, 4)))
        throw std::invalid_argument("crop_resize: misaligned boxes, rot or out pointer");
    for (int c = 0; c < 3; ++c)
        if (!std::isfinite(l.mean[c]) || !std::isfinite(l.std[c]) || l.std[c] == 0.0f)
            throw std::invalid_argument("crop_resize: mean and std must be finite and std non-zero");
}

}  // namespace

void crop_resize(const ResizeLaunch& l) {
    validate(l);
    DeviceGuard device({l.images, l.boxes, l.out, l.rot, l.flips}, "crop_resize");
    Params p{l.images, l.n, l.image_stride, l.row_stride, l.h, l.w, l.size, l.interp, l.boxes, l.rot, l.flips, {}, {}};
    for (int c = 0; c < 3; ++c) {
        p.mean[c] = l.mean[c];
        p.std[c] = l.std[c];
    }
    const bool f32 = l.out_dtype == GZ_OUT_FLOAT32;
    if (l.gray) f32 ? launch<1, float>(p, l.out, l.stream) : launch<1, std::uint8_t>(p, l.out, l.stream);
    else f32 ? launch<3, float>(p, l.out, l.stream) : launch<3, std::uint8_t>(p, l.out, l.stream);
}

}  // namespace gz::cuda
