#include <cuda_runtime.h>
#include "cuda/device_info.h"

namespace gz {
int cuda_device_count() {
    // Without a driver cudaGetDeviceCount fails and leaves the count unset.
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError();
        return 0;
    }
    return n;
}
}  // namespace gz
