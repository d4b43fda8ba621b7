// crop_resize on the GPU: one thread per output pixel computes every channel, evaluating
// gz_common.h's output_value with the per-pixel work shared across channels (tap weights,
// sample coordinates). The arithmetic per channel is exactly the header's: integer sums on
// the area path, the same float operations in the same order on the rotated path (built
// with -fmad=false, see CMakeLists.txt), so the result equals the CPU backend's bit for bit.
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
// Vertical tap weights are kept per thread up to this many taps (a 424 px box down to
// 64 px needs 8); longer axes recompute them per column.
constexpr int kCachedTaps = 16;

struct Params {
    const std::uint8_t* images;
    std::int64_t n, image_stride, row_stride;
    int h, w, size, interp;
    const std::int32_t* boxes;
    const float* rot;
    const std::uint8_t* flips;
    float mean[3], std[3];
};

// area_pixel of gz_common.h for C channels at once (C == 1 means grey).
template <int C>
__device__ void area_pixel_c(const std::uint8_t* img, std::int64_t row_stride, Box box, int S, int ax, int ay,
                             float* value) {
    const int bw = box.x1 - box.x0, bh = box.y1 - box.y0;
    const bool lin = area_uses_linear(bw, bh, S);
    const AxisTaps tx = axis_taps(bw, S, ax, lin), ty = axis_taps(bh, S, ay, lin);
    const bool cached = ty.count <= kCachedTaps;
    std::uint32_t wy[kCachedTaps];
    if (cached)
        for (int j = 0; j < ty.count; ++j) wy[j] = axis_weight(bh, S, ay, lin, ty.first + j);
    std::uint32_t total[C] = {};
    for (int i = 0; i < tx.count; ++i) {
        const int x = tx.first + i;
        std::uint32_t inner[C] = {};
        for (int j = 0; j < ty.count; ++j) {
            const int y = ty.first + j;
            const std::uint32_t weight = cached ? wy[j] : axis_weight(bh, S, ay, lin, y);
            for (int c = 0; c < C; ++c)
                inner[c] += weight * static_cast<std::uint32_t>(fetch(img, row_stride, box.x0 + x, box.y0 + y, c, C == 1));
        }
        const std::uint32_t wx = axis_weight(bw, S, ax, lin, x);
        for (int c = 0; c < C; ++c) total[c] += wx * round_inner(inner[c]);
    }
    for (int c = 0; c < C; ++c) value[c] = area_value(total[c]);
}

// rotated_pixel of gz_common.h for C channels at once: same loop order, one sum per channel.
template <int C>
__device__ void rotated_pixel_c(const std::uint8_t* img, std::int64_t row_stride, int W, int H, Box box, int S,
                                int ox, int oy, float cs, float sn, int flips, int n, float* value) {
    const float bw = (float)(box.x1 - box.x0), bh = (float)(box.y1 - box.y0);
    const float cx = 0.5f * (float)(box.x0 + box.x1), cy = 0.5f * (float)(box.y0 + box.y1);
    float sum[C];
    for (int c = 0; c < C; ++c) sum[c] = 0.0f;
    for (int j = 0; j < n; ++j) {
        float v = ((float)oy + ((float)j + 0.5f) / (float)n) / (float)S - 0.5f;
        if (flips & GZ_FLIP_V) v = -v;
        for (int i = 0; i < n; ++i) {
            float u = ((float)ox + ((float)i + 0.5f) / (float)n) / (float)S - 0.5f;
            if (flips & GZ_FLIP_H) u = -u;
            const float ru = cs * u - sn * v, rv = sn * u + cs * v;
            const float px = cx + bw * ru, py = cy + bh * rv;
            for (int c = 0; c < C; ++c) sum[c] += bilinear(img, row_stride, W, H, px, py, c, C == 1);
        }
    }
    for (int c = 0; c < C; ++c) value[c] = sum[c] / (float)(n * n);
}

__device__ inline void store(float* out, float v, float mean, float std) { *out = to_f32(v, mean, std); }
__device__ inline void store(std::uint8_t* out, float v, float, float) { *out = to_u8(v); }

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
        if (!(0 <= box.x0 && box.x0 < box.x1 && box.x1 <= p.w && 0 <= box.y0 && box.y0 < box.y1 && box.y1 <= p.h)) {
            for (int c = 0; c < C; ++c) store(dst + c * plane, NAN, 0.0f, 1.0f);
            continue;
        }
        const std::uint8_t* img = p.images + i * p.image_stride;
        const float cs = p.rot ? p.rot[2 * i] : 1.0f, sn = p.rot ? p.rot[2 * i + 1] : 0.0f;
        const int flips = p.flips ? p.flips[i] : 0;
        float value[C];
        if (p.interp == GZ_INTERP_AREA && is_right_angle(cs, sn)) {
            int ax, ay;
            permute_output(S, (int)cs, (int)sn, flips, ox, oy, &ax, &ay);
            area_pixel_c<C>(img, p.row_stride, box, S, ax, ay, value);
        } else {
            const int n = rotated_taps(box.x1 - box.x0, box.y1 - box.y0, S, p.interp);
            rotated_pixel_c<C>(img, p.row_stride, p.w, p.h, box, S, ox, oy, cs, sn, flips, n, value);
        }
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
