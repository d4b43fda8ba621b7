// gz_common.h: the one definition of every rule the CPU (csrc/cpu/) and CUDA (csrc/cuda/)
// backends share, so that both produce identical boxes and identical output values.
//
// Header-only C++17, usable from host C++ and from CUDA device code (GZ_HD). The
// device-usable parts use no std:: containers and no host-only library calls.
//
// Bit-identity between backends rests on three things:
//   1. boxes and the no-rotation resampling are pure integer arithmetic (order-free);
//   2. the rotated path uses float operations in the exact order written here, with no
//      contraction into FMA: the CPU compiles with -ffp-contract=off, CUDA with -fmad=false,
//      and never with --use_fast_math (divisions must be IEEE round-to-nearest);
//   3. the rotation's cos/sin are computed once on the host (ops.py, float64 -> float32,
//      multiples of 90 degrees snapped to exact 0/±1) and passed to both backends.
//
// ---------------------------------------------------------------------------------------
// Data conventions (both backends)
//   images : uint8, N x H x W x 3 (RGB), channels contiguous (pixel stride 3); image_stride
//            and row_stride are in bytes (= elements). Any strides with that pixel layout.
//   boxes  : int32, N x 4 contiguous, (x0, y0, x1, y1), exclusive ends,
//            0 <= x0 < x1 <= W and 0 <= y0 < y1 <= H (validated by ops.py, not the kernels).
//   rot    : float32, N x 2 contiguous, (cos, sin) per image, or null = no rotation.
//   flips  : uint8, N, bit 0 = horizontal mirror, bit 1 = vertical mirror, or null = none.
//   out    : contiguous N x C x S x S, C = 1 when gray else 3; float32 or uint8.
//   mean3/std3: three floats each; identity is mean 0, std 1 (always applied to float32 out;
//            with gray only element 0 is used).
//
// CUDA entry points (module galaxyzoo._native_cuda; pointers are ints from
// tensor.data_ptr(), stream is torch.cuda.current_stream().cuda_stream; kernels launch only
// on that stream, never allocate, never synchronise):
//   scratch_bytes_find_roi(n, h, w) -> int          bytes of device scratch find_roi needs
//   find_roi(images_ptr, n, h, w, image_stride, row_stride,
//            mode, threshold, k, pad,               mode: GZ_MODE_SEED / GZ_MODE_CENTRAL;
//                                                   threshold: 0..255, or -1 = auto (k used)
//            boxes_ptr, scratch_ptr, scratch_bytes, stream) -> None
//   crop_resize(images_ptr, n, h, w, image_stride, row_stride, boxes_ptr, out_ptr, size,
//               rot_ptr_or_0, flips_ptr_or_0, interp, out_dtype, gray, mean3, std3,
//               stream) -> None                     interp: GZ_INTERP_*; out_dtype: GZ_OUT_*
// CPU entry points (module galaxyzoo._native; numpy arrays, torch CPU tensors via .numpy();
// outputs allocated by the caller; num_threads 0 = all cores; the GIL is released):
//   find_roi(images, mode, threshold, k, pad, boxes, num_threads)
//   crop_resize(images, boxes, out, size, rot, flips, interp, gray, mean, std, num_threads)
//                                                   out's dtype (float32/uint8) picks GZ_OUT_*
//   preprocess(images, mode, threshold, k, pad, boxes, out, size, rot, flips, interp, gray,
//              mean, std, num_threads)             find_roi + crop_resize fused per image
// csrc/tools/sanitize_driver.cpp checks the optimised CPU kernels against output_value() below.
// ---------------------------------------------------------------------------------------
#pragma once

#include <stdint.h>
#include <math.h>

#ifdef __CUDACC__
#define GZ_HD __host__ __device__ __forceinline__
#else
#define GZ_HD inline
#endif

namespace gz {

enum : int { GZ_MODE_SEED = 0, GZ_MODE_CENTRAL = 1 };
enum : int { GZ_INTERP_AREA = 0, GZ_INTERP_BILINEAR = 1 };
enum : int { GZ_OUT_FLOAT32 = 0, GZ_OUT_UINT8 = 1 };
enum : int { GZ_FLIP_H = 1, GZ_FLIP_V = 2 };

struct Box {
    int x0, y0, x1, y1;  // exclusive ends
};

template <class T>
GZ_HD T gz_min(T a, T b) { return a < b ? a : b; }
template <class T>
GZ_HD T gz_max(T a, T b) { return a < b ? b : a; }
template <class T>
GZ_HD T gz_clamp(T v, T lo, T hi) { return v < lo ? lo : (hi < v ? hi : v); }

// floor(a / 2) for any sign (C++ '/' truncates toward zero).
GZ_HD int floor_half(int a) { return a >= 0 ? a / 2 : -((1 - a) / 2); }

// ---------------------------------------------------------------------------------------
// Grey and foreground
// ---------------------------------------------------------------------------------------
// OpenCV 4.x's fixed-point RGB->GRAY for uint8 (the seed's era):
// (R*4899 + G*9617 + B*1868 + 8192) >> 14. OpenCV 5 switched to 15-bit weights (9798, 19235,
// 3735), which differ by one level on ~0.2% of pixels; we keep the 4.x rule.
constexpr int GZ_GRAY_R = 4899, GZ_GRAY_G = 9617, GZ_GRAY_B = 1868, GZ_GRAY_SHIFT = 14;

GZ_HD int gray_u8(int r, int g, int b) {
    return (r * GZ_GRAY_R + g * GZ_GRAY_G + b * GZ_GRAY_B + (1 << (GZ_GRAY_SHIFT - 1))) >>
           GZ_GRAY_SHIFT;
}

// Foreground is gray > threshold (threshold 0..255; 255 means nothing is foreground).
// Equivalent test without the shift, for fused loops:
//   r*4899 + g*9617 + b*1868 + 8192 >= (threshold + 1) << 14.
GZ_HD int foreground_bound(int threshold) { return (threshold + 1) << GZ_GRAY_SHIFT; }
GZ_HD bool is_foreground(int r, int g, int b, int threshold) {
    return r * GZ_GRAY_R + g * GZ_GRAY_G + b * GZ_GRAY_B + (1 << (GZ_GRAY_SHIFT - 1)) >=
           foreground_bound(threshold);
}

// ---------------------------------------------------------------------------------------
// Auto threshold
// ---------------------------------------------------------------------------------------
// The histogram counts the grey of every pixel with x and y multiples of GZ_HIST_STEP (a
// subsampled grid starting at (0,0)): the sky statistics need no more (~11k samples on a
// 424x424 image), and it keeps the histogram off the critical path.
// With hist[256] and n = sum(hist):
//   median m = smallest v with 2 * (hist[0] + ... + hist[v]) >= n
//   MAD    d = smallest e >= 0 with 2 * (number of samples with |v - m| <= e) >= n
//   threshold = min(255, m + max(GZ_AUTO_MIN_MARGIN, ceil(k * 1.4826 * d)))
// (1.4826 * MAD estimates the sky noise sigma; k default 3.) The product is evaluated in
// double as ((double)k * 1.4826) * (double)d, then ceil: multiplications only, so no
// contraction issue. The margin keeps noise-free (synthetic, MAD 0) skies from turning
// every non-zero pixel into foreground.
constexpr int GZ_HIST_STEP = 4;
constexpr int GZ_AUTO_MIN_MARGIN = 4;
constexpr double GZ_MAD_TO_SIGMA = 1.4826;

GZ_HD int auto_threshold(const uint32_t hist[256], double k) {
    uint64_t n = 0;
    for (int v = 0; v < 256; ++v) n += hist[v];
    if (n == 0) return 255;
    int m = 0;
    for (uint64_t cum = 0; m < 256; ++m) {
        cum += hist[m];
        if (2 * cum >= n) break;
    }
    int d = 0;
    for (uint64_t cum = hist[m];; ++d) {
        if (2 * cum >= n) break;
        if (m - d - 1 >= 0) cum += hist[m - d - 1];
        if (m + d + 1 <= 255) cum += hist[m + d + 1];
    }
    const double margin = ceil((k * GZ_MAD_TO_SIGMA) * (double)d);
    const int add = gz_max(GZ_AUTO_MIN_MARGIN, (int)gz_min(margin, 255.0));
    return gz_min(255, m + add);
}

// ---------------------------------------------------------------------------------------
// Components (8-connected foreground) and which one is chosen
// ---------------------------------------------------------------------------------------
// Per component the backends need: bbox (x0, y0, x1, y1 exclusive), pixel count, first
// pixel raster index (y * W + x of its first pixel in raster order) and, for central mode,
// the minimal squared distance of its pixels to the image centre in half-pixel units:
//   dist2(x, y) = (2x + 1 - W)^2 + (2y + 1 - H)^2        (int64)
// (pixel centres are at 2x+1, the image centre at W, in half-pixel units.)
struct Component {
    int x0, y0, x1, y1;
    int64_t count;
    int64_t first;   // raster index of the first pixel
    int64_t dist2;   // minimal dist2 over the pixels (central mode)
};

GZ_HD int64_t centre_dist2(int x, int y, int W, int H) {
    const int64_t dx = 2 * (int64_t)x + 1 - W, dy = 2 * (int64_t)y + 1 - H;
    return dx * dx + dy * dy;
}

// Minimal dist2 over the pixels x in [xs, xe) of row y (a run).
GZ_HD int64_t run_dist2(int xs, int xe, int y, int W, int H) {
    // The pixel whose centre is nearest W/2: x = floor(W / 2) clamped into the run (for
    // even W, x = W/2 and W/2 - 1 tie; either gives the same distance).
    const int x = gz_clamp(W / 2, xs, xe - 1);
    return centre_dist2(x, y, W, H);
}

// true when a should be chosen over b.
// Seed mode (OpenCV parity): larger bbox area (w*h, int64); on a tie the LARGER first
//   raster index wins, because cv2.findContours(RETR_LIST) lists contours in reverse order
//   of discovery and the seed keeps the first strictly larger one (verified on OpenCV 5.0).
// Central mode: smaller dist2 (0 when it covers the centre pixel(s)); tie -> more pixels;
//   tie -> smaller first raster index.
GZ_HD bool better_component(const Component& a, const Component& b, int mode) {
    if (mode == GZ_MODE_SEED) {
        const int64_t aa = (int64_t)(a.x1 - a.x0) * (a.y1 - a.y0);
        const int64_t ab = (int64_t)(b.x1 - b.x0) * (b.y1 - b.y0);
        if (aa != ab) return aa > ab;
        return a.first > b.first;
    }
    if (a.dist2 != b.dist2) return a.dist2 < b.dist2;
    if (a.count != b.count) return a.count > b.count;
    return a.first < b.first;
}

// ---------------------------------------------------------------------------------------
// Box from the chosen component's bbox (exclusive ends). No component -> whole image.
// pad_px = (int)floor(pad * side0) in double, side0 = max(w, h) (the seed's int(0.1*side)).
// ---------------------------------------------------------------------------------------
GZ_HD Box whole_image(int W, int H) { return Box{0, 0, W, H}; }

// Seed 002: square anchored at the bbox's top-left, padded on all sides; the strict bounds
// test of the seed (x + side + pad < W, with W for x and H for y); failure -> whole image.
GZ_HD Box seed_box(int x0, int y0, int x1, int y1, int W, int H, double pad) {
    const int side = gz_max(x1 - x0, y1 - y0);
    const int p = (int)floor(pad * (double)side);
    if (x0 - p >= 0 && y0 - p >= 0 && x0 + side + p < W && y0 + side + p < H)
        return Box{x0 - p, y0 - p, x0 + side + p, y0 + side + p};
    return whole_image(W, H);
}

// Central: square of side max(w, h) + 2*pad_px centred on the bbox (floor of the half
// difference), side clamped to min(W, H), then shifted to lie inside the image.
GZ_HD Box central_box(int x0, int y0, int x1, int y1, int W, int H, double pad) {
    const int side0 = gz_max(x1 - x0, y1 - y0);
    const int p = (int)floor(pad * (double)side0);
    const int side = gz_min(side0 + 2 * p, gz_min(W, H));
    const int bx = gz_clamp(floor_half(x0 + x1 - side), 0, W - side);
    const int by = gz_clamp(floor_half(y0 + y1 - side), 0, H - side);
    return Box{bx, by, bx + side, by + side};
}

GZ_HD Box box_for(const Component* best, int mode, int W, int H, double pad) {
    if (!best) return whole_image(W, H);
    return mode == GZ_MODE_SEED ? seed_box(best->x0, best->y0, best->x1, best->y1, W, H, pad)
                                : central_box(best->x0, best->y0, best->x1, best->y1, W, H, pad);
}

// ---------------------------------------------------------------------------------------
// Resampling without rotation (angle a multiple of 90 degrees, interp "area"): integer
// separable taps, the exact semantics of OpenCV INTER_AREA with fixed-point weights.
// ---------------------------------------------------------------------------------------
// One axis maps box length L (source pixels 0..L-1, relative to the box start) to S
// outputs. Weights are Q16 (each output's weights sum to exactly 65536).
//   area   (OpenCV's rule: used when both box sides >= S): output k covers [k*L, (k+1)*L)
//          in units of 1/S; pixel x covers [x*S, (x+1)*S). With the cumulative overlap
//          C(x) = clamp(x*S, kL, (k+1)L) - kL and Q(x) = (C(x)*65536 + L/2) / L (integer),
//          weight(x) = Q(x+1) - Q(x): exact box averaging, rounded cumulatively.
//   linear (OpenCV's INTER_AREA up-scaling rule: used on BOTH axes when either box side
//          < S): sx = floor(k*L/S); num = (k+1)*L - (sx+1)*S; fx = num > 0 ? (num mod L)/L
//          : 0; taps sx, sx+1 with weights 65536 - a1, a1, a1 = (fx_num*65536 + L/2) / L;
//          if sx >= L-1 the single tap L-1 with weight 65536.
// A pixel's value: inner(x) = sum_y wy(y) * s(x, y) (uint32 <= 255*2^16), rounded to
// t(x) = (inner + 128) >> 8 (<= 65280); total = sum_x wx(x) * t(x) (uint32 < 2^32);
// value = (float)total / 16777216.0f, in [0, 255]. Integer sums: any evaluation order
// (per pixel on the GPU, vertical-first rows on the CPU) gives the same total.
constexpr int GZ_WEIGHT_BITS = 16;
constexpr uint32_t GZ_WEIGHT_ONE = 1u << GZ_WEIGHT_BITS;

// Whether the whole resample uses the linear (up-scaling) rule.
GZ_HD bool area_uses_linear(int box_w, int box_h, int S) { return box_w < S || box_h < S; }

struct AxisTaps {
    int first;  // first source index (relative to the box start)
    int count;  // number of taps: first .. first + count - 1
};

GZ_HD AxisTaps axis_taps(int L, int S, int k, bool linear) {
    if (linear) {
        const int sx = (int)(((int64_t)k * L) / S);
        if (sx >= L - 1) return AxisTaps{L - 1, 1};
        return AxisTaps{sx, 2};
    }
    const int64_t a = (int64_t)k * L, b = a + L;
    const int first = (int)(a / S), last = (int)((b - 1) / S);
    return AxisTaps{first, last - first + 1};
}

// Q16 weight of source index x (one of axis_taps(L, S, k, linear)).
GZ_HD uint32_t axis_weight(int L, int S, int k, bool linear, int x) {
    if (linear) {
        const int sx = (int)(((int64_t)k * L) / S);
        if (sx >= L - 1) return GZ_WEIGHT_ONE;
        const int64_t num = (int64_t)(k + 1) * L - (int64_t)(sx + 1) * S;
        const int64_t fnum = num > 0 ? num % L : 0;
        const uint32_t a1 = (uint32_t)((fnum * GZ_WEIGHT_ONE + L / 2) / L);
        return x == sx ? GZ_WEIGHT_ONE - a1 : a1;
    }
    const int64_t a = (int64_t)k * L, b = a + L;
    const int64_t c0 = gz_clamp((int64_t)x * S, a, b) - a;
    const int64_t c1 = gz_clamp((int64_t)(x + 1) * S, a, b) - a;
    const int64_t q0 = (c0 * GZ_WEIGHT_ONE + L / 2) / L, q1 = (c1 * GZ_WEIGHT_ONE + L / 2) / L;
    return (uint32_t)(q1 - q0);
}

GZ_HD uint32_t round_inner(uint32_t inner) { return (inner + 128u) >> 8; }
// (float)total / 2^24, written as the (bit-identical) multiplication by 2^-24.
GZ_HD float area_value(uint32_t total) { return (float)total * (1.0f / 16777216.0f); }

// Source channel c (0..2) at (x, y) of the image img points at, or grey when gray.
GZ_HD int fetch(const uint8_t* img, int64_t row_stride, int x, int y, int c, bool gray) {
    const uint8_t* p = img + (int64_t)y * row_stride + 3 * (int64_t)x;
    return gray ? gray_u8(p[0], p[1], p[2]) : p[c];
}

// ---------------------------------------------------------------------------------------
// Pixel sources
// ---------------------------------------------------------------------------------------
// The samplers below are templates on the channel count C (one sum per channel, every
// channel through the same operations) and read the image through a source:
//   src(x, y, c) -> int    channel c (0 .. C-1) of pixel (x, y), image coordinates, in range.
// A source only moves integers: every rule is the sampler's. The CUDA backend reads the
// image itself (RgbSource), the CPU backend a packed copy of the rows it samples
// (csrc/cpu/crop_resize.cpp), output_value one channel at a time (ChannelSource).
template <int C>  // 3: R, G, B; 1: the grey level
struct RgbSource {
    const uint8_t* img;  // pixel (0, 0)
    int64_t row_stride;
    GZ_HD int operator()(int x, int y, int c) const { return fetch(img, row_stride, x, y, c, C == 1); }
};

// Channel c of an RGB image (or its grey level) as a one-channel image.
struct ChannelSource {
    const uint8_t* img;  // pixel (0, 0)
    int64_t row_stride;
    int c;
    bool gray;
    GZ_HD int operator()(int x, int y, int) const { return fetch(img, row_stride, x, y, c, gray); }
};

// Rotation by a multiple of 90 degrees and flips on the no-rotation path permute output
// indices of the resampled box A (S x S): for output (ox, oy), mirror first (h: ox -> S-1-ox,
// v: oy -> S-1-oy), then with u2 = 2*ox' - (S-1), v2 = 2*oy' - (S-1) (cos c, sin s in
// {-1,0,1}) read A at column (c*u2 - s*v2 + S-1)/2, row (s*u2 + c*v2 + S-1)/2. For
// 90 degrees this is exactly np.rot90 (counter-clockwise as displayed).
GZ_HD void permute_output(int S, int c, int s, int flips, int ox, int oy, int* ax, int* ay) {
    if (flips & GZ_FLIP_H) ox = S - 1 - ox;
    if (flips & GZ_FLIP_V) oy = S - 1 - oy;
    const int u2 = 2 * ox - (S - 1), v2 = 2 * oy - (S - 1);
    *ax = (c * u2 - s * v2 + S - 1) / 2;
    *ay = (s * u2 + c * v2 + S - 1) / 2;
}

// Vertical tap weights are computed once per output pixel up to this many taps (a 424 px
// box down to 64 px needs 8); a longer axis recomputes them per column. Integer weights:
// either way gives the same value.
constexpr int GZ_CACHED_TAPS = 16;

// Value of A at (ax, ay), channels 0 .. C-1 of src, into value[0 .. C-1].
template <int C, class Source>
GZ_HD void area_pixel(const Source& src, Box box, int S, int ax, int ay, float* value) {
    const int bw = box.x1 - box.x0, bh = box.y1 - box.y0;
    const bool lin = area_uses_linear(bw, bh, S);
    const AxisTaps tx = axis_taps(bw, S, ax, lin), ty = axis_taps(bh, S, ay, lin);
    const bool cached = ty.count <= GZ_CACHED_TAPS;
    uint32_t wy[GZ_CACHED_TAPS];
    if (cached)
        for (int j = 0; j < ty.count; ++j) wy[j] = axis_weight(bh, S, ay, lin, ty.first + j);
    uint32_t total[C] = {};
    for (int i = 0; i < tx.count; ++i) {
        const int x = tx.first + i;
        uint32_t inner[C] = {};
        for (int j = 0; j < ty.count; ++j) {
            const int y = ty.first + j;
            const uint32_t weight = cached ? wy[j] : axis_weight(bh, S, ay, lin, y);
            for (int c = 0; c < C; ++c) inner[c] += weight * (uint32_t)src(box.x0 + x, box.y0 + y, c);
        }
        const uint32_t wx = axis_weight(bw, S, ax, lin, x);
        for (int c = 0; c < C; ++c) total[c] += wx * round_inner(inner[c]);
    }
    for (int c = 0; c < C; ++c) value[c] = area_value(total[c]);
}

// ---------------------------------------------------------------------------------------
// Resampling with rotation (any other angle), or interp "bilinear": supersampled bilinear.
// ---------------------------------------------------------------------------------------
// The output is the box resampled to S x S, rotated about its centre by the angle
// (counter-clockwise as displayed), then mirrored. In box-normalised coordinates, output
// sub-sample (i, j) of n x n in pixel (ox, oy):
//   u = ((float)ox + ((float)i + 0.5f) / (float)n) / (float)S - 0.5f   (v likewise)
//   mirror: u = -u (h), v = -v (v)
//   ru = cos*u - sin*v;  rv = sin*u + cos*v
//   px = cx + (float)bw * ru;  py = cy + (float)bh * rv;  cx = 0.5f * (float)(x0 + x1)
// and bilinear at (px, py) with pixel centres at i + 0.5, coordinates clamped to the image
// (edge replicated). n = ceil(max(bw, bh) / S) for "area" (at least 1), 1 for "bilinear".
// Sub-samples are summed row by row (j outer, i inner) and divided by (float)(n*n).
// The CPU backend's AVX2 kernel (csrc/cpu/crop_resize.cpp) is the vector transcription of
// rotated_pixel below, operation for operation.
GZ_HD int rotated_taps(int bw, int bh, int S, int interp) {
    if (interp == GZ_INTERP_BILINEAR) return 1;
    return gz_max(1, (gz_max(bw, bh) + S - 1) / S);
}

// The bilinear taps at (px, py) of a W x H image: columns xa, xb and rows ya, yb (clamped:
// edge replicated) and the weights ax, ay of xb and yb. Every component is non-decreasing in
// px (resp. py), which the CUDA kernel relies on to bound a tile's reads by its corners.
struct BilinearTaps {
    int xa, xb, ya, yb;
    float ax, ay;
};

GZ_HD BilinearTaps bilinear_taps(int W, int H, float px, float py) {
    const float fx = px - 0.5f, fy = py - 0.5f;
    const float flx = floorf(fx), fly = floorf(fy);
    const int ix = (int)gz_clamp(flx, -2.0f, (float)W), iy = (int)gz_clamp(fly, -2.0f, (float)H);
    return BilinearTaps{gz_clamp(ix, 0, W - 1), gz_clamp(ix + 1, 0, W - 1), gz_clamp(iy, 0, H - 1),
                        gz_clamp(iy + 1, 0, H - 1), fx - flx, fy - fly};
}

// Adds the bilinear sample at (px, py) of channels 0 .. C-1 of src (a W x H image) to
// sum[0 .. C-1].
template <int C, class Source>
GZ_HD void bilinear_add(const Source& src, int W, int H, float px, float py, float* sum) {
    const BilinearTaps t = bilinear_taps(W, H, px, py);
    const float ax = t.ax, ay = t.ay;
    for (int c = 0; c < C; ++c) {
        const float p00 = (float)src(t.xa, t.ya, c), p01 = (float)src(t.xb, t.ya, c);
        const float p10 = (float)src(t.xa, t.yb, c), p11 = (float)src(t.xb, t.yb, c);
        const float top = (1.0f - ax) * p00 + ax * p01;
        const float bot = (1.0f - ax) * p10 + ax * p11;
        sum[c] += (1.0f - ay) * top + ay * bot;
    }
}

// Sub-sample i of n of output index o, box-normalised and mirrored when flip (u or v above).
// Non-decreasing in o and in i when not mirrored (a tile's extremes are at its corners).
GZ_HD float sub_coord(int o, int i, int n, int S, bool flip) {
    const float u = ((float)o + ((float)i + 0.5f) / (float)n) / (float)S - 0.5f;
    return flip ? -u : u;
}

// The per-image constants of the rotated path and where sub-sample (u, v) lands in the image.
struct RotatedFrame {
    float cs, sn, bw, bh, cx, cy;
};

GZ_HD RotatedFrame rotated_frame(Box box, float cs, float sn) {
    return RotatedFrame{cs, sn, (float)(box.x1 - box.x0), (float)(box.y1 - box.y0),
                        0.5f * (float)(box.x0 + box.x1), 0.5f * (float)(box.y0 + box.y1)};
}

GZ_HD void rotated_point(const RotatedFrame& f, float u, float v, float* px, float* py) {
    const float ru = f.cs * u - f.sn * v, rv = f.sn * u + f.cs * v;
    *px = f.cx + f.bw * ru;
    *py = f.cy + f.bh * rv;
}

// Output pixel (ox, oy) of the rotated path with n x n sub-samples, channels 0 .. C-1 of
// src (a W x H image), into value[0 .. C-1].
template <int C, class Source>
GZ_HD void rotated_pixel(const Source& src, int W, int H, Box box, int S, int ox, int oy,
                         float cs, float sn, int flips, int n, float* value) {
    const RotatedFrame f = rotated_frame(box, cs, sn);
    float sum[C];
    for (int c = 0; c < C; ++c) sum[c] = 0.0f;
    for (int j = 0; j < n; ++j) {
        const float v = sub_coord(oy, j, n, S, flips & GZ_FLIP_V);
        for (int i = 0; i < n; ++i) {
            float px, py;
            rotated_point(f, sub_coord(ox, i, n, S, flips & GZ_FLIP_H), v, &px, &py);
            bilinear_add<C>(src, W, H, px, py, sum);
        }
    }
    for (int c = 0; c < C; ++c) value[c] = sum[c] / (float)(n * n);
}

// Whether (cos, sin) is an exact multiple of 90 degrees (then the integer path is used).
GZ_HD bool is_right_angle(float cs, float sn) {
    return (cs == 0.0f && (sn == 1.0f || sn == -1.0f)) ||
           (sn == 0.0f && (cs == 1.0f || cs == -1.0f));
}

// Output pixel (ox, oy), channels 0 .. C-1 of src (a W x H image), as floats in [0, 255]
// into value[0 .. C-1]; cs, sn = 1, 0 when there is no rotation.
template <int C, class Source>
GZ_HD void output_pixel(const Source& src, int W, int H, Box box, int S, int ox, int oy,
                        float cs, float sn, int flips, int interp, float* value) {
    if (interp == GZ_INTERP_AREA && is_right_angle(cs, sn)) {
        int ax, ay;
        permute_output(S, (int)cs, (int)sn, flips, ox, oy, &ax, &ay);
        area_pixel<C>(src, box, S, ax, ay, value);
        return;
    }
    const int n = rotated_taps(box.x1 - box.x0, box.y1 - box.y0, S, interp);
    rotated_pixel<C>(src, W, H, box, S, ox, oy, cs, sn, flips, n, value);
}

// The value of output pixel (ox, oy), channel c, as float in [0, 255]. img points at the
// image's pixel (0, 0); cs, sn = 1, 0 when there is no rotation.
GZ_HD float output_value(const uint8_t* img, int64_t row_stride, int W, int H, Box box, int S,
                         int ox, int oy, float cs, float sn, int flips, int interp, int c,
                         bool gray) {
    float value;
    output_pixel<1>(ChannelSource{img, row_stride, c, gray}, W, H, box, S, ox, oy, cs, sn, flips,
                    interp, &value);
    return value;
}

// ---------------------------------------------------------------------------------------
// Output conversion
// ---------------------------------------------------------------------------------------
// uint8: round half to even (rintf), clamped to 0..255.
// float32: (value / 255.0f - mean[c]) / std[c], two IEEE divisions (identity: mean 0, std 1).
GZ_HD uint8_t to_u8(float value) { return (uint8_t)gz_clamp(rintf(value), 0.0f, 255.0f); }
GZ_HD float to_f32(float value, float mean, float std) { return (value / 255.0f - mean) / std; }

}  // namespace gz
