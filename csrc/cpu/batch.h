// Plain views of the batch buffers the CPU operations work on (validated in bindings.cpp).
#pragma once

#include <stdint.h>

#include "gz_common.h"

// Hot functions are compiled twice (x86-64-v3: AVX2, BMI, POPCNT; and baseline x86-64) and
// picked at load time.
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define GZ_MULTIVERSION __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define GZ_MULTIVERSION
#endif

namespace gz {

struct ImageBatch {
    const uint8_t* data;
    int64_t n;
    int h, w;
    int64_t image_stride, row_stride;  // bytes; the pixel stride is 3
    const uint8_t* image(int64_t i) const { return data + i * image_stride; }
};

struct RoiParams {
    int mode;       // GZ_MODE_*
    int threshold;  // 0..255, or -1 = auto
    double k;       // auto-threshold factor
    double pad;     // padding fraction of the bbox side
};

struct ResizeParams {
    int size;
    const float* rot;      // N x 2 (cos, sin) or null
    const uint8_t* flips;  // N or null
    int interp;            // GZ_INTERP_*
    int out_dtype;         // GZ_OUT_*
    bool gray;
    float mean[3], std[3];
    void* out;  // N x C x S x S, contiguous
    int channels() const { return gray ? 1 : 3; }
};

}  // namespace gz
