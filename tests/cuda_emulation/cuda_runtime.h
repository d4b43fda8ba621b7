// A CPU stand-in for the part of CUDA that csrc/cuda/*.cu uses, so that the real kernel and
// launcher code runs on a machine without a GPU (tests/test_ops_cuda.py builds it with g++).
//
// Each launch runs every block of the grid in turn with one OS thread per CUDA thread,
// all threads of a block at once: __syncthreads is a block barrier, warp intrinsics are a
// barrier over the 32 lanes of a warp, __shared__ is a static (blocks never overlap), and
// atomics are real atomics with random yields, so the union-find runs under true
// concurrency. What it cannot show: device memory-model effects (L1 staleness), -fmad and
// other code-generation differences, performance.
#pragma once

#include <barrier>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __restrict__ __restrict
#define __shared__ static

struct dim3 {
    unsigned x, y, z;
    constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

using cudaStream_t = struct CUstream_st*;
enum cudaError_t { cudaSuccess = 0, cudaErrorLaunchFailure = 719 };
enum cudaMemoryType { cudaMemoryTypeUnregistered, cudaMemoryTypeHost, cudaMemoryTypeDevice, cudaMemoryTypeManaged };
struct cudaPointerAttributes {
    cudaMemoryType type;
    int device;
    void* devicePointer;
    void* hostPointer;
};

namespace emu {

inline thread_local dim3 thread_idx, block_idx;
inline thread_local unsigned linear_tid;
inline dim3 block_dim, grid_dim;
inline cudaError_t last_error = cudaSuccess;

struct Warp {
    std::barrier<> bar{32};
    std::int64_t vals[32];
};

struct BlockSync {
    explicit BlockSync(unsigned threads) : block(threads), warps(threads / 32) {
        for (auto& w : warps) w = std::make_unique<Warp>();
    }
    std::barrier<> block;
    std::vector<std::unique_ptr<Warp>> warps;
};
inline BlockSync* sync = nullptr;

inline void maybe_yield() {
    thread_local std::minstd_rand rng(std::hash<std::thread::id>{}(std::this_thread::get_id()));
    if (rng() % 4 == 0) std::this_thread::yield();
}

// Every lane of the warp publishes v; f sees all 32 values and the caller's lane.
template <class F>
auto warp_collect(std::int64_t v, F f) {
    Warp& w = *sync->warps[linear_tid / 32];
    const unsigned lane = linear_tid % 32;
    w.vals[lane] = v;
    w.bar.arrive_and_wait();
    auto result = f(w.vals, lane);
    w.bar.arrive_and_wait();
    return result;
}

template <class T, class Op>
T warp_reduce(unsigned mask, T v, Op op) {
    return warp_collect(static_cast<std::int64_t>(v), [&](const std::int64_t* vals, unsigned) {
        bool any = false;
        T acc{};
        for (unsigned j = 0; j < 32; ++j)
            if (mask >> j & 1) {
                acc = any ? op(acc, static_cast<T>(vals[j])) : static_cast<T>(vals[j]);
                any = true;
            }
        return acc;
    });
}

inline void run(dim3 grid, dim3 block, const std::function<void()>& body) {
    const unsigned threads = block.x * block.y * block.z;
    if (threads == 0 || threads % 32 || threads > 1024) throw std::runtime_error("emulator: bad block size");
    grid_dim = grid;
    block_dim = block;
    BlockSync s(threads);
    sync = &s;
    std::barrier<> block_done(threads);
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
            linear_tid = t;
            thread_idx = dim3(t % block.x, t / block.x % block.y, t / (block.x * block.y));
            for (unsigned z = 0; z < grid.z; ++z)
                for (unsigned y = 0; y < grid.y; ++y)
                    for (unsigned x = 0; x < grid.x; ++x) {
                        block_idx = dim3(x, y, z);
                        body();
                        block_done.arrive_and_wait();
                    }
        });
    for (auto& th : pool) th.join();
    sync = nullptr;
}

template <class... P>
struct Launch {
    dim3 grid, block;
    void (*kernel)(P...);
    void operator()(P... args) const {
        if (grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.y > 65535 || grid.z > 65535) {
            last_error = cudaErrorLaunchFailure;
            return;
        }
        run(grid, block, [&] { kernel(args...); });
    }
};

template <class... P>
Launch<P...> launch(dim3 grid, dim3 block, void (*kernel)(P...)) {
    return {grid, block, kernel};
}

}  // namespace emu

#define GZ_LAUNCH(grid, block, stream, ...) ((void)(stream), ::emu::launch(dim3(grid), dim3(block), __VA_ARGS__))
#define threadIdx (::emu::thread_idx)
#define blockIdx (::emu::block_idx)
#define blockDim (::emu::block_dim)
#define gridDim (::emu::grid_dim)

inline void __syncthreads() { emu::sync->block.arrive_and_wait(); }

inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a < b ? b : a; }
inline int __popc(unsigned v) { return __builtin_popcount(v); }
inline int __ffs(int v) { return __builtin_ffs(v); }

template <class T>
T atomicAdd(T* p, T v) {
    emu::maybe_yield();
    return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
}

template <class T, class Better>
T atomic_update(T* p, T v, Better better) {
    emu::maybe_yield();
    T old = __atomic_load_n(p, __ATOMIC_SEQ_CST);
    while (better(v, old) && !__atomic_compare_exchange_n(p, &old, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
    }
    return old;
}
inline int atomicMin(int* p, int v) { return atomic_update(p, v, [](int a, int b) { return a < b; }); }
inline int atomicMax(int* p, int v) { return atomic_update(p, v, [](int a, int b) { return a > b; }); }

inline unsigned __match_any_sync(unsigned mask, int v) {
    return emu::warp_collect(v, [&](const std::int64_t* vals, unsigned lane) {
        unsigned m = 0;
        for (unsigned j = 0; j < 32; ++j)
            if ((mask >> j & 1) && vals[j] == vals[lane]) m |= 1u << j;
        return m;
    });
}
inline int __reduce_min_sync(unsigned mask, int v) { return emu::warp_reduce<int>(mask, v, [](int a, int b) { return a < b ? a : b; }); }
inline int __reduce_max_sync(unsigned mask, int v) { return emu::warp_reduce<int>(mask, v, [](int a, int b) { return a < b ? b : a; }); }
inline int __reduce_add_sync(unsigned mask, int v) { return emu::warp_reduce<int>(mask, v, [](int a, int b) { return a + b; }); }

inline cudaError_t cudaGetLastError() {
    const cudaError_t e = emu::last_error;
    emu::last_error = cudaSuccess;
    return e;
}
inline const char* cudaGetErrorString(cudaError_t e) { return e == cudaSuccess ? "no error" : "emulated launch failure"; }
inline cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* a, const void* p) {
    *a = cudaPointerAttributes{cudaMemoryTypeDevice, 0, const_cast<void*>(p), nullptr};
    return cudaSuccess;
}
inline cudaError_t cudaGetDevice(int* d) {
    *d = 0;
    return cudaSuccess;
}
inline cudaError_t cudaSetDevice(int) { return cudaSuccess; }
