// Host-side helpers shared by the CUDA ops: stream handles from Python ints, launch checks.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace gz::cuda {

// torch.cuda.current_stream().cuda_stream is the cudaStream_t value as a Python int.
inline cudaStream_t as_stream(std::uintptr_t handle) { return reinterpret_cast<cudaStream_t>(handle); }

// Launch errors are reported by the runtime asynchronously; peek right after each launch so a
// bad configuration becomes a Python exception instead of a silently missing result. No sync.
inline void check_launch(const char* what) {
    cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess)
        throw std::runtime_error(std::string("galaxyzoo CUDA ") + what + ": " + cudaGetErrorString(err));
}

// kernel<<<grid, block, 0, stream>>>, spelled as a macro so that tests can run the same host
// and kernel code through a CPU emulator (tests/cuda_emulation/), where it is a function call.
#ifndef GZ_LAUNCH
#define GZ_LAUNCH(grid, block, stream, ...) __VA_ARGS__<<<(grid), (block), 0, (stream)>>>
#endif

inline unsigned ceil_div(std::int64_t a, std::int64_t b) { return static_cast<unsigned>((a + b - 1) / b); }

// Largest image side, as on the CPU. It keeps every per-image index and the squared centre
// distance of find_roi below 2^31, so its statistics are int32.
constexpr int kMaxSide = 32768;

// Images beyond gridDim.z are covered by grid-stride loops inside the kernels.
constexpr unsigned kMaxGridZ = 65535;
inline unsigned grid_z(std::int64_t n) { return static_cast<unsigned>(n < kMaxGridZ ? n : kMaxGridZ); }

}  // namespace gz::cuda
