// Makes the device that owns an op's buffers current for the launches, restores it after.
// torch keeps its own idea of the current device; pointers from data_ptr() say where the
// data really is, so a tensor on cuda:1 works while cuda:0 is current. A host pointer (or
// buffers on different devices) is a clear error here rather than a fault in a kernel.
#pragma once
#include <cuda_runtime.h>

#include <initializer_list>
#include <stdexcept>
#include <string>

namespace gz::cuda {

class DeviceGuard {
public:
    DeviceGuard(std::initializer_list<const void*> buffers, const char* op) {
        int device = -1;
        for (const void* p : buffers) {
            if (!p) continue;
            cudaPointerAttributes attr{};
            const cudaError_t err = cudaPointerGetAttributes(&attr, p);
            if (err != cudaSuccess) {
                cudaGetLastError();
                throw std::runtime_error(std::string(op) + ": cannot inspect a buffer pointer (" +
                                         cudaGetErrorString(err) + ")");
            }
            if (attr.type != cudaMemoryTypeDevice && attr.type != cudaMemoryTypeManaged)
                throw std::invalid_argument(std::string(op) + ": buffer is not in CUDA device memory");
            if (device >= 0 && attr.device != device)
                throw std::invalid_argument(std::string(op) + ": buffers are on different CUDA devices");
            device = attr.device;
        }
        if (cudaGetDevice(&previous_) != cudaSuccess) {
            cudaGetLastError();
            throw std::runtime_error(std::string(op) + ": no CUDA device");
        }
        if (device >= 0 && device != previous_ && cudaSetDevice(device) != cudaSuccess) {
            cudaGetLastError();
            throw std::runtime_error(std::string(op) + ": cannot select CUDA device " + std::to_string(device));
        }
        restore_ = device >= 0 && device != previous_;
    }
    ~DeviceGuard() {
        if (restore_) cudaSetDevice(previous_);
    }
    DeviceGuard(const DeviceGuard&) = delete;
    DeviceGuard& operator=(const DeviceGuard&) = delete;

private:
    int previous_ = 0;
    bool restore_ = false;
};

}  // namespace gz::cuda
