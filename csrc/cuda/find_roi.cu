// find_roi on the GPU. Six kernels on the caller's stream, one image per grid z index (or
// per block for the per-image kernels), all working memory in the caller's scratch:
//   histogram       per-image grey histogram on the GZ_HIST_STEP grid (shared memory), then
//                   gz::auto_threshold on it by the same block (only with threshold = auto)
//   init            foreground bits of each 2x2 block, union-find parent = self (foreground)
//   merge           block union-find over 8-connectivity (ccl.cuh)
//   compress        parent = root; each root takes a slot in the image's root list and
//                   resets its statistics
//   stats           bbox / count / first pixel / centre distance per root (warp-aggregated
//                   atomics: a warp mostly lies in one component)
//   select          per image, the best root by gz::better_component -> gz::box_for
// Every rule (grey, threshold, choice, tie-breaks, box) comes from gz_common.h, so the boxes
// equal the CPU backend's.
//
// Memory is bounded: the scratch holds the working arrays of a chunk of images (at most
// kScratchBudget bytes' worth, at least one image), and find_roi() runs the six kernels once per
// chunk on the same stream, reusing the scratch (stream order makes that safe). A whole
// dataset's batch therefore needs ~kScratchBudget of scratch, not ~37 bytes per 2x2 block.
#include "cuda/find_roi.h"

#include <climits>
#include <cmath>
#include <stdexcept>

#include "cuda/ccl.cuh"
#include "cuda/device_guard.h"
#include "cuda/launch.h"
#include "gz_common.h"

namespace gz::cuda {
namespace {

using ccl::Grid;

// Per-root statistics; 32-bit fields so that warps can reduce them with __reduce_*_sync.
// Sides <= kMaxSide keep first (< 2^30) and dist2 (< 2^31) in range.
struct RootStats {
    int x0, y0, x1, y1;  // bbox, exclusive ends
    int count, first, dist2;
};

constexpr int kTileX = 32, kTileY = 8;  // a warp is 32 consecutive blocks of one block row
constexpr int kHistThreads = 256, kHistWarps = kHistThreads / 32;
constexpr int kSelectThreads = 256;     // power of two (tree reduction)
constexpr unsigned kFullMask = 0xffffffffu;

// Scratch: per image arrays, each section 256-byte aligned.
struct Scratch {
    int* thresholds;      // n
    int* nroots;          // n
    int* parent;          // n x blocks
    int* roots;           // n x blocks (first nroots[i] used)
    RootStats* stats;     // n x blocks (valid at roots)
    std::uint8_t* bits;   // n x blocks
};

constexpr std::size_t kAlign = 256;
// Scratch for one chunk of images: ~37 bytes per 2x2 block, so ~1.7 MB per 424 px image and
// ~77 such images per chunk.
constexpr std::size_t kScratchBudget = std::size_t(128) << 20;
std::size_t align_up(std::size_t v) { return (v + kAlign - 1) / kAlign * kAlign; }

// Section sizes in order; a null base only measures.
std::size_t layout(std::int64_t n, const Grid& g, char* base, Scratch* s) {
    const std::size_t nb = static_cast<std::size_t>(n) * static_cast<std::size_t>(g.blocks());
    const std::size_t sizes[] = {n * sizeof(int), n * sizeof(int), nb * sizeof(int), nb * sizeof(int),
                                 nb * sizeof(RootStats), nb};
    void** slots[] = {reinterpret_cast<void**>(&s->thresholds), reinterpret_cast<void**>(&s->nroots),
                      reinterpret_cast<void**>(&s->parent),     reinterpret_cast<void**>(&s->roots),
                      reinterpret_cast<void**>(&s->stats),      reinterpret_cast<void**>(&s->bits)};
    std::size_t off = 0;
    for (int i = 0; i < 6; ++i) {
        if (base) *slots[i] = base + off;
        off = align_up(off + sizes[i]);
    }
    return off + kAlign;  // slack to align an arbitrary base
}

__global__ void __launch_bounds__(kHistThreads)
    histogram_kernel(const std::uint8_t* __restrict__ images, std::int64_t n, int h, int w,
                     std::int64_t image_stride, std::int64_t row_stride, double k, int* __restrict__ thresholds) {
    // One sub-histogram per warp: sky pixels pile into a few bins.
    __shared__ std::uint32_t sub[kHistWarps][256];
    const int sw = (w + GZ_HIST_STEP - 1) / GZ_HIST_STEP, sh = (h + GZ_HIST_STEP - 1) / GZ_HIST_STEP;
    const int warp = threadIdx.x / 32;
    for (std::int64_t i = blockIdx.x; i < n; i += gridDim.x) {
        for (int t = threadIdx.x; t < kHistWarps * 256; t += blockDim.x) (&sub[0][0])[t] = 0;
        __syncthreads();
        const std::uint8_t* img = images + i * image_stride;
        for (int s = threadIdx.x; s < sw * sh; s += blockDim.x) {
            const int sy = s / sw, sx = s - sy * sw;
            const std::uint8_t* p =
                img + std::int64_t(sy) * GZ_HIST_STEP * row_stride + 3 * std::int64_t(sx) * GZ_HIST_STEP;
            atomicAdd(&sub[warp][gray_u8(p[0], p[1], p[2])], 1u);
        }
        __syncthreads();
        // Thread v sums column v into sub[0][v] (it alone touches column v), then one thread
        // applies the rule: a scan of 256 shared-memory bins, far cheaper than the sampling
        // above, and no histogram goes through device memory or a second launch.
        for (int v = threadIdx.x; v < 256; v += blockDim.x) {
            std::uint32_t total = 0;
            for (int j = 0; j < kHistWarps; ++j) total += sub[j][v];
            sub[0][v] = total;
        }
        __syncthreads();
        if (threadIdx.x == 0) thresholds[i] = auto_threshold(sub[0], k);
        __syncthreads();  // sub is cleared for the next image
    }
}

struct ImageArgs {
    const std::uint8_t* images;
    std::int64_t n, image_stride, row_stride;
};

__global__ void __launch_bounds__(kTileX * kTileY)
    init_kernel(ImageArgs a, Grid g, const int* __restrict__ thresholds, int fixed_threshold, Scratch s) {
    const int bx = blockIdx.x * blockDim.x + threadIdx.x, by = blockIdx.y * blockDim.y + threadIdx.y;
    const std::int64_t nb = g.blocks();
    for (std::int64_t i = blockIdx.z; i < a.n; i += gridDim.z) {
        if (bx == 0 && by == 0) s.nroots[i] = 0;
        if (bx >= g.bw || by >= g.bh) continue;
        const int threshold = thresholds ? thresholds[i] : fixed_threshold;
        const std::uint8_t* img = a.images + i * a.image_stride;
        std::uint8_t m = 0;
        for (int dy = 0; dy < 2; ++dy) {
            const int y = 2 * by + dy;
            if (y >= g.h) break;
            const std::uint8_t* row = img + y * a.row_stride;
            for (int dx = 0; dx < 2; ++dx) {
                const int x = 2 * bx + dx;
                if (x >= g.w) break;
                const std::uint8_t* p = row + 3 * x;
                if (is_foreground(p[0], p[1], p[2], threshold)) m |= std::uint8_t(1u << (2 * dy + dx));
            }
        }
        const int b = by * g.bw + bx;
        s.bits[i * nb + b] = m;
        if (m) s.parent[i * nb + b] = b;  // only foreground blocks ever join the forest
    }
}

__global__ void __launch_bounds__(kTileX * kTileY) merge_kernel(std::int64_t n, Grid g, Scratch s) {
    const int bx = blockIdx.x * blockDim.x + threadIdx.x, by = blockIdx.y * blockDim.y + threadIdx.y;
    if (bx >= g.bw || by >= g.bh) return;
    const std::int64_t nb = g.blocks();
    for (std::int64_t i = blockIdx.z; i < n; i += gridDim.z)
        ccl::merge_block(s.parent + i * nb, s.bits + i * nb, g, bx, by);
}

__global__ void __launch_bounds__(kTileX * kTileY) compress_kernel(std::int64_t n, Grid g, Scratch s) {
    const int bx = blockIdx.x * blockDim.x + threadIdx.x, by = blockIdx.y * blockDim.y + threadIdx.y;
    if (bx >= g.bw || by >= g.bh) return;
    const std::int64_t nb = g.blocks();
    const int b = by * g.bw + bx;
    for (std::int64_t i = blockIdx.z; i < n; i += gridDim.z) {
        if (!s.bits[i * nb + b]) continue;
        int* parent = s.parent + i * nb;
        const int r = ccl::find_root_halving(parent, b);
        // Other threads may be walking through b right now; both the old and the new parent
        // are ancestors with the same root, so the race is benign.
        parent[b] = r;
        if (r != b) continue;
        const int slot = atomicAdd(s.nroots + i, 1);
        s.roots[i * nb + slot] = b;
        s.stats[i * nb + b] = RootStats{INT_MAX, INT_MAX, 0, 0, 0, INT_MAX, INT_MAX};
    }
}

__global__ void __launch_bounds__(kTileX * kTileY) stats_kernel(std::int64_t n, Grid g, Scratch s) {
    // No early exit: every lane of the warp must reach the *_sync intrinsics below.
    const int bx = blockIdx.x * blockDim.x + threadIdx.x, by = blockIdx.y * blockDim.y + threadIdx.y;
    const bool inside = bx < g.bw && by < g.bh;
    const std::int64_t nb = g.blocks();
    const int b = by * g.bw + bx;
    const unsigned lane = threadIdx.x % 32;  // blockDim.x == 32: a warp is one tile row
    for (std::int64_t i = blockIdx.z; i < n; i += gridDim.z) {
        int root = -1;
        RootStats t{INT_MAX, INT_MAX, 0, 0, 0, INT_MAX, INT_MAX};
        const std::uint8_t m = inside ? s.bits[i * nb + b] : 0;
        if (m) {
            root = s.parent[i * nb + b];
            for (int q = 0; q < 4; ++q) {
                if (!(m >> q & 1)) continue;
                const int x = 2 * bx + (q & 1), y = 2 * by + (q >> 1);
                t.x0 = min(t.x0, x);
                t.y0 = min(t.y0, y);
                t.x1 = max(t.x1, x + 1);
                t.y1 = max(t.y1, y + 1);
                t.first = min(t.first, y * g.w + x);
                t.dist2 = min(t.dist2, static_cast<int>(centre_dist2(x, y, g.w, g.h)));
            }
            t.count = __popc(m);
        }
        const unsigned group = __match_any_sync(kFullMask, root);
        t.x0 = __reduce_min_sync(group, t.x0);
        t.y0 = __reduce_min_sync(group, t.y0);
        t.x1 = __reduce_max_sync(group, t.x1);
        t.y1 = __reduce_max_sync(group, t.y1);
        t.count = __reduce_add_sync(group, t.count);
        t.first = __reduce_min_sync(group, t.first);
        t.dist2 = __reduce_min_sync(group, t.dist2);
        if (root < 0 || lane != static_cast<unsigned>(__ffs(group) - 1)) continue;
        RootStats* r = s.stats + i * nb + root;
        atomicMin(&r->x0, t.x0);
        atomicMin(&r->y0, t.y0);
        atomicMax(&r->x1, t.x1);
        atomicMax(&r->y1, t.y1);
        atomicAdd(&r->count, t.count);
        atomicMin(&r->first, t.first);
        atomicMin(&r->dist2, t.dist2);
    }
}

__global__ void __launch_bounds__(kSelectThreads)
    select_kernel(std::int64_t n, Grid g, Scratch s, int mode, double pad, std::int32_t* __restrict__ boxes) {
    __shared__ Component best[kSelectThreads];
    __shared__ bool found[kSelectThreads];
    const int tid = threadIdx.x;
    const std::int64_t nb = g.blocks();
    for (std::int64_t i = blockIdx.x; i < n; i += gridDim.x) {
        const int count = s.nroots[i];
        Component mine{};
        bool have = false;
        for (int slot = tid; slot < count; slot += blockDim.x) {
            const RootStats& r = s.stats[i * nb + s.roots[i * nb + slot]];
            const Component c{r.x0, r.y0, r.x1, r.y1, r.count, r.first, r.dist2};
            if (!have || better_component(c, mine, mode)) mine = c;
            have = true;
        }
        best[tid] = mine;
        found[tid] = have;
        __syncthreads();
        // better_component is a strict total order (the first pixel is unique), so the tree
        // finds the same component as the CPU's sequential scan.
        for (int half = blockDim.x / 2; half > 0; half /= 2) {
            if (tid < half && found[tid + half] &&
                (!found[tid] || better_component(best[tid + half], best[tid], mode))) {
                best[tid] = best[tid + half];
                found[tid] = true;
            }
            __syncthreads();
        }
        if (tid == 0) {
            const Box box = box_for(found[0] ? &best[0] : nullptr, mode, g.w, g.h, pad);
            std::int32_t* out = boxes + 4 * i;
            out[0] = box.x0;
            out[1] = box.y0;
            out[2] = box.x1;
            out[3] = box.y1;
        }
        __syncthreads();  // best/found are reused for the next image
    }
}

std::size_t scratch_for(std::int64_t m, const Grid& g) {
    Scratch unused{};
    return layout(m, g, nullptr, &unused);
}

// Images per chunk that fit in `bytes` of scratch (0 when not even one does); at most n.
std::int64_t chunk_images(std::int64_t n, const Grid& g, std::size_t bytes) {
    if (scratch_for(1, g) > bytes) return 0;
    std::int64_t lo = 1, hi = n;  // scratch_for is increasing in m
    while (lo < hi) {
        const std::int64_t mid = hi - (hi - lo) / 2;
        if (scratch_for(mid, g) <= bytes) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

void validate(const RoiLaunch& l) {
    if (l.n < 1) throw std::invalid_argument("find_roi: empty batch");
    if (l.h < 1 || l.w < 1) throw std::invalid_argument("find_roi: zero-size images");
    if (l.h > kMaxSide || l.w > kMaxSide)
        throw std::invalid_argument("find_roi: image sides are limited to " + std::to_string(kMaxSide));
    if (l.mode != GZ_MODE_SEED && l.mode != GZ_MODE_CENTRAL)
        throw std::invalid_argument("find_roi: unknown mode " + std::to_string(l.mode));
    if (l.threshold < -1 || l.threshold > 255)
        throw std::invalid_argument("find_roi: threshold must be 0..255 or -1 (auto)");
    if (!std::isfinite(l.k) || l.k < 0) throw std::invalid_argument("find_roi: k must be finite and >= 0");
    // As on the CPU: keeps floor(pad * side) far from int overflow in the box rule.
    if (!std::isfinite(l.pad) || l.pad < 0 || l.pad > 10)
        throw std::invalid_argument("find_roi: pad must be a fraction in [0, 10]");
    // Strides of size-1 dimensions are never used (torch leaves them arbitrary).
    if ((l.h > 1 && l.row_stride < 3 * std::int64_t(l.w)) ||
        (l.n > 1 && l.image_stride < (l.h - 1) * l.row_stride + 3 * l.w))
        throw std::invalid_argument("find_roi: strides do not describe an N x H x W x 3 layout");
    if (!l.images || !l.boxes || !l.scratch) throw std::invalid_argument("find_roi: null device pointer");
    if (reinterpret_cast<std::uintptr_t>(l.boxes) % alignof(std::int32_t))
        throw std::invalid_argument("find_roi: boxes are not int32-aligned");
    // Any scratch that holds one image works (the batch runs in chunks); the size returned by
    // scratch_bytes_find_roi() is the recommended one.
    if (chunk_images(l.n, ccl::make_grid(l.h, l.w), l.scratch_bytes) < 1)
        throw std::invalid_argument("find_roi: scratch smaller than scratch_bytes_find_roi() for one image");
}

}  // namespace

std::int64_t find_roi_chunk_images(std::int64_t n, int h, int w) {
    if (n < 1 || h < 1 || w < 1 || h > kMaxSide || w > kMaxSide)
        throw std::invalid_argument("scratch_bytes_find_roi: need n >= 1 and 1 <= h, w <= " +
                                    std::to_string(kMaxSide));
    if (n > std::int64_t(1) << 40) throw std::invalid_argument("scratch_bytes_find_roi: batch too large");
    const Grid g = ccl::make_grid(h, w);
    const std::int64_t m = chunk_images(n, g, kScratchBudget);
    return m < 1 ? 1 : m;
}

std::size_t find_roi_scratch_bytes(std::int64_t n, int h, int w) {
    return scratch_for(find_roi_chunk_images(n, h, w), ccl::make_grid(h, w));
}

namespace {

// The six kernels over images [0, n) of one chunk; s is laid out for at least n images.
void launch_chunk(const RoiLaunch& l, const std::uint8_t* images, std::int64_t n, std::int32_t* boxes,
                  const Grid& g, const Scratch& s) {
    const ImageArgs a{images, n, l.image_stride, l.row_stride};
    const unsigned per_image = static_cast<unsigned>(n < INT_MAX ? n : INT_MAX);
    if (l.threshold < 0) {
        GZ_LAUNCH(per_image, kHistThreads, l.stream, histogram_kernel)(images, n, l.h, l.w, l.image_stride,
                                                                  l.row_stride, l.k, s.thresholds);
        check_launch("find_roi histogram");
    }
    const dim3 tile(kTileX, kTileY);
    const dim3 grid(ceil_div(g.bw, kTileX), ceil_div(g.bh, kTileY), grid_z(n));
    GZ_LAUNCH(grid, tile, l.stream, init_kernel)(a, g, l.threshold < 0 ? s.thresholds : nullptr, l.threshold, s);
    check_launch("find_roi init");
    GZ_LAUNCH(grid, tile, l.stream, merge_kernel)(n, g, s);
    check_launch("find_roi merge");
    GZ_LAUNCH(grid, tile, l.stream, compress_kernel)(n, g, s);
    check_launch("find_roi compress");
    GZ_LAUNCH(grid, tile, l.stream, stats_kernel)(n, g, s);
    check_launch("find_roi stats");
    GZ_LAUNCH(per_image, kSelectThreads, l.stream, select_kernel)(n, g, s, l.mode, l.pad, boxes);
    check_launch("find_roi select");
}

}  // namespace

void find_roi(const RoiLaunch& l) {
    validate(l);
    DeviceGuard device({l.images, l.boxes, l.scratch}, "find_roi");
    const Grid g = ccl::make_grid(l.h, l.w);
    const std::uintptr_t raw = reinterpret_cast<std::uintptr_t>(l.scratch);
    char* base = reinterpret_cast<char*>((raw + kAlign - 1) / kAlign * kAlign);
    // Alignment slack is part of every layout, so the aligned base fits what chunk_images counted.
    const std::int64_t chunk = chunk_images(l.n, g, l.scratch_bytes);
    Scratch s{};
    layout(chunk, g, base, &s);
    for (std::int64_t first = 0; first < l.n; first += chunk) {
        const std::int64_t m = l.n - first < chunk ? l.n - first : chunk;
        launch_chunk(l, l.images + first * l.image_stride, m, l.boxes + 4 * first, g, s);
    }
}

}  // namespace gz::cuda
