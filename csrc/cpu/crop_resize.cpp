// crop_resize: area/linear resampling of the box (integer: a vertical pass over whole rows,
// then the horizontal taps of the S resulting rows), or supersampled bilinear when rotated;
// then the output permutation for flips and right angles, and the dtype conversion.
#include "cpu/crop_resize.h"

#include "cpu/gray.h"
#include "cpu/parallel.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define GZ_X86_DISPATCH 1
#include <immintrin.h>
#endif

namespace gz {
namespace {

// out[i] = round_inner(sum_j w[j] * rows[j][i]) for i in [from, n).
void vertical_scalar(const uint8_t* const* rows, const uint32_t* w, int taps, int from, int n,
                     uint16_t* out) {
    for (int i = from; i < n; ++i) {
        uint32_t inner = 0;
        for (int j = 0; j < taps; ++j) inner += w[j] * rows[j][i];
        out[i] = (uint16_t)round_inner(inner);
    }
}

#ifdef GZ_X86_DISPATCH
// 64 values at a time held in eight registers across all taps (one store per value), then
// 8 at a time.
__attribute__((target("avx2"))) void vertical_avx2(const uint8_t* const* rows,
                                                   const uint32_t* w, int taps, int n,
                                                   uint16_t* out) {
    const __m256i half = _mm256_set1_epi32(128);
    int i = 0;
    for (; i + 64 <= n; i += 64) {
        __m256i acc[8];
        for (int v = 0; v < 8; ++v) acc[v] = _mm256_setzero_si256();
        for (int j = 0; j < taps; ++j) {
            const __m256i wj = _mm256_set1_epi32((int)w[j]);
            const uint8_t* src = rows[j] + i;
            for (int v = 0; v < 8; ++v) {
                const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(src + 8 * v));
                acc[v] = _mm256_add_epi32(acc[v],
                                          _mm256_mullo_epi32(_mm256_cvtepu8_epi32(bytes), wj));
            }
        }
        for (int v = 0; v < 8; v += 2) {
            const __m256i a = _mm256_srli_epi32(_mm256_add_epi32(acc[v], half), 8);
            const __m256i b = _mm256_srli_epi32(_mm256_add_epi32(acc[v + 1], half), 8);
            // packus works per 128-bit lane: restore the order of the 16 values.
            const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(a, b), 0xD8);
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i + 8 * v), packed);
        }
    }
    for (; i + 8 <= n; i += 8) {
        __m256i acc = _mm256_setzero_si256();
        for (int j = 0; j < taps; ++j) {
            const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(rows[j] + i));
            acc = _mm256_add_epi32(
                acc, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(bytes), _mm256_set1_epi32((int)w[j])));
        }
        const __m256i a = _mm256_srli_epi32(_mm256_add_epi32(acc, half), 8);
        const __m128i packed = _mm_packus_epi32(_mm256_castsi256_si128(a),
                                                _mm256_extracti128_si256(a, 1));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), packed);
    }
    vertical_scalar(rows, w, taps, i, n, out);
}

#endif

void vertical(const uint8_t* const* rows, const uint32_t* w, int taps, int n, uint16_t* out) {
#ifdef GZ_X86_DISPATCH
    if (avx2_enabled()) return vertical_avx2(rows, w, taps, n, out);
#endif
    vertical_scalar(rows, w, taps, 0, n, out);
}

// The values A are kept column-major per channel (index c*S*S + ax*S + ay): the AVX2
// horizontal pass produces 8 output rows of one column at a time.
constexpr int kBlock = 8;  // output rows per horizontal block

// Horizontal taps of `count` rows of rounded vertical sums (C channels interleaved, rows
// `pitch` apart) for output rows ay0 .. ay0 + count - 1.
template <int C>
void horizontal_scalar(const uint16_t* t, int64_t pitch, int count, const AxisTable& xs,
                       int size, float* values, int ay0) {
    const int taps = xs.taps;
    const int64_t plane = (int64_t)size * size;
    for (int r = 0; r < count; ++r, t += pitch)
        for (int ax = 0; ax < size; ++ax) {
            const uint16_t* src = t + (int64_t)xs.first[ax] * C;
            const uint32_t* w = xs.w.data() + (int64_t)ax * taps;
            uint32_t total[C] = {};
            for (int k = 0; k < taps; ++k)
                for (int c = 0; c < C; ++c) total[c] += w[k] * src[k * C + c];
            for (int c = 0; c < C; ++c)
                values[c * plane + (int64_t)ax * size + ay0 + r] = area_value(total[c]);
        }
}

#ifdef GZ_X86_DISPATCH
// 8x8 transpose of uint16: rows in[r * pitch .. + 8) -> out[col * 8 + r].
__attribute__((target("avx2"))) inline void transpose8x8(const uint16_t* in, int64_t pitch,
                                                         uint16_t* out) {
    __m128i r[8], a[8], b[8];
    for (int i = 0; i < 8; ++i)
        r[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i * pitch));
    for (int i = 0; i < 4; ++i) {
        a[2 * i] = _mm_unpacklo_epi16(r[2 * i], r[2 * i + 1]);
        a[2 * i + 1] = _mm_unpackhi_epi16(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 2; ++j) {
            b[4 * i + j] = _mm_unpacklo_epi32(a[4 * i + j], a[4 * i + j + 2]);
            b[4 * i + j + 2] = _mm_unpackhi_epi32(a[4 * i + j], a[4 * i + j + 2]);
        }
    // b[0..3]: columns (0,1), (4,5), (2,3), (6,7) of rows 0-3; b[4..7] the same of rows 4-7.
    const int order[4] = {0, 2, 1, 3};
    for (int q = 0; q < 4; ++q) {
        const __m128i lo = b[order[q]], hi = b[4 + order[q]];
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 16 * q), _mm_unpacklo_epi64(lo, hi));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 16 * q + 8), _mm_unpackhi_epi64(lo, hi));
    }
}

// (float)u for uint32 lanes, exactly as the scalar conversion rounds: hi * 2^16 and lo are
// exact floats, so their sum is rounded once.
__attribute__((target("avx2"))) inline __m256 u32_to_float(__m256i u) {
    const __m256 hi = _mm256_cvtepi32_ps(_mm256_srli_epi32(u, 16));
    const __m256 lo = _mm256_cvtepi32_ps(_mm256_and_si256(u, _mm256_set1_epi32(0xFFFF)));
    return _mm256_add_ps(_mm256_mul_ps(hi, _mm256_set1_ps(65536.0f)), lo);
}

// The 8 rows are transposed so each source column is 8 contiguous values, then every
// output column (ax, c) is a weighted sum of `taps` such vectors.
template <int C>
__attribute__((target("avx2"))) void horizontal_avx2(const uint16_t* t, int64_t pitch,
                                                     int count, int ncols, const AxisTable& xs,
                                                     int size, float* values, int ay0,
                                                     uint16_t* cols) {
    for (int col = 0; col < ncols; col += 8) transpose8x8(t + col, pitch, cols + col * 8);
    const int taps = xs.taps;
    const int64_t plane = (int64_t)size * size;
    const __m256 scale = _mm256_set1_ps(1.0f / 16777216.0f);
    for (int ax = 0; ax < size; ++ax) {
        const uint16_t* src = cols + (int64_t)xs.first[ax] * C * 8;
        const uint32_t* w = xs.w.data() + (int64_t)ax * taps;
        __m256i acc[C];
        for (int c = 0; c < C; ++c) acc[c] = _mm256_setzero_si256();
        for (int k = 0; k < taps; ++k) {
            const __m256i wk = _mm256_set1_epi32((int)w[k]);
            for (int c = 0; c < C; ++c) {
                const __m128i v = _mm_loadu_si128(
                    reinterpret_cast<const __m128i*>(src + (k * C + c) * 8));
                acc[c] = _mm256_add_epi32(acc[c], _mm256_mullo_epi32(_mm256_cvtepu16_epi32(v), wk));
            }
        }
        for (int c = 0; c < C; ++c) {
            const __m256 f = _mm256_mul_ps(u32_to_float(acc[c]), scale);
            float* out = values + c * plane + (int64_t)ax * size + ay0;
            if (count == kBlock) {
                _mm256_storeu_ps(out, f);
            } else {
                alignas(32) float tmp[kBlock];
                _mm256_store_ps(tmp, f);
                for (int r = 0; r < count; ++r) out[r] = tmp[r];
            }
        }
    }
}
#endif

template <int C>
void horizontal(const uint16_t* t, int64_t pitch, int count, int ncols, const AxisTable& xs,
                int size, float* values, int ay0, uint16_t* cols) {
#ifdef GZ_X86_DISPATCH
    if (avx2_enabled()) return horizontal_avx2<C>(t, pitch, count, ncols, xs, size, values, ay0, cols);
#endif
    (void)ncols, (void)cols;
    horizontal_scalar<C>(t, pitch, count, xs, size, values, ay0);
}

// A = the box resampled to S x S (no rotation), column-major planar floats.
void area_resample(const uint8_t* img, int64_t row_stride, const Box& b, const ResizeParams& p,
                   ResizeWorkspace& ws) {
    const int S = p.size, C = p.channels();
    const int bw = b.x1 - b.x0, bh = b.y1 - b.y0;
    const bool linear = area_uses_linear(bw, bh, S);
    ws.xs.build(bw, S, linear);
    ws.ys.build(bh, S, linear);
    const int n = bw * C;
    // Padded taps may read up to taps * C past n; the transpose works in blocks of 8.
    const int ncols = (n + ws.xs.taps * C + 7) / 8 * 8;
    ws.rounded.assign((size_t)kBlock * ncols, 0);
    ws.columns.resize((size_t)kBlock * ncols);
    ws.values.resize((size_t)S * S * C);
    ws.rows.resize(ws.ys.taps);
    const uint8_t* origin = img + (int64_t)b.y0 * row_stride + 3 * (int64_t)b.x0;
    int64_t stride = row_stride;
    if (p.gray) {  // grey once per box pixel, then resample the single channel
        ws.gray_box.resize((size_t)bw * bh);
        for (int y = 0; y < bh; ++y)
            gray_row(origin + y * row_stride, bw, ws.gray_box.data() + (int64_t)y * bw);
        origin = ws.gray_box.data();
        stride = bw;
    }
    for (int ay0 = 0; ay0 < S; ay0 += kBlock) {
        const int count = gz_min(kBlock, S - ay0);
        for (int r = 0; r < count; ++r) {
            const int ay = ay0 + r;
            for (int j = 0; j < ws.ys.taps; ++j)
                ws.rows[j] = origin + (int64_t)(ws.ys.first[ay] + j) * stride;
            vertical(ws.rows.data(), ws.ys.w.data() + (int64_t)ay * ws.ys.taps, ws.ys.taps, n,
                     ws.rounded.data() + (int64_t)r * ncols);
        }
        if (C == 1)
            horizontal<1>(ws.rounded.data(), ncols, count, ncols, ws.xs, S, ws.values.data(),
                          ay0, ws.columns.data());
        else
            horizontal<3>(ws.rounded.data(), ncols, count, ncols, ws.xs, S, ws.values.data(),
                          ay0, ws.columns.data());
    }
}

// Rotated (or interp "bilinear"): rotated_pixel of gz_common.h, evaluated from a packed
// copy of the rows the sampling can reach (one uint32 per pixel: R | G << 8 | B << 16, or
// the grey level), so one load or one gather fetches every channel of a tap. The scalar
// version is gz_common.h's rotated_pixel<C> itself, reading the band; the AVX2 version
// (8 output columns per vector) performs the same float operations per channel, in the same
// order.
struct Band {
    const uint32_t* px;  // rows y0 .. y1 - 1 of the image, w pixels each
    int w, h, y0, y1;
    // A gz_common.h pixel source over the w x h image: channel c of pixel (x, y), y clamped
    // into the band (a no-op: sampled_rows leaves a margin).
    int operator()(int x, int y, int c) const {
        const uint32_t q = px[(int64_t)(gz_clamp(y, y0, y1 - 1) - y0) * w + x];
        return (int)((q >> (8 * c)) & 255);
    }
};

// The rows bilinear taps can reach for box b under rotation (cs, sn), with a margin.
void sampled_rows(const Box& b, float cs, float sn, int h, int* y0, int* y1) {
    const float reach = 0.5f * (float)(b.y1 - b.y0) * (fabsf(cs) + fabsf(sn));
    const float cy = 0.5f * (float)(b.y0 + b.y1);
    *y0 = gz_clamp((int)floorf(cy - reach) - 2, 0, h - 1);
    *y1 = gz_clamp((int)ceilf(cy + reach) + 3, *y0 + 1, h);
}

GZ_MULTIVERSION void pack_rows(const uint8_t* img, int64_t row_stride, int w, int y0, int y1,
                               bool gray, uint32_t* out) {
    for (int y = y0; y < y1; ++y) {
        const uint8_t* p = img + (int64_t)y * row_stride;
        uint32_t* o = out + (int64_t)(y - y0) * w;
        if (gray)
            for (int x = 0; x < w; ++x) o[x] = (uint32_t)gray_u8(p[3 * x], p[3 * x + 1], p[3 * x + 2]);
        else
            for (int x = 0; x < w; ++x)
                o[x] = p[3 * x] | (uint32_t)p[3 * x + 1] << 8 | (uint32_t)p[3 * x + 2] << 16;
    }
}

struct Rotation {
    Box box;
    float cs, sn, bw, bh, cx, cy;  // bw ... cy: as rotated_pixel derives them from box
    int n, S, flips;
};

// Output pixels (ox, oy) for ox in [from, to) of one row, into column-major values.
template <int C>
void rotated_scalar(const Band& band, const Rotation& r, int oy, int from, int to,
                    float* values) {
    const int64_t plane = (int64_t)r.S * r.S;
    for (int ox = from; ox < to; ++ox) {
        float value[C];
        rotated_pixel<C>(band, band.w, band.h, r.box, r.S, ox, oy, r.cs, r.sn, r.flips, r.n, value);
        for (int c = 0; c < C; ++c) values[c * plane + (int64_t)ox * r.S + oy] = value[c];
    }
}

#ifdef GZ_X86_DISPATCH
template <int C>
__attribute__((target("avx2"))) void rotated_row_avx2(const Band& band, const Rotation& r,
                                                      int oy, float* values) {
    const int64_t plane = (int64_t)r.S * r.S;
    const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
    const __m256 Sv = _mm256_set1_ps((float)r.S), nn = _mm256_set1_ps((float)(r.n * r.n));
    const __m256 csv = _mm256_set1_ps(r.cs), snv = _mm256_set1_ps(r.sn);
    const __m256 bwv = _mm256_set1_ps(r.bw), bhv = _mm256_set1_ps(r.bh);
    const __m256 cxv = _mm256_set1_ps(r.cx), cyv = _mm256_set1_ps(r.cy);
    const __m256 lo_clamp = _mm256_set1_ps(-2.0f);
    const __m256 wf = _mm256_set1_ps((float)band.w), hf = _mm256_set1_ps((float)band.h);
    const __m256i zero = _mm256_setzero_si256(), one_i = _mm256_set1_epi32(1);
    const __m256i wmax = _mm256_set1_epi32(band.w - 1);
    const __m256i ylo = _mm256_set1_epi32(band.y0), yhi = _mm256_set1_epi32(band.y1 - 1);
    const __m256i wi = _mm256_set1_epi32(band.w), ybase = _mm256_set1_epi32(band.y0);
    const __m256i byte = _mm256_set1_epi32(255);
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const int* base = reinterpret_cast<const int*>(band.px);
    int ox = 0;
    for (; ox + 8 <= r.S; ox += 8) {
        const __m256 oxv = _mm256_add_ps(_mm256_set1_ps((float)ox),
                                         _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7));
        __m256 sum[C];
        for (int c = 0; c < C; ++c) sum[c] = _mm256_setzero_ps();
        for (int j = 0; j < r.n; ++j) {
            float vs = ((float)oy + ((float)j + 0.5f) / (float)r.n) / (float)r.S - 0.5f;
            if (r.flips & GZ_FLIP_V) vs = -vs;
            const __m256 v = _mm256_set1_ps(vs);
            const __m256 snv_v = _mm256_mul_ps(snv, v), csv_v = _mm256_mul_ps(csv, v);
            for (int i = 0; i < r.n; ++i) {
                const __m256 off = _mm256_set1_ps(((float)i + 0.5f) / (float)r.n);
                __m256 u = _mm256_sub_ps(_mm256_div_ps(_mm256_add_ps(oxv, off), Sv), half);
                if (r.flips & GZ_FLIP_H) u = _mm256_xor_ps(u, sign);
                const __m256 ru = _mm256_sub_ps(_mm256_mul_ps(csv, u), snv_v);
                const __m256 rv = _mm256_add_ps(_mm256_mul_ps(snv, u), csv_v);
                const __m256 fx = _mm256_sub_ps(_mm256_add_ps(cxv, _mm256_mul_ps(bwv, ru)), half);
                const __m256 fy = _mm256_sub_ps(_mm256_add_ps(cyv, _mm256_mul_ps(bhv, rv)), half);
                const __m256 flx = _mm256_floor_ps(fx), fly = _mm256_floor_ps(fy);
                const __m256 ax = _mm256_sub_ps(fx, flx), ay = _mm256_sub_ps(fy, fly);
                const __m256i ix = _mm256_cvttps_epi32(_mm256_min_ps(_mm256_max_ps(flx, lo_clamp), wf));
                const __m256i iy = _mm256_cvttps_epi32(_mm256_min_ps(_mm256_max_ps(fly, lo_clamp), hf));
                const __m256i xa = _mm256_min_epi32(_mm256_max_epi32(ix, zero), wmax);
                const __m256i xb = _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(ix, one_i), zero), wmax);
                const __m256i hmax = _mm256_set1_epi32(band.h - 1);
                const __m256i ya = _mm256_min_epi32(_mm256_max_epi32(
                    _mm256_min_epi32(_mm256_max_epi32(iy, zero), hmax), ylo), yhi);
                const __m256i yb = _mm256_min_epi32(_mm256_max_epi32(
                    _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(iy, one_i), zero), hmax), ylo), yhi);
                const __m256i ra = _mm256_mullo_epi32(_mm256_sub_epi32(ya, ybase), wi);
                const __m256i rb = _mm256_mullo_epi32(_mm256_sub_epi32(yb, ybase), wi);
                const __m256i q00 = _mm256_i32gather_epi32(base, _mm256_add_epi32(ra, xa), 4);
                const __m256i q01 = _mm256_i32gather_epi32(base, _mm256_add_epi32(ra, xb), 4);
                const __m256i q10 = _mm256_i32gather_epi32(base, _mm256_add_epi32(rb, xa), 4);
                const __m256i q11 = _mm256_i32gather_epi32(base, _mm256_add_epi32(rb, xb), 4);
                const __m256 nax = _mm256_sub_ps(one, ax), nay = _mm256_sub_ps(one, ay);
                for (int c = 0; c < C; ++c) {
                    const __m256 p00 = _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32(q00, 8 * c), byte));
                    const __m256 p01 = _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32(q01, 8 * c), byte));
                    const __m256 p10 = _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32(q10, 8 * c), byte));
                    const __m256 p11 = _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32(q11, 8 * c), byte));
                    const __m256 top = _mm256_add_ps(_mm256_mul_ps(nax, p00), _mm256_mul_ps(ax, p01));
                    const __m256 bot = _mm256_add_ps(_mm256_mul_ps(nax, p10), _mm256_mul_ps(ax, p11));
                    sum[c] = _mm256_add_ps(sum[c], _mm256_add_ps(_mm256_mul_ps(nay, top), _mm256_mul_ps(ay, bot)));
                }
            }
        }
        for (int c = 0; c < C; ++c) {
            alignas(32) float tmp[8];
            _mm256_store_ps(tmp, _mm256_div_ps(sum[c], nn));
            for (int k = 0; k < 8; ++k) values[c * plane + (int64_t)(ox + k) * r.S + oy] = tmp[k];
        }
    }
    rotated_scalar<C>(band, r, oy, ox, r.S, values);
}
#endif

void rotated_resample(const uint8_t* img, int h, int w, int64_t row_stride, const Box& b,
                      float cs, float sn, int flips, const ResizeParams& p, ResizeWorkspace& ws) {
    const int S = p.size, C = p.channels();
    const Rotation r{b, cs, sn, (float)(b.x1 - b.x0), (float)(b.y1 - b.y0),
                     0.5f * (float)(b.x0 + b.x1), 0.5f * (float)(b.y0 + b.y1),
                     rotated_taps(b.x1 - b.x0, b.y1 - b.y0, S, p.interp), S, flips};
    int y0, y1;
    sampled_rows(b, cs, sn, h, &y0, &y1);
    ws.packed.resize((size_t)(y1 - y0) * w);
    pack_rows(img, row_stride, w, y0, y1, p.gray, ws.packed.data());
    const Band band{ws.packed.data(), w, h, y0, y1};
    ws.values.resize((size_t)S * S * C);
    for (int oy = 0; oy < S; ++oy) {
#ifdef GZ_X86_DISPATCH
        if (avx2_enabled()) {
            if (C == 1) rotated_row_avx2<1>(band, r, oy, ws.values.data());
            else rotated_row_avx2<3>(band, r, oy, ws.values.data());
            continue;
        }
#endif
        if (C == 1) rotated_scalar<1>(band, r, oy, 0, S, ws.values.data());
        else rotated_scalar<3>(band, r, oy, 0, S, ws.values.data());
    }
}

GZ_MULTIVERSION void convert_u8(const float* v, int64_t n, uint8_t* out) {
    for (int64_t i = 0; i < n; ++i) out[i] = to_u8(v[i]);
}

GZ_MULTIVERSION void convert_f32(const float* v, int64_t n, float mean, float std, float* out) {
    for (int64_t i = 0; i < n; ++i) out[i] = to_f32(v[i], mean, std);
}

// Output plane c: A read column-major, through the right-angle/flip permutation when
// needed (A(ax, ay) is values[ax * S + ay]), then converted.
template <class T>
void write_plane(const float* values, int S, bool permuted, int cs, int sn, int flips,
                 const ResizeParams& p, int c, T* out, std::vector<float>& scratch) {
    const int64_t plane = (int64_t)S * S;
    const float* v = values + c * plane;
    scratch.resize(plane);
    for (int oy = 0; oy < S; ++oy)
        for (int ox = 0; ox < S; ++ox) {
            int ax = ox, ay = oy;
            if (permuted) permute_output(S, cs, sn, flips, ox, oy, &ax, &ay);
            scratch[(int64_t)oy * S + ox] = v[(int64_t)ax * S + ay];
        }
    if constexpr (sizeof(T) == 1) convert_u8(scratch.data(), plane, out);
    else convert_f32(scratch.data(), plane, p.mean[c], p.std[c], out);
}

}  // namespace

void AxisTable::build(int length_, int size_, bool linear_) {
    if (length_ == length && size_ == size && linear_ == linear) return;
    length = length_, size = size_, linear = linear_;
    taps = 0;
    first.resize(size);
    for (int k = 0; k < size; ++k) taps = gz_max(taps, axis_taps(length, size, k, linear).count);
    w.assign((size_t)size * taps, 0u);
    for (int k = 0; k < size; ++k) {
        const AxisTaps t = axis_taps(length, size, k, linear);
        // Shift the window left at the far edge so padded taps stay inside the box; the
        // shifted-in leading taps get zero weight.
        const int start = gz_min(t.first, gz_max(0, length - taps));
        first[k] = start;
        for (int i = 0; i < t.count; ++i)
            w[(size_t)k * taps + (t.first - start) + i] =
                axis_weight(length, size, k, linear, t.first + i);
    }
}

void crop_resize_one(const uint8_t* img, int h, int w, int64_t row_stride, const Box& b,
                     int64_t i, const ResizeParams& p, ResizeWorkspace& ws) {
    const float cs = p.rot ? p.rot[2 * i] : 1.0f, sn = p.rot ? p.rot[2 * i + 1] : 0.0f;
    const int flips = p.flips ? p.flips[i] : 0;
    const int S = p.size, C = p.channels();
    const bool integer_path = p.interp == GZ_INTERP_AREA && is_right_angle(cs, sn);
    if (integer_path) area_resample(img, row_stride, b, p, ws);
    else rotated_resample(img, h, w, row_stride, b, cs, sn, flips, p, ws);
    const bool permuted = integer_path && (flips || cs != 1.0f);
    const int64_t plane = (int64_t)S * S;
    // The rotated path applies flips itself; the integer path permutes indices here.
    for (int c = 0; c < C; ++c) {
        if (p.out_dtype == GZ_OUT_UINT8)
            write_plane(ws.values.data(), S, permuted, (int)cs, (int)sn, flips, p, c,
                        static_cast<uint8_t*>(p.out) + (i * C + c) * plane, ws.permuted);
        else
            write_plane(ws.values.data(), S, permuted, (int)cs, (int)sn, flips, p, c,
                        static_cast<float*>(p.out) + (i * C + c) * plane, ws.permuted);
    }
}

void crop_resize_batch(const ImageBatch& images, const int32_t* boxes, const ResizeParams& p,
                       int threads) {
    threads = resolve_threads(threads, images.n);
    std::vector<ResizeWorkspace> ws(threads);
    parallel_for(images.n, threads, [&](int64_t i, int worker) {
        const int32_t* q = boxes + 4 * i;
        crop_resize_one(images.image(i), images.h, images.w, images.row_stride,
                        Box{q[0], q[1], q[2], q[3]}, i, p, ws[worker]);
    });
}

}  // namespace gz
