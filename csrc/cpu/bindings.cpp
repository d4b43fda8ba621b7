// pybind11 bindings of the CPU backend. Buffers come in as numpy arrays (torch CPU tensors
// via .numpy(), zero-copy); outputs are allocated by the caller (galaxyzoo/ops.py) and
// filled in place. Everything is validated here, with the GIL held, before any worker runs:
// a bad argument raises TypeError/ValueError and never reaches the native loops.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <array>
#include <cmath>
#include <string>

#include "cpu/crop_resize.h"
#include "cpu/find_roi.h"
#include "cpu/preprocess.h"
#ifdef GZ_HAVE_LIBJPEG
#include "cpu/jpeg_roi.h"
#include "cpu/parallel.h"
#endif

namespace py = pybind11;
using namespace gz;

namespace {

constexpr int kMaxSide = 32768;  // keeps every int in the native loops far from overflow
constexpr int kMaxSize = 4096;

template <class T>
bool has_dtype(const py::array& a) {
    return a.dtype().is(py::dtype::of<T>());
}

template <class T>
void require_dtype(const py::array& a, const char* name, const char* dtype) {
    if (!has_dtype<T>(a))
        throw py::type_error(std::string(name) + " must have dtype " + dtype + ", got " +
                             std::string(py::str(a.dtype())));
}

void require_c_contiguous(const py::array& a, const char* name) {
    if (!(a.flags() & py::array::c_style))
        throw py::value_error(std::string(name) + " must be C-contiguous");
}

std::string shape_of(const py::array& a) {
    std::string s = "(";
    for (py::ssize_t d = 0; d < a.ndim(); ++d) s += (d ? ", " : "") + std::to_string(a.shape(d));
    return s + (a.ndim() == 1 ? ",)" : ")");
}

ImageBatch image_batch(const py::array& images) {
    require_dtype<uint8_t>(images, "images", "uint8");
    if (images.ndim() != 4 || images.shape(3) != 3)
        throw py::value_error("images must be N x H x W x 3 (RGB), got shape " +
                              shape_of(images));
    if (images.shape(0) == 0) throw py::value_error("images is an empty batch");
    if (images.shape(1) == 0 || images.shape(2) == 0)
        throw py::value_error("images have zero size: " + shape_of(images));
    if (images.shape(1) > kMaxSide || images.shape(2) > kMaxSide)
        throw py::value_error("images larger than " + std::to_string(kMaxSide) +
                              " pixels per side are not supported");
    // Strides of size-1 dimensions are meaningless (numpy may report anything there).
    const auto stride_ok = [&](int d, bool ok) { return images.shape(d) == 1 || ok; };
    if (!(images.strides(3) == 1 && stride_ok(2, images.strides(2) == 3) &&
          stride_ok(1, images.strides(1) > 0) && stride_ok(0, images.strides(0) > 0)))
        throw py::value_error("images must have contiguous RGB pixels and positive strides");
    return ImageBatch{static_cast<const uint8_t*>(images.data()), images.shape(0),
                      (int)images.shape(1), (int)images.shape(2),
                      images.shape(0) == 1 ? 0 : images.strides(0),
                      images.shape(1) == 1 ? 0 : images.strides(1)};
}

int32_t* boxes_buffer(py::array& boxes, int64_t n, bool writable) {
    require_dtype<int32_t>(boxes, "boxes", "int32");
    require_c_contiguous(boxes, "boxes");
    if (boxes.ndim() != 2 || boxes.shape(0) != n || boxes.shape(1) != 4)
        throw py::value_error("boxes must be N x 4 with N = " + std::to_string(n) + ", got " +
                              shape_of(boxes));
    if (writable && !boxes.writeable()) throw py::value_error("boxes output is read-only");
    return static_cast<int32_t*>(boxes.mutable_data());
}

void check_boxes(const int32_t* b, const ImageBatch& im) {
    for (int64_t i = 0; i < im.n; ++i, b += 4)
        if (!(0 <= b[0] && b[0] < b[2] && b[2] <= im.w && 0 <= b[1] && b[1] < b[3] &&
              b[3] <= im.h))
            throw py::value_error("box " + std::to_string(i) + " (" + std::to_string(b[0]) +
                                  ", " + std::to_string(b[1]) + ", " + std::to_string(b[2]) +
                                  ", " + std::to_string(b[3]) +
                                  ") is empty or outside the " + std::to_string(im.w) + "x" +
                                  std::to_string(im.h) + " image");
}

RoiParams roi_params(int mode, int threshold, double k, double pad) {
    if (mode != GZ_MODE_SEED && mode != GZ_MODE_CENTRAL)
        throw py::value_error("mode must be 0 (seed) or 1 (central), got " +
                              std::to_string(mode));
    if (threshold < -1 || threshold > 255)
        throw py::value_error("threshold must be 0..255 or -1 (auto), got " +
                              std::to_string(threshold));
    if (!std::isfinite(k) || k < 0) throw py::value_error("k must be finite and >= 0");
    if (!std::isfinite(pad) || pad < 0 || pad > 10)
        throw py::value_error("pad must be a fraction in [0, 10]");
    return RoiParams{mode, threshold, k, pad};
}

ResizeParams resize_params(const ImageBatch& im, py::array& out, int size,
                           const py::object& rot, const py::object& flips, int interp,
                           bool gray, const std::array<float, 3>& mean,
                           const std::array<float, 3>& std) {
    if (size < 1 || size > kMaxSize)
        throw py::value_error("size must be 1.." + std::to_string(kMaxSize) + ", got " +
                              std::to_string(size));
    if (interp != GZ_INTERP_AREA && interp != GZ_INTERP_BILINEAR)
        throw py::value_error("interp must be 0 (area) or 1 (bilinear), got " +
                              std::to_string(interp));
    ResizeParams p{};
    p.size = size;
    p.interp = interp;
    p.gray = gray;
    const int C = p.channels();
    if (has_dtype<float>(out)) p.out_dtype = GZ_OUT_FLOAT32;
    else if (has_dtype<uint8_t>(out)) p.out_dtype = GZ_OUT_UINT8;
    else throw py::type_error("out must have dtype float32 or uint8");
    require_c_contiguous(out, "out");
    if (out.ndim() != 4 || out.shape(0) != im.n || out.shape(1) != C || out.shape(2) != size ||
        out.shape(3) != size)
        throw py::value_error("out must be N x C x S x S = (" + std::to_string(im.n) + ", " +
                              std::to_string(C) + ", " + std::to_string(size) + ", " +
                              std::to_string(size) + "), got " + shape_of(out));
    if (!out.writeable()) throw py::value_error("out is read-only");
    p.out = out.mutable_data();
    for (int c = 0; c < 3; ++c) {
        if (!std::isfinite(mean[c]) || !std::isfinite(std[c]) || std[c] == 0.0f)
            throw py::value_error("mean and std must be finite and std non-zero");
        p.mean[c] = mean[c];
        p.std[c] = std[c];
    }
    if (!rot.is_none()) {
        if (!py::isinstance<py::array>(rot)) throw py::type_error("rot must be a numpy array");
        py::array r = rot.cast<py::array>();
        require_dtype<float>(r, "rot", "float32");
        require_c_contiguous(r, "rot");
        if (r.ndim() != 2 || r.shape(0) != im.n || r.shape(1) != 2)
            throw py::value_error("rot must be N x 2 (cos, sin), got " + shape_of(r));
        p.rot = static_cast<const float*>(r.data());
        for (int64_t i = 0; i < 2 * im.n; ++i)
            if (!std::isfinite(p.rot[i])) throw py::value_error("rot must be finite");
    }
    if (!flips.is_none()) {
        if (!py::isinstance<py::array>(flips))
            throw py::type_error("flips must be a numpy array");
        py::array f = flips.cast<py::array>();
        require_dtype<uint8_t>(f, "flips", "uint8");
        require_c_contiguous(f, "flips");
        if (f.ndim() != 1 || f.shape(0) != im.n)
            throw py::value_error("flips must have N entries, got " + shape_of(f));
        p.flips = static_cast<const uint8_t*>(f.data());
    }
    return p;
}

void find_roi(const py::array& images, int mode, int threshold, double k, double pad,
              py::array boxes, int num_threads) {
    const ImageBatch im = image_batch(images);
    const RoiParams p = roi_params(mode, threshold, k, pad);
    int32_t* out = boxes_buffer(boxes, im.n, true);
    py::gil_scoped_release release;
    find_roi_batch(im, p, out, num_threads);
}

void crop_resize(const py::array& images, py::array boxes, py::array out, int size,
                 const py::object& rot, const py::object& flips, int interp, bool gray,
                 const std::array<float, 3>& mean, const std::array<float, 3>& std,
                 int num_threads) {
    const ImageBatch im = image_batch(images);
    const int32_t* b = boxes_buffer(boxes, im.n, false);
    check_boxes(b, im);
    const ResizeParams p = resize_params(im, out, size, rot, flips, interp, gray, mean, std);
    py::gil_scoped_release release;
    crop_resize_batch(im, b, p, num_threads);
}

void preprocess(const py::array& images, int mode, int threshold, double k, double pad,
                py::array boxes, py::array out, int size, const py::object& rot,
                const py::object& flips, int interp, bool gray,
                const std::array<float, 3>& mean, const std::array<float, 3>& std,
                int num_threads) {
    const ImageBatch im = image_batch(images);
    const RoiParams roi = roi_params(mode, threshold, k, pad);
    int32_t* b = boxes_buffer(boxes, im.n, true);
    const ResizeParams p = resize_params(im, out, size, rot, flips, interp, gray, mean, std);
    py::gil_scoped_release release;
    preprocess_batch(im, roi, p, b, num_threads);
}

#ifdef GZ_HAVE_LIBJPEG
// JPEG bytes -> ROI crops (see cpu/jpeg_roi.h). Returns one (status, message) per blob:
// 0 ok (out[i], info[i] filled), 1 libjpeg error or warning, 2 unsupported (use the Python
// decoder). The GIL is released while decoding.
py::list decode_roi(const py::list& blobs, py::array out, py::array info, int size, int first,
                    int mode, int threshold, double k, double pad, int roi_denom,
                    int64_t max_pixels, int num_threads) {
    const int64_t n = (int64_t)blobs.size();
    require_dtype<uint8_t>(out, "out", "uint8");
    require_c_contiguous(out, "out");
    if (out.ndim() != 4 || out.shape(0) != n || out.shape(1) != 3 || out.shape(2) != size ||
        out.shape(3) != size || !out.writeable())
        throw py::value_error("out must be writable N x 3 x size x size, got " + shape_of(out));
    require_dtype<int32_t>(info, "info", "int32");
    require_c_contiguous(info, "info");
    if (info.ndim() != 2 || info.shape(0) != n || info.shape(1) != 8 || !info.writeable())
        throw py::value_error("info must be writable N x 8, got " + shape_of(info));
    if (size < 1 || size > kMaxSize || first < 1) throw py::value_error("bad size or first");
    if (roi_denom != 1 && roi_denom != 2 && roi_denom != 4 && roi_denom != 8)
        throw py::value_error("roi_denom must be 1, 2, 4 or 8");
    RoiDecodeParams p{};
    p.size = size;
    p.first = first;
    p.mode = mode < 0 ? -1 : mode;
    p.roi = mode < 0 ? RoiParams{GZ_MODE_CENTRAL, 0, 0.0, 0.0} : roi_params(mode, threshold, k, pad);
    p.roi_denom = roi_denom;
    p.max_pixels = max_pixels;
    std::vector<const uint8_t*> data(n);
    std::vector<size_t> lens(n);
    for (int64_t i = 0; i < n; ++i) {
        py::handle h = blobs[i];
        if (!PyBytes_Check(h.ptr())) throw py::type_error("blobs must be a list of bytes");
        data[i] = reinterpret_cast<const uint8_t*>(PyBytes_AS_STRING(h.ptr()));
        lens[i] = (size_t)PyBytes_GET_SIZE(h.ptr());
    }
    std::vector<int> status(n);
    std::vector<std::string> messages(n);
    uint8_t* o = static_cast<uint8_t*>(out.mutable_data());
    int32_t* q = static_cast<int32_t*>(info.mutable_data());
    {
        py::gil_scoped_release release;
        parallel_for(n, resolve_threads(num_threads, n), [&](int64_t i, int) {
            status[i] = decode_roi_one(data[i], lens[i], p, o + i * 3 * size * size, q + 8 * i,
                                       messages[i]);
        });
    }
    py::list result;
    for (int64_t i = 0; i < n; ++i) result.append(py::make_tuple(status[i], messages[i]));
    return result;
}
#endif

}  // namespace

PYBIND11_MODULE(_native, m) {
    m.doc() = "galaxyzoo CPU preprocessing backend (rules in csrc/gz_common.h)";
    m.def("find_roi", &find_roi, py::arg("images"), py::arg("mode"), py::arg("threshold"),
          py::arg("k"), py::arg("pad"), py::arg("boxes"), py::arg("num_threads") = 0,
          "Writes one (x0, y0, x1, y1) box per image into boxes (int32 N x 4).");
    m.def("crop_resize", &crop_resize, py::arg("images"), py::arg("boxes"), py::arg("out"),
          py::arg("size"), py::arg("rot") = py::none(), py::arg("flips") = py::none(),
          py::arg("interp") = 0, py::arg("gray") = false,
          py::arg("mean") = std::array<float, 3>{0, 0, 0},
          py::arg("std") = std::array<float, 3>{1, 1, 1}, py::arg("num_threads") = 0,
          "Resamples each box to size x size into out (float32 or uint8, N x C x S x S).");
    m.def("preprocess", &preprocess, py::arg("images"), py::arg("mode"), py::arg("threshold"),
          py::arg("k"), py::arg("pad"), py::arg("boxes"), py::arg("out"), py::arg("size"),
          py::arg("rot") = py::none(), py::arg("flips") = py::none(), py::arg("interp") = 0,
          py::arg("gray") = false, py::arg("mean") = std::array<float, 3>{0, 0, 0},
          py::arg("std") = std::array<float, 3>{1, 1, 1}, py::arg("num_threads") = 0,
          "find_roi then crop_resize per image, fused (boxes and out are outputs).");
#ifdef GZ_HAVE_LIBJPEG
    m.def("decode_roi", &decode_roi, py::arg("blobs"), py::arg("out"), py::arg("info"),
          py::arg("size"), py::arg("first"), py::arg("mode"), py::arg("threshold"),
          py::arg("k"), py::arg("pad"), py::arg("roi_denom") = 8,
          py::arg("max_pixels") = (int64_t)1 << 26, py::arg("num_threads") = 1,
          "JPEG bytes -> ROI crops decoding only the blocks under the ROI; one (status, "
          "message) per blob (0 ok, 1 libjpeg error, 2 unsupported). info: box on the "
          "decode, decoded (h, w), original (h, w).");
    m.attr("HAVE_LIBJPEG") = true;
#else
    m.attr("HAVE_LIBJPEG") = false;
#endif
    m.attr("MODE_SEED") = (int)GZ_MODE_SEED;
    m.attr("MODE_CENTRAL") = (int)GZ_MODE_CENTRAL;
    m.attr("INTERP_AREA") = (int)GZ_INTERP_AREA;
    m.attr("INTERP_BILINEAR") = (int)GZ_INTERP_BILINEAR;
    m.attr("HIST_STEP") = GZ_HIST_STEP;
    m.attr("AUTO_MIN_MARGIN") = GZ_AUTO_MIN_MARGIN;
}
