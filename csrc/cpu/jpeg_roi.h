// ROI-only JPEG decoding (libjpeg-turbo, optional: built when CMake finds it, macro
// GZ_HAVE_LIBJPEG). The entropy-coded data is decoded once (jpeg_read_coefficients); the ROI
// is found on a luma-only image rendered from the coefficients at a coarse DCT scale (1/8:
// the DC coefficients alone), and only the blocks under the ROI are inverse-transformed and
// colour-converted, at the DCT scale the output needs, then area-resized by crop_resize_one.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <string>

#include "cpu/batch.h"

namespace gz {

enum RoiStatus : int {
    GZ_ROI_OK = 0,
    GZ_ROI_JPEG_ERROR = 1,  // libjpeg reported an error or a warning (strict): message set
    GZ_ROI_UNSUPPORTED = 2  // not a 1- or 3-component (YCbCr) JPEG, odd sampling, too large
};

struct RoiDecodeParams {
    int size;        // output side
    int first;       // decode at the power-of-two scale with a side >= first (ingest: 2*size)
    int mode;        // GZ_MODE_*, or -1: the whole image is the box
    RoiParams roi;   // threshold, k, pad (mode as above)
    int roi_denom;   // the ROI is found at scale 1/roi_denom (8: DC only), never finer than the decode
    int64_t max_pixels;
};

// info: 8 ints: box (x0, y0, x1, y1) on the decoded image, decoded (h, w), original (h, w).
// out: 3 x size x size uint8.
int decode_roi_one(const uint8_t* data, size_t len, const RoiDecodeParams& p, uint8_t* out,
                   int32_t* info, std::string& message);

}  // namespace gz
