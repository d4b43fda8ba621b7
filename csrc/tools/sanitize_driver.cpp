// Sanitizer driver: random images (each in its own exact-size heap block, so any overread
// hits an ASan redzone), random thresholds, modes, boxes, sizes, angles, flips and dtypes
// through find_roi_one and crop_resize_one, whose every output pixel must equal gz_common.h's
// per-pixel output_value (the definition the CUDA backend follows). Built and run by
// tests/test_ops_sanitize.py with -fsanitize=address,undefined; argv[1] = iterations,
// argv[2] = seed.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <memory>
#include <random>
#include <vector>

#include "cpu/crop_resize.h"
#include "cpu/find_roi.h"

using namespace gz;

int main(int argc, char** argv) {
    const int iterations = argc > 1 ? atoi(argv[1]) : 3000;
    std::mt19937 rng(argc > 2 ? atoi(argv[2]) : 1);
    RoiWorkspace ws; ResizeWorkspace rws;
    for (int it = 0; it < iterations; ++it) {
        int h = 1 + rng() % 150, w = 1 + rng() % 150;
        if (it % 10 == 0) { h = 1 + rng() % 3; w = 1 + rng() % 300; }
        std::unique_ptr<uint8_t[]> img(new uint8_t[(size_t)h * w * 3]);
        const int density = rng() % 100;
        for (int i = 0; i < h * w * 3; ++i) img[i] = (int)(rng() % 100) < density ? rng() % 256 : rng() % 12;
        RoiParams p{(int)(rng() % 2), (int)(rng() % 3 == 0 ? -1 : rng() % 256), 3.0, (rng() % 50) / 100.0};
        Box b = find_roi_one(img.get(), h, w, (int64_t)w * 3, p, ws);
        if (!(0 <= b.x0 && b.x0 < b.x1 && b.x1 <= w && 0 <= b.y0 && b.y0 < b.y1 && b.y1 <= h)) { printf("bad box at iteration %d\n", it); return 1; }
        int S = 1 + rng() % 80;
        bool gray = rng() % 2;
        int C = gray ? 1 : 3;
        float rot[2] = {1.0f, 0.0f};
        int kind = rng() % 3;
        if (kind == 1) { float a = (rng() % 3600) / 10.0f * 3.14159265f / 180; rot[0] = cosf(a); rot[1] = sinf(a); }
        if (kind == 2) { int q = rng() % 4; const float cs[4] = {1, 0, -1, 0}, sn[4] = {0, 1, 0, -1}; rot[0] = cs[q]; rot[1] = sn[q]; }
        uint8_t flips = rng() % 4;
        bool u8 = rng() % 2;
        std::unique_ptr<float[]> outf(new float[(size_t)C * S * S]);
        std::unique_ptr<uint8_t[]> outb(new uint8_t[(size_t)C * S * S]);
        ResizeParams rp{};
        rp.size = S; rp.rot = rot; rp.flips = &flips; rp.interp = rng() % 4 == 0 ? 1 : 0;
        rp.out_dtype = u8 ? GZ_OUT_UINT8 : GZ_OUT_FLOAT32; rp.gray = gray;
        for (int c = 0; c < 3; ++c) rp.mean[c] = 0, rp.std[c] = 1;
        rp.out = u8 ? (void*)outb.get() : (void*)outf.get();
        // The found box or a random one.
        int x0 = rng() % w, y0 = rng() % h; Box rb{x0, y0, x0 + 1 + (int)(rng() % (w - x0)), y0 + 1 + (int)(rng() % (h - y0))};
        const Box box = it % 2 ? b : rb;
        crop_resize_one(img.get(), h, w, (int64_t)w * 3, box, 0, rp, rws);
        // The optimised kernels against the per-pixel definition the CUDA backend uses.
        for (int c = 0; c < C; ++c)
            for (int oy = 0; oy < S; ++oy)
                for (int ox = 0; ox < S; ++ox) {
                    const float v = output_value(img.get(), (int64_t)w * 3, w, h, box, S, ox, oy,
                                                 rot[0], rot[1], flips, rp.interp, c, gray);
                    const size_t k = ((size_t)c * S + oy) * S + ox;
                    const bool same = u8 ? outb[k] == to_u8(v) : outf[k] == to_f32(v, 0.0f, 1.0f);
                    if (!same) {
                        printf("mismatch at iteration %d (c %d, y %d, x %d)\n", it, c, oy, ox);
                        return 1;
                    }
                }
    }
    printf("ok\n");
}
