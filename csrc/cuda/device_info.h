// What the CUDA backend needs to know before its first launch: is there a driver new enough
// for the runtime linked in, which devices, and can this build's kernels load on them.
// Never throws; every query returns a value or an error text.
#pragma once
#include <string>

namespace gz {
int cuda_device_count();       // devices visible to this module's runtime (0 without a usable driver)
int cuda_runtime_version();    // e.g. 13000 for CUDA 13.0 (the runtime linked into the module)
int cuda_driver_version();     // the CUDA version the driver supports, 0 without a driver
// "major.minor" of device d, or "" when it cannot be queried.
std::string cuda_device_capability(int device);
// "" when this build's kernels load on device d, else the runtime's reason (for example
// "no kernel image is available for execution on the device").
std::string cuda_kernel_image_error(int device);
// The CMAKE_CUDA_ARCHITECTURES this module was built for, e.g. "80-real 90".
const char* cuda_built_architectures();
}  // namespace gz
