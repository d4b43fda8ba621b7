#include <cuda_runtime.h>

#include "cuda/device_info.h"

#ifndef GZ_CUDA_ARCHS
#define GZ_CUDA_ARCHS "unknown"
#endif

namespace gz {
namespace {
// A kernel of this build, to ask the runtime whether the build has code for a device.
__global__ void probe_kernel(int* out) {
    if (out) *out = 1;
}
}  // namespace

int cuda_device_count() {
    // Without a driver cudaGetDeviceCount fails and leaves the count unset.
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError();
        return 0;
    }
    return n;
}

int cuda_runtime_version() {
    int v = 0;
    if (cudaRuntimeGetVersion(&v) != cudaSuccess) cudaGetLastError();
    return v;
}

int cuda_driver_version() {
    int v = 0;
    if (cudaDriverGetVersion(&v) != cudaSuccess) cudaGetLastError();
    return v;
}

std::string cuda_device_capability(int device) {
    int major = 0, minor = 0;
    if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) != cudaSuccess ||
        cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device) != cudaSuccess) {
        cudaGetLastError();
        return "";
    }
    return std::to_string(major) + "." + std::to_string(minor);
}

std::string cuda_kernel_image_error(int device) {
    int previous = 0;
    if (cudaGetDevice(&previous) != cudaSuccess) {
        const cudaError_t e = cudaGetLastError();
        return cudaGetErrorString(e);
    }
    if (cudaSetDevice(device) != cudaSuccess) {
        const cudaError_t e = cudaGetLastError();
        return cudaGetErrorString(e);
    }
    cudaFuncAttributes attr{};
    const cudaError_t err = cudaFuncGetAttributes(&attr, probe_kernel);
    if (err != cudaSuccess) cudaGetLastError();
    cudaSetDevice(previous);
    return err == cudaSuccess ? std::string() : std::string(cudaGetErrorString(err));
}

const char* cuda_built_architectures() { return GZ_CUDA_ARCHS; }
}  // namespace gz
