#include <pybind11/pybind11.h>
#include "cuda/device_info.h"
namespace py = pybind11;
PYBIND11_MODULE(_native_cuda, m) {
    m.doc() = "galaxyzoo CUDA preprocessing backend";
    m.def("device_count", &gz::cuda_device_count, "CUDA devices visible (0 without a driver)");
}
