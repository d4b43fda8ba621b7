#include "cpu/preprocess.h"

#include "cpu/crop_resize.h"
#include "cpu/find_roi.h"
#include "cpu/parallel.h"

namespace gz {

void preprocess_batch(const ImageBatch& images, const RoiParams& roi, const ResizeParams& p,
                      int32_t* boxes, int threads) {
    threads = resolve_threads(threads, images.n);
    std::vector<RoiWorkspace> roi_ws(threads);
    std::vector<ResizeWorkspace> resize_ws(threads);
    parallel_for(images.n, threads, [&](int64_t i, int worker) {
        const uint8_t* img = images.image(i);
        const Box b =
            find_roi_one(img, images.h, images.w, images.row_stride, roi, roi_ws[worker]);
        int32_t* q = boxes + 4 * i;
        q[0] = b.x0, q[1] = b.y0, q[2] = b.x1, q[3] = b.y1;
        crop_resize_one(img, images.h, images.w, images.row_stride, b, i, p, resize_ws[worker]);
    });
}

}  // namespace gz
