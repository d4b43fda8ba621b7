// crop_resize on the GPU: a block per kTile x kTile output tile, one thread per output
// pixel computing every channel. Where the tile's source region fits kStageBytes, it is
// staged in shared memory; tap weights and sub-sample coordinates come from per-tile
// tables (crop_stage.cuh); only taps too many for the tables (very strong down-scaling)
// leave each pixel to gz_common.h's output_pixel<C> on the image in global memory. Every
// path gives output_pixel's values, and built with -fmad=false (see CMakeLists.txt) the
// float operations of the rotated path round as on the CPU: the result equals the CPU
// backend's bit for bit.
#include "cuda/crop_resize.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "cuda/crop_stage.cuh"
#include "cuda/device_guard.h"
#include "cuda/launch.h"
#include "gz_common.h"

namespace gz::cuda {
namespace {

using namespace crop;  // crop_stage.cuh

constexpr int kMaxSize = 4096;
#ifdef GZ_CROP_PLAIN  // the emulator's output_pixel-only build, the reference for the others
constexpr bool kPlanTiles = false;
#else
constexpr bool kPlanTiles = true;
#endif

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

// Thread 0's plan for image i and the output tile [ox0, ox1] x [oy0, oy1] (clipped to S).
template <int C>
__device__ Plan plan_tile(const Params& p, std::int64_t i, int ox0, int oy0, int ox1, int oy1) {
    Plan q{};
    const std::int32_t* b = p.boxes + 4 * i;
    q.box = Box{b[0], b[1], b[2], b[3]};
    q.cs = p.rot ? p.rot[2 * i] : 1.0f;
    q.sn = p.rot ? p.rot[2 * i + 1] : 0.0f;
    q.flips = p.flips ? p.flips[i] : 0;
    q.img = p.images + i * p.image_stride;
    // Device-side arguments are not checked on the host (that would need a sync): a bad box,
    // a non-finite rotation or a flip code above 3 poisons the image (NaN, or 0 for uint8)
    // instead of reading out of bounds; ops.py records the reason on the device.
    const Box& x = q.box;
    q.kind = (0 <= x.x0 && x.x0 < x.x1 && x.x1 <= p.w && 0 <= x.y0 && x.y0 < x.y1 && x.y1 <= p.h) &&
                     isfinite(q.cs) && isfinite(q.sn) && q.flips <= 3 ? kPlain : kPoison;
    if (kPlanTiles && q.kind == kPlain && p.interp == GZ_INTERP_AREA && is_right_angle(q.cs, q.sn))
        plan_area<C>(q, p.size, ox0, oy0, ox1, oy1);
    else if (kPlanTiles && q.kind == kPlain)
        plan_rotated<C>(q, p.w, p.h, p.size, p.interp, ox0, oy0, ox1, oy1);
    GZ_CROP_TILE(q.kind, q.staged);
    return q;
}

// Every thread takes part in the barriers (also those past the output's edge, which stage
// and fill tables but sample nothing), so the barriers stay uniform across the block.
template <int C, class T>
__global__ void __launch_bounds__(kThreads, 4) crop_resize_kernel(Params p, T* __restrict__ out) {
    __shared__ Plan plan;
    __shared__ Tables tables;
    __shared__ std::uint8_t stage[kStageBytes];
    const int S = p.size, tid = threadIdx.y * kTile + threadIdx.x;
    const int ox0 = blockIdx.x * kTile, oy0 = blockIdx.y * kTile;
    const int ox = ox0 + threadIdx.x, oy = oy0 + threadIdx.y;
    const std::int64_t plane = std::int64_t(S) * S;
    for (std::int64_t i = blockIdx.z; i < p.n; i += gridDim.z) {
        if (tid == 0) plan = plan_tile<C>(p, i, ox0, oy0, min(ox0 + kTile, S) - 1, min(oy0 + kTile, S) - 1);
        __syncthreads();
        const Plan& q = plan;  // read in shared memory (broadcast), not copied into registers
        if (q.staged && C == 1) stage_gray(q, p.row_stride, tid, stage);
        if (q.staged && C == 3) stage_rgb(q, p.row_stride, tid, stage);
        if (q.kind == kArea) fill_area(q, S, tid, tables.area);
        if (q.kind == kRotated) fill_rotated(q, S, ox0, oy0, tid, tables.rot);
        __syncthreads();
        if (ox < S && oy < S) {
            T* dst = out + i * C * plane + std::int64_t(oy) * S + ox;
            float value[C];
            const StagedSource<C> staged{stage, q.rx0, q.ry0, q.rw, q.rh};
            const RgbSource<C> image{q.img, p.row_stride};
            const int lx = threadIdx.x, ly = threadIdx.y;
            if (q.kind == kPoison)
                for (int c = 0; c < C; ++c) poison(dst + c * plane);
            else if (q.kind == kArea && q.staged)
                tabled_area_pixel<C>(staged, q, tables.area, S, ox, oy, value);
            else if (q.kind == kArea)
                tabled_area_pixel<C>(image, q, tables.area, S, ox, oy, value);
            else if (q.kind == kRotated && q.staged)
                tabled_rotated_pixel<C>(staged, q, tables.rot, p.w, p.h, lx, ly, value);
            else if (q.kind == kRotated)
                tabled_rotated_pixel<C>(image, q, tables.rot, p.w, p.h, lx, ly, value);
            else
                output_pixel<C>(image, p.w, p.h, q.box, S, ox, oy, q.cs, q.sn, q.flips, p.interp, value);
            if (q.kind != kPoison)
                for (int c = 0; c < C; ++c) store(dst + c * plane, value[c], p.mean[c], p.std[c]);
        }
        __syncthreads();  // plan, tables and stage are rewritten for the next image
    }
}

template <int C, class T>
void launch(const Params& p, void* out, cudaStream_t stream) {
    const dim3 tile(kTile, kTile);
    const dim3 grid(ceil_div(p.size, kTile), ceil_div(p.size, kTile), grid_z(p.n));
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
