// ROI-only JPEG decoding; see jpeg_roi.h. Built only with GZ_HAVE_LIBJPEG.
//
// One pass of entropy decoding (jpeg_read_coefficients) is the irreducible part. The ROI is
// found on the luma plane rendered at 1/roi_denom scale (1/8: one value per block, the DC
// coefficient), then only the blocks under the box are inverse-transformed, at the scale the
// output needs, and colour-converted with libjpeg's own fixed-point YCbCr -> RGB tables.
// The inverse transform is an exact separable float IDCT evaluated at the centres of the
// output pixels (n samples per 8-point block: n = 8 is the full IDCT, n < 8 the scaled
// decode, n > 8 interpolates subsampled chroma), so pixels agree with libjpeg-turbo's
// scaled integer IDCTs to within a few levels, not bit for bit.
//
// Errors: libjpeg errors and warnings (strict, as the simplejpeg path) longjmp back to
// decode_coefficients, the only frame between setjmp and libjpeg; every buffer lives in
// thread-local workspaces, so the jump skips no destructor. Nothing is ever printed.
#include "cpu/jpeg_roi.h"

#include <setjmp.h>
#include <stdio.h>  // jpeglib.h needs FILE and size_t
#include <string.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include <jpeglib.h>

#include "cpu/crop_resize.h"
#include "cpu/find_roi.h"

#ifdef GZ_JPEG_EXPORTS_IDCT
// Exported by libjpeg-turbo's shared library but declared only in its internal jdct.h.
extern "C" {
void jpeg_idct_islow(j_decompress_ptr, jpeg_component_info*, JCOEFPTR, JSAMPARRAY, JDIMENSION);
void jpeg_idct_4x4(j_decompress_ptr, jpeg_component_info*, JCOEFPTR, JSAMPARRAY, JDIMENSION);
void jpeg_idct_2x2(j_decompress_ptr, jpeg_component_info*, JCOEFPTR, JSAMPARRAY, JDIMENSION);
void jpeg_idct_1x1(j_decompress_ptr, jpeg_component_info*, JCOEFPTR, JSAMPARRAY, JDIMENSION);
}
#endif

namespace gz {
namespace {

struct ErrorManager {
    jpeg_error_mgr pub;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

void error_exit(j_common_ptr cinfo) {
    auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
    (*cinfo->err->format_message)(cinfo, err->message);
    longjmp(err->jump, 1);
}

void emit_message(j_common_ptr cinfo, int level) {
    if (level < 0) error_exit(cinfo);  // a warning (corrupt or missing data): strict
}

void output_message(j_common_ptr) {}

struct Plane {  // one component's coefficients
    int h_samp, v_samp, width_in_blocks, height_in_blocks;
    float quant[DCTSIZE2];
    short islow[DCTSIZE2];       // libjpeg-turbo's ISLOW_MULT_TYPE (16-bit) multipliers
    jpeg_component_info info;   // for libjpeg's exported IDCTs: dct_table -> islow
    std::vector<JBLOCKROW> rows;
};

struct Workspace {
    jpeg_decompress_struct cinfo;
    ErrorManager err;
    Plane planes[3];
    int ncomp = 0, max_h = 1, max_v = 1;
    std::vector<uint8_t> luma, roi_rgb, window, comp[3];
    RoiWorkspace roi_ws;
    ResizeWorkspace resize_ws;
};

// Header, then every coefficient; status and message on failure. Plain C inside the jump.
int decode_coefficients(Workspace& ws, const uint8_t* data, size_t len, int64_t max_pixels,
                        int* width, int* height, std::string& message) {
    jpeg_decompress_struct& cinfo = ws.cinfo;
    cinfo.err = jpeg_std_error(&ws.err.pub);
    ws.err.pub.error_exit = error_exit;
    ws.err.pub.emit_message = emit_message;
    ws.err.pub.output_message = output_message;
    ws.err.message[0] = 0;
    if (setjmp(ws.err.jump)) {
        message = ws.err.message;
        jpeg_destroy_decompress(&cinfo);
        return GZ_ROI_JPEG_ERROR;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, const_cast<unsigned char*>(data), (unsigned long)len);
    jpeg_read_header(&cinfo, TRUE);
    const bool ycc = cinfo.num_components == 3 && cinfo.jpeg_color_space == JCS_YCbCr;
    const bool grey = cinfo.num_components == 1 && cinfo.jpeg_color_space == JCS_GRAYSCALE;
    int status = GZ_ROI_OK;
    if (!ycc && !grey) status = GZ_ROI_UNSUPPORTED;  // CMYK, YCCK, RGB: the Python path
    if ((int64_t)cinfo.image_width * cinfo.image_height > max_pixels) status = GZ_ROI_UNSUPPORTED;
    if (cinfo.image_width > 32768 || cinfo.image_height > 32768) status = GZ_ROI_UNSUPPORTED;
    if (status == GZ_ROI_OK) {
        ws.ncomp = cinfo.num_components;
        ws.max_h = cinfo.max_h_samp_factor;
        ws.max_v = cinfo.max_v_samp_factor;
        for (int c = 0; c < ws.ncomp; ++c) {
            const jpeg_component_info& ci = cinfo.comp_info[c];
            if (ws.max_h % ci.h_samp_factor || ws.max_v % ci.v_samp_factor ||
                ws.max_h / ci.h_samp_factor > 4 || ws.max_v / ci.v_samp_factor > 4)
                status = GZ_ROI_UNSUPPORTED;
        }
    }
    if (status != GZ_ROI_OK) {
        jpeg_destroy_decompress(&cinfo);
        return status;
    }
    jvirt_barray_ptr* arrays = jpeg_read_coefficients(&cinfo);
    for (int c = 0; c < ws.ncomp; ++c) {
        const jpeg_component_info& ci = cinfo.comp_info[c];
        Plane& p = ws.planes[c];
        p.h_samp = ci.h_samp_factor;
        p.v_samp = ci.v_samp_factor;
        p.width_in_blocks = (int)ci.width_in_blocks;
        p.height_in_blocks = (int)ci.height_in_blocks;
        if (!ci.quant_table) {
            jpeg_destroy_decompress(&cinfo);
            message = "a component has no quantization table";
            return GZ_ROI_JPEG_ERROR;
        }
        for (int k = 0; k < DCTSIZE2; ++k) {
            p.quant[k] = (float)ci.quant_table->quantval[k];
            p.islow[k] = (short)ci.quant_table->quantval[k];
        }
        p.info = ci;
        p.info.dct_table = p.islow;
        // The arrays are wholly in memory: row pointers stay valid until the destroy.
        p.rows.resize(p.height_in_blocks);
        for (int r = 0; r < p.height_in_blocks; ++r)
            p.rows[r] = (*cinfo.mem->access_virt_barray)((j_common_ptr)&cinfo, arrays[c], r, 1,
                                                         FALSE)[0];
    }
    *width = (int)cinfo.image_width;
    *height = (int)cinfo.image_height;
    return GZ_ROI_OK;  // the caller destroys cinfo when done with the rows
}

// IDCT basis for n output samples per 8-point block: m[i * 8 + u]. n <= 8: the mean of the
// 8/n pixels sample i covers (what a scaled decode approximates; n = 1 is the DC alone);
// n > 8: the continuous IDCT at the sample's centre (interpolating subsampled chroma).
const float* basis(int n) {
    static std::vector<float> cache[33];
    static const bool built = [] {
        for (int n : {1, 2, 4, 8, 16, 32}) {
            cache[n].resize(n * 8);
            for (int i = 0; i < n; ++i)
                for (int u = 0; u < 8; ++u) {
                    const double cu = u == 0 ? std::sqrt(0.5) : 1.0;
                    double sum = 0;
                    int taps = 0;
                    if (n <= 8) {
                        for (int x = i * 8 / n; x < (i + 1) * 8 / n; ++x, ++taps)
                            sum += std::cos((2 * x + 1) * u * M_PI / 16);
                    } else {
                        const double x = (i + 0.5) * 8.0 / n - 0.5;
                        sum = std::cos((2 * x + 1) * u * M_PI / 16), taps = 1;
                    }
                    const double m = 0.5 * cu * sum / taps;
                    cache[n][i * 8 + u] = std::fabs(m) < 1e-9 ? 0.0f : (float)m;
                }
        }
        return true;
    }();
    (void)built;
    return cache[n].data();
}

inline uint8_t clamp_u8(float v) {
    v = v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v;
    return (uint8_t)(int)(v + 0.5f);
}

// One block at NX x ny samples into block (row stride 32), level-shifted (+128), unclamped.
// Only the non-zero coefficient rows are transformed, each up to its last non-zero column.
template <int NX>
GZ_MULTIVERSION void block_idct(const JCOEF* coef, const float* quant, const float* mx,
                                const float* my, int ny, float* block) {
    float tmp[8][NX];
    int rows_used[8], nrows = 0;
    for (int v = 0; v < 8; ++v) {
        const JCOEF* c = coef + 8 * v;
        int last = 8;
        while (last > 0 && c[last - 1] == 0) --last;
        if (!last) continue;
        float* t = tmp[nrows];
        for (int i = 0; i < NX; ++i) t[i] = 0.0f;
        for (int u = 0; u < last; ++u) {
            if (!c[u]) continue;
            const float f = c[u] * quant[8 * v + u];
            for (int i = 0; i < NX; ++i) t[i] += f * mx[i * 8 + u];
        }
        rows_used[nrows++] = v;
    }
    for (int j = 0; j < ny; ++j) {
        float b[NX];
        for (int i = 0; i < NX; ++i) b[i] = 128.0f;
        for (int r = 0; r < nrows; ++r) {
            const float w = my[j * 8 + rows_used[r]];
            for (int i = 0; i < NX; ++i) b[i] += w * tmp[r][i];
        }
        for (int i = 0; i < NX; ++i) block[j * 32 + i] = b[i];
    }
}

// Renders component `p` on the grid of a decode at 1/denom (nx x ny samples per block) over
// pixels [x0, x1) x [y0, y1) into out (row stride x1 - x0).
// libjpeg's post-IDCT range-limit table (jdmaster.c): IDCT_range_limit = sample_range_limit
// + CENTERJSAMPLE is indexed by (centred value & 1023).
struct RangeLimit {
    JSAMPLE table[CENTERJSAMPLE + 1024];
    RangeLimit() {
        for (int j = 0; j < 1024; ++j) {
            const int v = (j < 512 ? j : j - 1024) + CENTERJSAMPLE;
            table[CENTERJSAMPLE + j] = (JSAMPLE)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
        for (int j = 0; j < CENTERJSAMPLE; ++j) table[j] = 0;
    }
};

using IdctFn = void (*)(j_decompress_ptr, jpeg_component_info*, JCOEFPTR, JSAMPARRAY, JDIMENSION);

// libjpeg-turbo's own scaled integer IDCT for n x n samples (n = 1, 2, 4, 8), the C versions
// of what its decoder runs (its SIMD versions are bit-exact with them).
IdctFn libjpeg_idct(int n) {
#ifndef GZ_JPEG_EXPORTS_IDCT
    (void)n;
    return nullptr;  // the float IDCT below
#else
    switch (n) {
        case 1: return jpeg_idct_1x1;
        case 2: return jpeg_idct_2x2;
        case 4: return jpeg_idct_4x4;
        case 8: return jpeg_idct_islow;
        default: return nullptr;
    }
#endif
}

template <int NX>
void render_n(const Plane& p, int ny, int x0, int y0, int x1, int y1, uint8_t* out) {
    static const RangeLimit range;
    const IdctFn idct = ny == NX ? libjpeg_idct(NX) : nullptr;
    jpeg_decompress_struct fake;  // the IDCTs read only sample_range_limit
    fake.sample_range_limit = const_cast<JSAMPLE*>(range.table);
    JSAMPLE pixels[8][8];
    JSAMPROW prow[8] = {pixels[0], pixels[1], pixels[2], pixels[3],
                        pixels[4], pixels[5], pixels[6], pixels[7]};
    constexpr int nx = NX;
    const float* mx = basis(nx);
    const float* my = basis(ny);
    const int ow = x1 - x0;
    float block[32 * 32];
    for (int by = y0 / ny; by * ny < y1; ++by) {
        const JBLOCKROW row = p.rows[std::min(by, p.height_in_blocks - 1)];
        const int py0 = std::max(y0, by * ny), py1 = std::min(y1, by * ny + ny);
        for (int bx = x0 / nx; bx * nx < x1; ++bx) {
            const JCOEF* coef = row[std::min(bx, p.width_in_blocks - 1)];
            const int px0 = std::max(x0, bx * nx), px1 = std::min(x1, bx * nx + nx);
            bool ac = false;  // a 1 x 1 sample is the DC alone
            if (nx > 1 || ny > 1)
                for (int k = 1; k < DCTSIZE2 && !ac; ++k) ac = coef[k] != 0;
            if (!ac) {
                const uint8_t v = clamp_u8(coef[0] * p.quant[0] * 0.125f + 128.0f);
                for (int y = py0; y < py1; ++y) memset(out + (y - y0) * ow + (px0 - x0), v, px1 - px0);
                continue;
            }
            if (idct) {
                idct(&fake, const_cast<jpeg_component_info*>(&p.info),
                     const_cast<JCOEFPTR>(coef), prow, 0);
                for (int y = py0; y < py1; ++y)
                    memcpy(out + (y - y0) * ow + (px0 - x0), pixels[y - by * ny] + (px0 - bx * nx),
                           px1 - px0);
                continue;
            }
            block_idct<NX>(coef, p.quant, mx, my, ny, block);
            for (int y = py0; y < py1; ++y) {
                const float* b = block + (y - by * ny) * 32 - bx * nx;
                uint8_t* o = out + (y - y0) * ow - x0;
                for (int x = px0; x < px1; ++x) o[x] = clamp_u8(b[x]);
            }
        }
    }
}

void render(const Plane& p, int nx, int ny, int x0, int y0, int x1, int y1, uint8_t* out) {
    switch (nx) {
        case 1: return render_n<1>(p, ny, x0, y0, x1, y1, out);
        case 2: return render_n<2>(p, ny, x0, y0, x1, y1, out);
        case 4: return render_n<4>(p, ny, x0, y0, x1, y1, out);
        case 8: return render_n<8>(p, ny, x0, y0, x1, y1, out);
        case 16: return render_n<16>(p, ny, x0, y0, x1, y1, out);
        default: return render_n<32>(p, ny, x0, y0, x1, y1, out);
    }
}

// libjpeg's YCbCr -> RGB tables (jdcolor.c build_ycc_rgb_table).
struct ColorTables {
    int cr_r[256], cb_b[256], cr_g[256], cb_g[256];
    ColorTables() {
        const int SCALEBITS = 16, ONE_HALF = 1 << (SCALEBITS - 1);
        auto fix = [&](double x) { return (int)(x * (1 << SCALEBITS) + 0.5); };
        for (int i = 0; i < 256; ++i) {
            const int x = i - 128;
            cr_r[i] = (fix(1.40200) * x + ONE_HALF) >> SCALEBITS;
            cb_b[i] = (fix(1.77200) * x + ONE_HALF) >> SCALEBITS;
            cr_g[i] = -fix(0.71414) * x;
            cb_g[i] = -fix(0.34414) * x + ONE_HALF;
        }
    }
};

inline uint8_t limit(int v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v); }

// Samples per block of component p on the grid of a decode at 1/denom.
inline int samples_x(const Workspace& ws, const Plane& p, int denom) {
    return 8 * (ws.max_h / p.h_samp) / denom;
}
inline int samples_y(const Workspace& ws, const Plane& p, int denom) {
    return 8 * (ws.max_v / p.v_samp) / denom;
}

// Pixels [x0, x1) x [y0, y1) of the decode at 1/denom, RGB, into ws.window.
void render_rgb(Workspace& ws, int denom, int x0, int y0, int x1, int y1) {
    static const ColorTables t;
    const int64_t n = (int64_t)(x1 - x0) * (y1 - y0);
    for (int c = 0; c < ws.ncomp; ++c) {
        ws.comp[c].resize(n);
        const Plane& p = ws.planes[c];
        render(p, samples_x(ws, p, denom), samples_y(ws, p, denom), x0, y0, x1, y1,
               ws.comp[c].data());
    }
    ws.window.resize(3 * n);
    uint8_t* o = ws.window.data();
    const uint8_t* Y = ws.comp[0].data();
    if (ws.ncomp == 1) {
        for (int64_t i = 0; i < n; ++i) o[3 * i] = o[3 * i + 1] = o[3 * i + 2] = Y[i];
        return;
    }
    const uint8_t* Cb = ws.comp[1].data();
    const uint8_t* Cr = ws.comp[2].data();
    for (int64_t i = 0; i < n; ++i) {
        const int y = Y[i], cb = Cb[i], cr = Cr[i];
        o[3 * i] = limit(y + t.cr_r[cr]);
        o[3 * i + 1] = limit(y + ((t.cb_g[cb] + t.cr_g[cr]) >> 16));
        o[3 * i + 2] = limit(y + t.cb_b[cb]);
    }
}

// The power-of-two denominator whose decode has a side >= wanted (as ingest's _fast_min_size).
int denominator_for(int side, int wanted) {
    for (int d : {8, 4, 2})
        if ((side + d - 1) / d >= wanted) return d;
    return 1;
}

inline int ceil_div(int a, int b) { return (a + b - 1) / b; }

}  // namespace

int decode_roi_one(const uint8_t* data, size_t len, const RoiDecodeParams& p, uint8_t* out,
                   int32_t* info, std::string& message) {
    thread_local Workspace tls;
    Workspace& ws = tls;
    int W = 0, H = 0;
    const int status = decode_coefficients(ws, data, len, p.max_pixels, &W, &H, message);
    if (status != GZ_ROI_OK) return status;
    int D = denominator_for(std::min(W, H), p.first);
    int Wd = ceil_div(W, D), Hd = ceil_div(H, D);
    Box b{0, 0, Wd, Hd};
    if (p.mode >= 0) {
        const int R = std::max(D, p.roi_denom);
        const int Wr = ceil_div(W, R), Hr = ceil_div(H, R);
        const Plane& luma = ws.planes[0];
        ws.luma.resize((int64_t)Wr * Hr);
        render(luma, samples_x(ws, luma, R), samples_y(ws, luma, R), 0, 0, Wr, Hr,
               ws.luma.data());
        ws.roi_rgb.resize(3 * ws.luma.size());
        const uint8_t* lp = ws.luma.data();
        uint8_t* rgb = ws.roi_rgb.data();
        const size_t npx = ws.luma.size();
        for (size_t i = 0; i < npx; ++i) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = lp[i];
        RoiParams rp = p.roi;
        rp.mode = p.mode;
        const Box r = find_roi_one(ws.roi_rgb.data(), Hr, Wr, 3 * (int64_t)Wr, rp, ws.roi_ws);
        const int f = R / D;
        b = Box{r.x0 * f, r.y0 * f, std::min(Wd, r.x1 * f), std::min(Hd, r.y1 * f)};
        // As ingest: a box under `size` pixels is taken from a finer decode when there is one.
        const int side = std::max(b.x1 - b.x0, b.y1 - b.y0);
        if (side < p.size && std::min(Hd, Wd) < std::min(H, W)) {
            const int finer = ceil_div(std::min(Hd, Wd) * p.size, side);
            const int D2 = denominator_for(std::min(W, H), finer);
            if (D2 < D) {
                const int g = D / D2;
                Wd = ceil_div(W, D2), Hd = ceil_div(H, D2);
                b = Box{b.x0 * g, b.y0 * g, std::min(Wd, b.x1 * g), std::min(Hd, b.y1 * g)};
                D = D2;
            }
        }
    }
    render_rgb(ws, D, b.x0, b.y0, b.x1, b.y1);
    jpeg_destroy_decompress(&ws.cinfo);  // the coefficient rows are not needed any more
    const int bw = b.x1 - b.x0, bh = b.y1 - b.y0;
    ResizeParams rp{};
    rp.size = p.size;
    rp.interp = GZ_INTERP_AREA;
    rp.out_dtype = GZ_OUT_UINT8;
    rp.gray = false;
    for (int c = 0; c < 3; ++c) rp.mean[c] = 0.0f, rp.std[c] = 1.0f;
    rp.out = out;
    crop_resize_one(ws.window.data(), bh, bw, 3 * (int64_t)bw, Box{0, 0, bw, bh}, 0, rp,
                    ws.resize_ws);
    const int32_t v[8] = {b.x0, b.y0, b.x1, b.y1, Hd, Wd, H, W};
    memcpy(info, v, sizeof v);
    return GZ_ROI_OK;
}

}  // namespace gz
