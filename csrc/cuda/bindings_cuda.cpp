// pybind11 bindings of the CUDA backend. No libtorch: galaxyzoo/ops.py passes raw device
// pointers (tensor.data_ptr()), shapes, byte strides and torch's current stream as ints, and
// allocates outputs and scratch with torch. Importing this module does not touch CUDA;
// the runtime starts on the first call. Launch-only: no allocation, no synchronisation.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>

#include <array>
#include <cstdint>

#include "cuda/crop_resize.h"
#include "cuda/device_info.h"
#include "cuda/find_roi.h"
#include "cuda/launch.h"
#include "gz_common.h"

namespace py = pybind11;

namespace {

template <class T>
T* device_ptr(std::uintptr_t p) { return reinterpret_cast<T*>(p); }

void find_roi(std::uintptr_t images, std::int64_t n, int h, int w, std::int64_t image_stride,
              std::int64_t row_stride, int mode, int threshold, double k, double pad, std::uintptr_t boxes,
              std::uintptr_t scratch, std::size_t scratch_bytes, std::uintptr_t stream) {
    gz::cuda::find_roi({device_ptr<const std::uint8_t>(images), n, h, w, image_stride, row_stride, mode, threshold,
                        k, pad, device_ptr<std::int32_t>(boxes), device_ptr<void>(scratch), scratch_bytes,
                        gz::cuda::as_stream(stream)});
}

void crop_resize(std::uintptr_t images, std::int64_t n, int h, int w, std::int64_t image_stride,
                 std::int64_t row_stride, std::uintptr_t boxes, std::uintptr_t out, int size, std::uintptr_t rot,
                 std::uintptr_t flips, int interp, int out_dtype, bool gray, const std::array<float, 3>& mean,
                 const std::array<float, 3>& std, std::uintptr_t stream) {
    gz::cuda::ResizeLaunch l{device_ptr<const std::uint8_t>(images),
                             n,
                             h,
                             w,
                             image_stride,
                             row_stride,
                             device_ptr<const std::int32_t>(boxes),
                             device_ptr<void>(out),
                             size,
                             device_ptr<const float>(rot),
                             device_ptr<const std::uint8_t>(flips),
                             interp,
                             out_dtype,
                             gray,
                             {mean[0], mean[1], mean[2]},
                             {std[0], std[1], std[2]},
                             gz::cuda::as_stream(stream)};
    gz::cuda::crop_resize(l);
}

}  // namespace

PYBIND11_MODULE(_native_cuda, m) {
    m.doc() = "galaxyzoo CUDA preprocessing backend (rules in csrc/gz_common.h)";
    m.def("device_count", &gz::cuda_device_count, "CUDA devices visible (0 without a driver; never raises).");
    m.def("runtime_version", &gz::cuda_runtime_version, "CUDA runtime linked into this module, e.g. 13000.");
    m.def("driver_version", &gz::cuda_driver_version, "CUDA version the driver supports (0 without a driver).");
    m.def("device_capability", &gz::cuda_device_capability, py::arg("device"),
          "'major.minor' of a device, or '' when it cannot be queried.");
    m.def("kernel_image_error", &gz::cuda_kernel_image_error, py::arg("device"),
          py::call_guard<py::gil_scoped_release>(),
          "'' when this build's kernels load on the device, else the runtime's reason.");
    m.attr("BUILT_ARCHITECTURES") = gz::cuda_built_architectures();
    m.def("find_roi_chunk_images", &gz::cuda::find_roi_chunk_images, py::arg("n"), py::arg("h"), py::arg("w"),
          "Images per chunk find_roi runs with scratch_bytes_find_roi(n, h, w) of scratch.");
    m.def("scratch_bytes_find_roi", &gz::cuda::find_roi_scratch_bytes, py::arg("n"), py::arg("h"), py::arg("w"),
          "Bytes of device scratch find_roi needs for n images of h x w.");
    m.def("find_roi", &find_roi, py::arg("images_ptr"), py::arg("n"), py::arg("h"), py::arg("w"),
          py::arg("image_stride"), py::arg("row_stride"), py::arg("mode"), py::arg("threshold"), py::arg("k"),
          py::arg("pad"), py::arg("boxes_ptr"), py::arg("scratch_ptr"), py::arg("scratch_bytes"), py::arg("stream"),
          py::call_guard<py::gil_scoped_release>(),
          "Enqueues find_roi on the stream: int32 (x0, y0, x1, y1) boxes into boxes_ptr (N x 4).");
    m.def("crop_resize", &crop_resize, py::arg("images_ptr"), py::arg("n"), py::arg("h"), py::arg("w"),
          py::arg("image_stride"), py::arg("row_stride"), py::arg("boxes_ptr"), py::arg("out_ptr"), py::arg("size"),
          py::arg("rot_ptr"), py::arg("flips_ptr"), py::arg("interp"), py::arg("out_dtype"), py::arg("gray"),
          py::arg("mean"), py::arg("std"), py::arg("stream"), py::call_guard<py::gil_scoped_release>(),
          "Enqueues crop_resize on the stream: N x C x S x S float32 or uint8 into out_ptr.");
    m.attr("MODE_SEED") = int(gz::GZ_MODE_SEED);
    m.attr("MODE_CENTRAL") = int(gz::GZ_MODE_CENTRAL);
    m.attr("INTERP_AREA") = int(gz::GZ_INTERP_AREA);
    m.attr("INTERP_BILINEAR") = int(gz::GZ_INTERP_BILINEAR);
    m.attr("OUT_FLOAT32") = int(gz::GZ_OUT_FLOAT32);
    m.attr("OUT_UINT8") = int(gz::GZ_OUT_UINT8);
    m.attr("MAX_SIDE") = gz::cuda::kMaxSide;
}
