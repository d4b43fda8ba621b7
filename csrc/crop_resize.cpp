// crop_resize: area/linear resampling of the box (integer, vertical pass first over whole
// rows, then the horizontal taps), or supersampled bilinear when rotated; then the output
// permutation for flips and right angles, and the dtype/normalisation conversion.
#include "crop_resize.h"

#include "parallel.h"

namespace gz {
namespace {

// inner[i] (+)= weight * src[i] over one row of n values.
GZ_MULTIVERSION void weighted_row(uint32_t* __restrict inner, const uint8_t* __restrict src,
                                  int n, uint32_t weight, bool first) {
    if (first)
        for (int i = 0; i < n; ++i) inner[i] = weight * src[i];
    else
        for (int i = 0; i < n; ++i) inner[i] += weight * src[i];
}

GZ_MULTIVERSION void round_row(uint16_t* __restrict out, const uint32_t* __restrict inner,
                               int n) {
    for (int i = 0; i < n; ++i) out[i] = (uint16_t)round_inner(inner[i]);
}

GZ_MULTIVERSION void gray_row(uint8_t* __restrict out, const uint8_t* __restrict p, int n) {
    for (int x = 0; x < n; ++x) out[x] = (uint8_t)gray_u8(p[3 * x], p[3 * x + 1], p[3 * x + 2]);
}

// Horizontal taps of one resampled row: A[ax][c] for all ax, C channels interleaved.
template <int C>
void horizontal(const uint16_t* t, const AxisTable& xs, int size, float* out) {
    const int taps = xs.taps;
    for (int ax = 0; ax < size; ++ax) {
        const uint16_t* src = t + (int64_t)xs.first[ax] * C;
        const uint32_t* w = xs.w.data() + (int64_t)ax * taps;
        uint32_t total[C] = {};
        for (int k = 0; k < taps; ++k)
            for (int c = 0; c < C; ++c) total[c] += w[k] * src[k * C + c];
        for (int c = 0; c < C; ++c) out[ax * C + c] = area_value(total[c]);
    }
}

// A = the box resampled to S x S (no rotation), as floats, S x S x C.
void area_resample(const uint8_t* img, int64_t row_stride, const Box& b, const ResizeParams& p,
                   ResizeWorkspace& ws) {
    const int S = p.size, C = p.channels();
    const int bw = b.x1 - b.x0, bh = b.y1 - b.y0;
    const bool linear = area_uses_linear(bw, bh, S);
    ws.xs.build(bw, S, linear);
    ws.ys.build(bh, S, linear);
    const int n = bw * C;
    ws.inner.resize(n);
    ws.rounded.resize((size_t)n + (size_t)ws.xs.taps * C);  // padded taps may read past n
    ws.gray_row.resize(bw);
    ws.values.resize((size_t)S * S * C);
    const uint8_t* origin = img + (int64_t)b.y0 * row_stride + 3 * (int64_t)b.x0;
    for (int ay = 0; ay < S; ++ay) {
        const uint32_t* wy = ws.ys.w.data() + (int64_t)ay * ws.ys.taps;
        for (int j = 0; j < ws.ys.taps; ++j) {
            const uint8_t* row = origin + (int64_t)(ws.ys.first[ay] + j) * row_stride;
            if (p.gray) {
                gray_row(ws.gray_row.data(), row, bw);
                row = ws.gray_row.data();
            }
            weighted_row(ws.inner.data(), row, n, wy[j], j == 0);
        }
        round_row(ws.rounded.data(), ws.inner.data(), n);
        float* out = ws.values.data() + (int64_t)ay * S * C;
        if (C == 1) horizontal<1>(ws.rounded.data(), ws.xs, S, out);
        else horizontal<3>(ws.rounded.data(), ws.xs, S, out);
    }
}

// Rotated (or interp "bilinear"): rotated_pixel of gz_common.h with the coordinates
// computed once per sub-sample for all channels (same float operations per channel).
void rotated_resample(const uint8_t* img, int h, int w, int64_t row_stride, const Box& b,
                      float cs, float sn, int flips, const ResizeParams& p, ResizeWorkspace& ws) {
    const int S = p.size, C = p.channels();
    const int n = rotated_taps(b.x1 - b.x0, b.y1 - b.y0, S, p.interp);
    const float bw = (float)(b.x1 - b.x0), bh = (float)(b.y1 - b.y0);
    const float cx = 0.5f * (float)(b.x0 + b.x1), cy = 0.5f * (float)(b.y0 + b.y1);
    const float nn = (float)(n * n);
    ws.values.resize((size_t)S * S * C);
    for (int oy = 0; oy < S; ++oy) {
        for (int ox = 0; ox < S; ++ox) {
            float sum[3] = {0.0f, 0.0f, 0.0f};
            for (int j = 0; j < n; ++j) {
                float v = ((float)oy + ((float)j + 0.5f) / (float)n) / (float)S - 0.5f;
                if (flips & GZ_FLIP_V) v = -v;
                for (int i = 0; i < n; ++i) {
                    float u = ((float)ox + ((float)i + 0.5f) / (float)n) / (float)S - 0.5f;
                    if (flips & GZ_FLIP_H) u = -u;
                    const float ru = cs * u - sn * v, rv = sn * u + cs * v;
                    const float px = cx + bw * ru, py = cy + bh * rv;
                    for (int c = 0; c < C; ++c)
                        sum[c] += bilinear(img, row_stride, w, h, px, py, c, p.gray);
                }
            }
            float* out = ws.values.data() + ((int64_t)oy * S + ox) * C;
            for (int c = 0; c < C; ++c) out[c] = sum[c] / nn;
        }
    }
}

template <class T, class Convert>
void write_output(const ResizeWorkspace& ws, int S, int C, bool permuted, int cs, int sn,
                  int flips, T* out, Convert convert) {
    for (int oy = 0; oy < S; ++oy)
        for (int ox = 0; ox < S; ++ox) {
            int ax = ox, ay = oy;
            if (permuted) permute_output(S, cs, sn, flips, ox, oy, &ax, &ay);
            const float* v = ws.values.data() + ((int64_t)ay * S + ax) * C;
            for (int c = 0; c < C; ++c) out[((int64_t)c * S + oy) * S + ox] = convert(v[c], c);
        }
}

}  // namespace

void AxisTable::build(int length, int size, bool linear) {
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
    const int64_t plane = (int64_t)C * S * S;
    if (p.out_dtype == GZ_OUT_UINT8) {
        write_output(ws, S, C, permuted, (int)cs, (int)sn, flips,
                     static_cast<uint8_t*>(p.out) + i * plane,
                     [](float v, int) { return to_u8(v); });
    } else {
        write_output(ws, S, C, permuted, (int)cs, (int)sn, flips,
                     static_cast<float*>(p.out) + i * plane,
                     [&p](float v, int c) { return to_f32(v, p.mean[c], p.std[c]); });
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
