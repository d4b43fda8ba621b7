// A CPU stand-in for the part of CUDA that csrc/cuda/*.cu uses, so that the real kernel and
// launcher code runs on a machine without a GPU (tests/test_ops_cuda.py builds it with g++).
//
// One OS thread per CUDA thread. Blocks run CONCURRENTLY: a launch starts `slots` copies of
// the block's threads (emu::config), slot s running blocks order[s], order[s + slots], ... of
// the grid in the configured order (forward, reverse or a seeded shuffle), so the threads of
// different blocks interleave as on a device and inter-block races (union-find links across
// tile borders, atomics on shared statistics) really happen. Kernels that use block barriers
// (__syncthreads, i.e. __shared__ memory, which is a plain static here) are detected on the
// first block and run one block at a time instead. Warp intrinsics are a barrier over the 32
// lanes of a warp of the thread's own slot; atomics are real atomics with random yields.
// What it cannot show: device memory-model effects (L1 staleness), -fmad and other
// code-generation differences, performance.
#pragma once

#include <algorithm>
#include <atomic>
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

// Block scheduling, set through gz_emu_configure (emulate.cpp).
enum Order { kForward = 0, kReverse = 1, kShuffled = 2 };
struct Config {
    unsigned slots = 4;  // blocks in flight at once
    int order = kShuffled;
    unsigned seed = 1;
};
inline Config config;

// Statistics of the last launches (reset by gz_emu_reset_stats).
inline std::atomic<long long> walk_max{0}, walk_total{0}, walks{0};
inline std::atomic<long long> concurrent_launches{0}, serial_launches{0};
// crop_resize: tiles per path (crop_stage.cuh's TileKind) and whether staged, and staged
// reads outside the staged region.
inline std::atomic<long long> crop_tiles[4][2] = {}, staged_misses{0};
inline thread_local bool used_block_barrier = false;

inline void record_walk(long long steps) {
    walks.fetch_add(1, std::memory_order_relaxed);
    walk_total.fetch_add(steps, std::memory_order_relaxed);
    long long m = walk_max.load(std::memory_order_relaxed);
    while (steps > m && !walk_max.compare_exchange_weak(m, steps)) {
    }
}

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
inline thread_local BlockSync* sync = nullptr;

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

inline std::vector<dim3> block_order(dim3 grid) {
    std::vector<dim3> order;
    order.reserve(std::size_t(grid.x) * grid.y * grid.z);
    for (unsigned z = 0; z < grid.z; ++z)
        for (unsigned y = 0; y < grid.y; ++y)
            for (unsigned x = 0; x < grid.x; ++x) order.emplace_back(x, y, z);
    if (config.order == kReverse) std::reverse(order.begin(), order.end());
    if (config.order == kShuffled) std::shuffle(order.begin(), order.end(), std::mt19937(config.seed));
    return order;
}

// Starts `threads` OS threads (into pool) that run blocks[first], blocks[first + step], ...
// before `last`; with a block barrier after each block when `barrier` (serial mode), none
// otherwise. *used becomes true when any of them called __syncthreads.
inline void run_slot(const std::vector<dim3>& blocks, std::size_t first, std::size_t step, std::size_t last,
                     unsigned threads, bool barrier, const std::function<void()>& body, std::vector<std::thread>& pool,
                     std::shared_ptr<std::atomic<bool>> used) {
    auto s = std::make_shared<BlockSync>(threads);
    const dim3 block = block_dim;
    for (unsigned t = 0; t < threads; ++t)
        pool.emplace_back([=, &blocks, &body] {
            linear_tid = t;
            sync = s.get();
            used_block_barrier = false;
            thread_idx = dim3(t % block.x, t / block.x % block.y, t / (block.x * block.y));
            for (std::size_t b = first; b < last; b += step) {
                block_idx = blocks[b];
                body();
                if (barrier) s->block.arrive_and_wait();
            }
            if (used_block_barrier) used->store(true);
            sync = nullptr;
        });
}

inline void run(dim3 grid, dim3 block, const std::function<void()>& body) {
    const unsigned threads = block.x * block.y * block.z;
    if (threads == 0 || threads % 32 || threads > 1024) throw std::runtime_error("emulator: bad block size");
    grid_dim = grid;
    block_dim = block;
    const std::vector<dim3> blocks = block_order(grid);
    auto used = std::make_shared<std::atomic<bool>>(false);
    {  // The first block alone: does the kernel use block barriers (and so __shared__)?
        std::vector<std::thread> pool;
        run_slot(blocks, 0, 1, 1, threads, true, body, pool, used);
        for (auto& th : pool) th.join();
    }
    const bool serial = used->load() || config.slots <= 1 || blocks.size() <= 2;
    (serial ? serial_launches : concurrent_launches).fetch_add(1);
    std::vector<std::thread> pool;
    if (serial) {
        run_slot(blocks, 1, 1, blocks.size(), threads, true, body, pool, used);
    } else {
        const std::size_t slots = std::min<std::size_t>(config.slots, blocks.size() - 1);
        for (std::size_t s = 0; s < slots; ++s)
            run_slot(blocks, 1 + s, slots, blocks.size(), threads, false, body, pool, used);
    }
    for (auto& th : pool) th.join();
    if (!serial && used->load()) throw std::runtime_error("emulator: a kernel used __syncthreads after its first block did not");
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

inline void __syncthreads() {
    emu::used_block_barrier = true;
    emu::sync->block.arrive_and_wait();
}

#define GZ_CCL_WALK(steps) ::emu::record_walk(steps)
#define GZ_CROP_TILE(kind, staged) (void)::emu::crop_tiles[kind][staged].fetch_add(1)
#define GZ_CROP_STAGED_READ(inside) ((inside) ? (void)0 : (void)::emu::staged_misses.fetch_add(1))

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
