// crop_resize's per-tile plan and shared-memory staging (included by crop_resize.cu only).
//
// A block samples one kTile x kTile output tile of one image. Thread 0 plans it: the path
// (poison; area or rotated with per-tile tables; or, when the taps are too many for the
// tables, gz_common.h's output_pixel as is) and the exact source region the tile reads.
// Then the whole block fills the tables (tap weights, sub-sample coordinates, which the
// per-pixel code would otherwise recompute with 64-bit or float divisions) and, when the
// region fits kStageBytes, copies it into shared memory with coalesced loads; every pixel
// is then sampled by gz_common.h's rules, from shared memory or else from the image in
// global memory. Only where the bytes and the precomputed values come from changes, never
// the arithmetic, so the output is output_pixel's bit for bit.
//
// The region is exact, not padded: both samplers' reads are monotone in the output index.
//   area: A's column ax (row ay) is an affine function of (ox, oy) (permute_output), and the
//         first and last taps of axis_taps are non-decreasing in ax;
//   rotated: sub_coord is non-decreasing in (o, i) (negated when mirrored), rotated_point
//         is monotone in u and in v separately (IEEE rounding is monotone), and
//         bilinear_taps's columns/rows are non-decreasing in px/py;
// so the extreme reads are those of the tile's corner pixels (corner sub-samples).
#pragma once

#include <cstdint>

#include "gz_common.h"

// Hooks for the CPU emulator (tests/cuda_emulation/): the path each tile took, and each read
// of the staged region (whether it fell inside). Nothing on a device.
#ifndef GZ_CROP_TILE
#define GZ_CROP_TILE(kind, staged) ((void)(kind), (void)(staged))
#endif
#ifndef GZ_CROP_STAGED_READ
#define GZ_CROP_STAGED_READ(inside) ((void)0)
#endif

// The staging and table code runs once per tile: kept out of line, it does not raise the
// register count of the per-pixel code (inlined, the kernel needed 80 registers, or spilled
// at the 64 that four resident blocks per SM allow).
#ifdef __CUDACC__
#define GZ_OUT_OF_LINE static __noinline__
#else
#define GZ_OUT_OF_LINE static
#endif

namespace gz::cuda::crop {

constexpr int kTile = 16;               // output tile side; square: a rotated footprint is smallest
constexpr int kThreads = kTile * kTile;
constexpr int kStageBytes = 40 << 10;   // staged region budget (+ ~2.4 KiB tables: < 48 KiB static)
constexpr int kTabTaps = 16;            // table depth: taps per axis (area), sub-samples (rotated)

// kPlain: output_pixel per pixel, from global memory; kArea, kRotated: with the tables.
enum TileKind : int { kPoison = 0, kPlain = 1, kArea = 2, kRotated = 3 };

struct Plan {
    int kind;
    bool staged;             // kArea, kRotated: the region is in shared memory
    Box box;
    float cs, sn;
    int flips;
    const std::uint8_t* img;
    int rx0, ry0, rw, rh;    // source region: pixels [rx0, rx0 + rw) x [ry0, ry0 + rh)
    int n;                   // rotated: sub-samples per axis
    RotatedFrame frame;      // rotated
    int ax0, ay0, nax, nay;  // area: A's columns ax0 .. ax0 + nax - 1, rows likewise
    bool lin;                // area: the linear (up-scaling) rule
};

// Per-tile tables, one of the two layouts per tile. Index [tap][entry]: the lanes of a warp
// (two tile rows of 16) read consecutive words (no bank conflict) or the same one (broadcast).
struct AreaTables {
    int first[2][kTile], count[2][kTile];  // [0]: columns ax0 + k, [1]: rows ay0 + k
    std::uint32_t w[2][kTabTaps][kTile];   // Q16 weight of tap t of entry k
};
struct RotatedTables {
    float u[kTabTaps][kTile], v[kTabTaps][kTile];  // sub_coord of tile column / row l, sample i
};
union Tables {
    AreaTables area;
    RotatedTables rot;
};

// A gz_common.h pixel source over the staged region: C bytes per pixel (RGB, or the grey
// level computed once while staging), rows of C * rw bytes.
template <int C>
struct StagedSource {
    const std::uint8_t* px;  // shared memory: region pixel (0, 0)
    int x0, y0, rw, rh;
    __device__ int operator()(int x, int y, int c) const {
        GZ_CROP_STAGED_READ(x >= x0 && x < x0 + rw && y >= y0 && y < y0 + rh);
        return px[((y - y0) * rw + (x - x0)) * C + c];
    }
};

template <int C>
__device__ inline bool fits(int rw, int rh) {
    return std::int64_t(rw) * rh * C <= kStageBytes;
}

// Area path (right angle, interp "area"): the columns/rows of A the tile maps to, their taps.
template <int C>
__device__ inline void plan_area(Plan& q, int S, int ox0, int oy0, int ox1, int oy1) {
    const int bw = q.box.x1 - q.box.x0, bh = q.box.y1 - q.box.y0;
    q.lin = area_uses_linear(bw, bh, S);
    if (!q.lin && ((bw - 1) / S + 2 > kTabTaps || (bh - 1) / S + 2 > kTabTaps)) return;  // kPlain
    int ax[4], ay[4];
    const int cx[4] = {ox0, ox1, ox0, ox1}, cy[4] = {oy0, oy0, oy1, oy1};
    for (int k = 0; k < 4; ++k) permute_output(S, (int)q.cs, (int)q.sn, q.flips, cx[k], cy[k], &ax[k], &ay[k]);
    q.ax0 = gz_min(gz_min(ax[0], ax[1]), gz_min(ax[2], ax[3]));
    q.ay0 = gz_min(gz_min(ay[0], ay[1]), gz_min(ay[2], ay[3]));
    const int ax1 = gz_max(gz_max(ax[0], ax[1]), gz_max(ax[2], ax[3]));
    const int ay1 = gz_max(gz_max(ay[0], ay[1]), gz_max(ay[2], ay[3]));
    q.nax = ax1 - q.ax0 + 1;
    q.nay = ay1 - q.ay0 + 1;
    const AxisTaps fx = axis_taps(bw, S, q.ax0, q.lin), lx = axis_taps(bw, S, ax1, q.lin);
    const AxisTaps fy = axis_taps(bh, S, q.ay0, q.lin), ly = axis_taps(bh, S, ay1, q.lin);
    q.rx0 = q.box.x0 + fx.first;
    q.ry0 = q.box.y0 + fy.first;
    q.rw = lx.first + lx.count - fx.first;
    q.rh = ly.first + ly.count - fy.first;
    q.kind = kArea;
    q.staged = fits<C>(q.rw, q.rh);
}

// Rotated path: the bilinear taps of the four corner sub-samples bound every read.
template <int C>
__device__ inline void plan_rotated(Plan& q, int W, int H, int S, int interp, int ox0, int oy0, int ox1, int oy1) {
    q.n = rotated_taps(q.box.x1 - q.box.x0, q.box.y1 - q.box.y0, S, interp);
    if (q.n > kTabTaps) return;  // kPlain
    q.frame = rotated_frame(q.box, q.cs, q.sn);
    const bool fh = q.flips & GZ_FLIP_H, fv = q.flips & GZ_FLIP_V;
    const float u[2] = {sub_coord(ox0, 0, q.n, S, fh), sub_coord(ox1, q.n - 1, q.n, S, fh)};
    const float v[2] = {sub_coord(oy0, 0, q.n, S, fv), sub_coord(oy1, q.n - 1, q.n, S, fv)};
    int x0 = W, y0 = H, x1 = -1, y1 = -1;
    for (int k = 0; k < 4; ++k) {
        float px, py;
        rotated_point(q.frame, u[k & 1], v[k >> 1], &px, &py);
        const BilinearTaps t = bilinear_taps(W, H, px, py);
        x0 = gz_min(x0, t.xa), x1 = gz_max(x1, t.xb), y0 = gz_min(y0, t.ya), y1 = gz_max(y1, t.yb);
    }
    q.rx0 = x0, q.ry0 = y0, q.rw = x1 - x0 + 1, q.rh = y1 - y0 + 1;
    q.kind = kRotated;
    q.staged = fits<C>(q.rw, q.rh);
}

// RGB rows into shared memory as they are: each warp copies rows, its lanes consecutive
// aligned 32-bit words (bytes at the row's ends, so nothing outside the row is read).
GZ_OUT_OF_LINE __device__ void stage_rgb(const Plan& q, std::int64_t row_stride, int tid, std::uint8_t* dst) {
    const int span = 3 * q.rw;
    for (int r = tid / 32; r < q.rh; r += kThreads / 32) {
        const std::uint8_t* row = q.img + std::int64_t(q.ry0 + r) * row_stride + 3 * std::int64_t(q.rx0);
        const int lead = int(reinterpret_cast<std::uintptr_t>(row) & 3);
        std::uint8_t* out = dst + r * span;
        for (int k = 4 * (tid % 32) - lead; k < span; k += 4 * 32) {  // k: the word's first byte
            if (k >= 0 && k + 4 <= span) {
                const std::uint32_t word = *reinterpret_cast<const std::uint32_t*>(row + k);
                for (int b = 0; b < 4; ++b) out[k + b] = std::uint8_t(word >> (8 * b));  // little-endian
            } else {
                for (int b = gz_max(0, -k); b < 4 && k + b < span; ++b) out[k + b] = row[k + b];
            }
        }
    }
}

// The grey level of each region pixel (gray_u8, as fetch computes it per read).
GZ_OUT_OF_LINE __device__ void stage_gray(const Plan& q, std::int64_t row_stride, int tid, std::uint8_t* dst) {
    for (int r = tid / 32; r < q.rh; r += kThreads / 32) {
        const std::uint8_t* row = q.img + std::int64_t(q.ry0 + r) * row_stride + 3 * std::int64_t(q.rx0);
        for (int x = tid % 32; x < q.rw; x += 32)
            dst[r * q.rw + x] = std::uint8_t(gray_u8(row[3 * x], row[3 * x + 1], row[3 * x + 2]));
    }
}

// Tap ranges and weights of the tile's columns ([0]) and rows ([1]) of A: axis_taps and
// axis_weight once per tile instead of once per pixel (each weight takes 64-bit divisions).
GZ_OUT_OF_LINE __device__ void fill_area(const Plan& q, int S, int tid, AreaTables& t) {
    for (int e = tid; e < 2 * kTabTaps * kTile; e += kThreads) {
        const int axis = e / (kTabTaps * kTile), tap = e / kTile % kTabTaps, k = e % kTile;
        if (k >= (axis ? q.nay : q.nax)) continue;
        const int L = axis ? q.box.y1 - q.box.y0 : q.box.x1 - q.box.x0, a = (axis ? q.ay0 : q.ax0) + k;
        const AxisTaps taps = axis_taps(L, S, a, q.lin);
        if (tap == 0) t.first[axis][k] = taps.first, t.count[axis][k] = taps.count;
        if (tap < taps.count) t.w[axis][tap][k] = axis_weight(L, S, a, q.lin, taps.first + tap);
    }
}

// sub_coord of the tile's columns and rows: its two float divisions once per tile, not per
// sub-sample.
GZ_OUT_OF_LINE __device__ void fill_rotated(const Plan& q, int S, int ox0, int oy0, int tid, RotatedTables& t) {
    for (int e = tid; e < q.n * kTile; e += kThreads) {
        const int i = e / kTile, l = e % kTile;
        t.u[i][l] = sub_coord(ox0 + l, i, q.n, S, q.flips & GZ_FLIP_H);
        t.v[i][l] = sub_coord(oy0 + l, i, q.n, S, q.flips & GZ_FLIP_V);
    }
}

// area_pixel's sum with the tile's tabled taps and weights (integers: exact, any order).
template <int C, class Source>
__device__ inline void tabled_area_pixel(const Source& src, const Plan& q, const AreaTables& t, int S, int ox, int oy,
                                         float* value) {
    int ax, ay;
    permute_output(S, (int)q.cs, (int)q.sn, q.flips, ox, oy, &ax, &ay);
    const int kx = ax - q.ax0, ky = ay - q.ay0;
    const int x0 = q.box.x0 + t.first[0][kx], y0 = q.box.y0 + t.first[1][ky];
    std::uint32_t total[C] = {};
    for (int i = 0; i < t.count[0][kx]; ++i) {
        std::uint32_t inner[C] = {};
        for (int j = 0; j < t.count[1][ky]; ++j) {
            const std::uint32_t weight = t.w[1][j][ky];
            for (int c = 0; c < C; ++c) inner[c] += weight * (std::uint32_t)src(x0 + i, y0 + j, c);
        }
        for (int c = 0; c < C; ++c) total[c] += t.w[0][i][kx] * round_inner(inner[c]);
    }
    for (int c = 0; c < C; ++c) value[c] = area_value(total[c]);
}

// rotated_pixel with the tile's tabled sub-sample coordinates (same float operations).
template <int C, class Source>
__device__ inline void tabled_rotated_pixel(const Source& src, const Plan& q, const RotatedTables& t, int W, int H,
                                            int lx, int ly, float* value) {
    float sum[C];
    for (int c = 0; c < C; ++c) sum[c] = 0.0f;
    for (int j = 0; j < q.n; ++j) {
        const float v = t.v[j][ly];
        for (int i = 0; i < q.n; ++i) {
            float px, py;
            rotated_point(q.frame, t.u[i][lx], v, &px, &py);
            bilinear_add<C>(src, W, H, px, py, sum);
        }
    }
    for (int c = 0; c < C; ++c) value[c] = sum[c] / (float)(q.n * q.n);
}

}  // namespace gz::cuda::crop
