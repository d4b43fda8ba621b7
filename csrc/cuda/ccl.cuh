// Batched 8-connected component labelling: block-based union-find (Allegretti, Bolelli and
// Grana 2019, "BUF"), with the atomicMin union of Playne and Hawick 2018.
//
// Each image is split into 2x2 pixel blocks. Any two foreground pixels of a 2x2 block are
// 8-adjacent, so a block is one node of the union-find forest; that quarters the nodes and
// the atomics. Node index = block raster index b = by * bw + bx (same order as the raster
// index of the block's top-left pixel). A node's parent always has a smaller index, so the
// forest stays acyclic and each component's root is its first block in raster order.
//
// Kernels (one image per grid z index, grid-stride over z for huge batches):
//   init     foreground bits of each block, parent = self
//   merge    union with the up-left, up, up-right and left neighbour blocks when connected
//   compress parent = root for every foreground block
// Kernel boundaries on one stream order the phases; no device-wide sync is needed.
#pragma once
#include <cstdint>

namespace gz::cuda::ccl {

// Bit k of a block's mask is pixel (2bx + (k & 1), 2by + (k >> 1)).
constexpr std::uint8_t kTopRow = 0b0011, kBottomRow = 0b1100, kLeftCol = 0b0101, kRightCol = 0b1010;
constexpr std::uint8_t kTopLeft = 0b0001, kTopRight = 0b0010, kBottomLeft = 0b0100, kBottomRight = 0b1000;

struct Grid {
    int h, w;    // image size in pixels
    int bh, bw;  // size in 2x2 blocks
    __host__ __device__ std::int64_t blocks() const { return std::int64_t(bh) * bw; }
};

__host__ __device__ inline Grid make_grid(int h, int w) { return {h, w, (h + 1) / 2, (w + 1) / 2}; }

// Reports the length of one root walk; the CPU emulator (tests/cuda_emulation/) defines it to
// measure the longest walk. Nothing on a device (the counter is optimised away).
#ifndef GZ_CCL_WALK
#define GZ_CCL_WALK(steps) ((void)(steps))
#endif

// Root of node n. Parents are read while other threads relink them: any value read is a past
// parent, which is an ancestor with a smaller index, so the walk ends and a stale answer is
// only ever repaired by the atomicMin retry in unite().
__device__ inline int find_root(const int* parent, int n) {
    int p = parent[n], steps = 0;
    while (p != n) {
        ++steps;
        n = p;
        p = parent[n];
    }
    GZ_CCL_WALK(steps);
    return n;
}

// find_root with path halving: each visited node is relinked to its grandparent, so repeated
// walks over a long chain (merge order is arbitrary: with blocks scheduled in reverse, one
// 424 px spiral built a 7,893-step chain) shorten it geometrically. The plain store races
// with other threads' stores and atomicMin on the same node, and is still safe: any value
// stored or read is an ancestor of the node (smaller index, same tree), so the forest stays
// acyclic and every root keeps its component; an atomicMin link that the store overwrites
// belonged to a union whose retry (unite(), b = old) re-joins the same two trees anyway.
__device__ inline int find_root_halving(int* parent, int n) {
    for (int steps = 1;; ++steps) {
        const int p = parent[n];
        if (p == n) {
            GZ_CCL_WALK(steps - 1);
            return n;
        }
        const int gp = parent[p];
        if (gp == p) {
            GZ_CCL_WALK(steps);
            return p;
        }
#ifndef GZ_CCL_NO_HALVING  // the emulator's "before" build, to show what halving buys
        parent[n] = gp;
#endif
        n = gp;
    }
}

// Link the roots of a and b, the larger index under the smaller. atomicMin returns the
// parent it found: if that was not the node itself, another thread linked it first, so retry
// from there. a + b decreases on every retry, so the loop ends.
__device__ inline void unite(int* parent, int a, int b) {
    for (;;) {
        a = find_root_halving(parent, a);
        b = find_root_halving(parent, b);
        if (a == b) return;
        if (a > b) {
            int t = a;
            a = b;
            b = t;
        }
        const int old = atomicMin(parent + b, a);
        if (old == b) return;
        b = old;
    }
}

// Merge one foreground block with its four backward neighbours (the forward four merge with it).
__device__ inline void merge_block(int* parent, const std::uint8_t* bits, const Grid& g, int bx, int by) {
    const int b = by * g.bw + bx;
    const std::uint8_t m = bits[b];
    if (!m) return;
    if (bx > 0 && (m & kLeftCol) && (bits[b - 1] & kRightCol)) unite(parent, b, b - 1);
    if (by > 0) {
        const int u = b - g.bw;
        if ((m & kTopRow) && (bits[u] & kBottomRow)) unite(parent, b, u);
        if (bx > 0 && (m & kTopLeft) && (bits[u - 1] & kBottomRight)) unite(parent, b, u - 1);
        if (bx + 1 < g.bw && (m & kTopRight) && (bits[u + 1] & kBottomLeft)) unite(parent, b, u + 1);
    }
}

}  // namespace gz::cuda::ccl
