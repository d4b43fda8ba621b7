// Batch parallelism for the CPU backend: images are independent, so a shared atomic
// counter hands out image indices to num_threads std::threads (dynamic scheduling copes
// with images of very different cost, e.g. rotated vs not). The first exception thrown by
// any worker is rethrown on the caller's thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace gz {

inline int resolve_threads(int requested, int64_t n_items) {
    int t = requested > 0 ? requested : (int)std::max(1u, std::thread::hardware_concurrency());
    return (int)std::max<int64_t>(1, std::min<int64_t>(t, n_items));
}

// fn(item, worker) for item in [0, n); worker in [0, threads) indexes per-thread scratch.
template <class Fn>
void parallel_for(int64_t n, int threads, Fn&& fn) {
    if (threads <= 1) {
        for (int64_t i = 0; i < n; ++i) fn(i, 0);
        return;
    }
    std::atomic<int64_t> next{0};
    std::exception_ptr error;
    std::mutex error_mutex;
    auto work = [&](int worker) {
        try {
            for (int64_t i = next++; i < n; i = next++) fn(i, worker);
        } catch (...) {
            std::lock_guard<std::mutex> lock(error_mutex);
            if (!error) error = std::current_exception();
            next = n;
        }
    };
    std::vector<std::thread> pool;
    pool.reserve(threads - 1);
    for (int w = 1; w < threads; ++w) pool.emplace_back(work, w);
    work(0);
    for (auto& t : pool) t.join();
    if (error) std::rethrow_exception(error);
}

}  // namespace gz
