// find_roi: grey rows (AVX2), foreground bits by comparison, runs from the bit edges,
// union-find over the runs (8-connectivity), per-component statistics in one pass over the
// runs, then the choice and box rules of gz_common.h.
#include "cpu/find_roi.h"

#include <string.h>

#include "cpu/gray.h"
#include "cpu/parallel.h"

namespace gz {
namespace {

// Inlined into find_roi_one so they are compiled for each of its target clones (popcnt,
// tzcnt with x86-64-v3).
#if defined(__GNUC__)
#define GZ_INLINE inline __attribute__((always_inline))
#else
#define GZ_INLINE inline
#endif

// The runs of a packed row. Every set bit of m ^ (m << 1) is an edge, and edges alternate
// start, end, ...; the edge positions are flattened eight per word without branching (a
// word rarely has more), so noisy rows cost no mispredicted branches. `pos` needs room for
// 64 * nwords + 8 entries.
GZ_INLINE int extract_runs(const uint64_t* bits, int nwords, int y, int* pos, Run* out) {
    int n = 0;
    uint64_t carry = 0;  // last bit of the previous word
    for (int j = 0; j < nwords; ++j) {
        const uint64_t m = bits[j];
        uint64_t edges = m ^ ((m << 1) | carry);
        carry = m >> 63;
        const int count = __builtin_popcountll(edges);
        int* p = pos + n;
        // Entries past `count` are scratch (bit 63 keeps ctz defined once edges run out).
        for (int k = 0; k < 8; ++k) {
            p[k] = 64 * j + __builtin_ctzll(edges | (1ull << 63));
            edges &= edges - 1;
        }
        for (int k = 8; k < count; ++k) {
            p[k] = 64 * j + __builtin_ctzll(edges);
            edges &= edges - 1;
        }
        n += count;
    }
    if (n & 1) pos[n++] = 64 * nwords;  // a run reaching the (zero-padded) end
    for (int i = 0; i < n / 2; ++i) out[i] = Run{pos[2 * i], pos[2 * i + 1], y, 0};
    return n / 2;
}

GZ_INLINE int find_root(Run* runs, int i) {
    // New runs point straight at a root, so nearly every lookup ends within two links:
    // take them without a loop (a loop exit here mispredicts on noisy skies).
    i = runs[runs[i].parent].parent;
    while (runs[i].parent != i) {
        runs[i].parent = runs[runs[i].parent].parent;  // path halving
        i = runs[i].parent;
    }
    return i;
}

// Links the runs [cur, end) of a row to their 8-adjacent runs [prev, cur) of the row above.
// A new run takes the root of its first neighbour as parent; each further neighbour's root
// is merged, the smaller index staying root, so a root is always its component's first run.
GZ_INLINE void connect_rows(Run* runs, int prev, int cur, int end) {
    int j = prev;
    for (int i = cur; i < end; ++i) {
        const int xs = runs[i].xs, xe = runs[i].xe;
        while (j < cur && runs[j].xe < xs) ++j;  // ends left of xs - 1: no contact
        int root = i;
        for (int k = j; k < cur && runs[k].xs <= xe; ++k) {
            const int r = find_root(runs, k);
            if (root == i) root = r;
            else if (r < root) runs[root].parent = r, root = r;
            else if (root < r) runs[r].parent = root;
        }
        runs[i].parent = root;
    }
}

// The auto threshold from the grey image (rows of `stride` bytes).
int auto_threshold_of(const uint8_t* gray, int h, int w, int64_t stride, double k) {
    // Four interleaved histograms: sky pixels pile into a few bins, and one counter array
    // would serialise on store-to-load forwarding.
    uint32_t sub[4][256] = {};
    for (int y = 0; y < h; y += GZ_HIST_STEP) {
        const uint8_t* row = gray + y * stride;
        int x = 0;
        for (; x + 3 * GZ_HIST_STEP < w; x += 4 * GZ_HIST_STEP) {
            ++sub[0][row[x]];
            ++sub[1][row[x + GZ_HIST_STEP]];
            ++sub[2][row[x + 2 * GZ_HIST_STEP]];
            ++sub[3][row[x + 3 * GZ_HIST_STEP]];
        }
        for (; x < w; x += GZ_HIST_STEP) ++sub[0][row[x]];
    }
    uint32_t hist[256];
    for (int v = 0; v < 256; ++v) hist[v] = sub[0][v] + sub[1][v] + sub[2][v] + sub[3][v];
    return auto_threshold(hist, k);
}

}  // namespace

GZ_MULTIVERSION Box find_roi_one(const uint8_t* img, int h, int w, int64_t row_stride,
                                 const RoiParams& p, RoiWorkspace& ws) {
    // Grey rows padded with zeros (background for any threshold) to whole 64-bit words.
    const int nwords = (w + 63) / 64;
    const int64_t stride = 64 * (int64_t)nwords;
    // All grey rows first: a streaming pass the prefetchers keep up with (interleaving it
    // with the branchy run code below stalls on memory), and the auto threshold needs them.
    ws.gray.resize(h * stride);
    for (int y = 0; y < h; ++y) {
        uint8_t* row = ws.gray.data() + y * stride;
        gray_row(img + (int64_t)y * row_stride, w, row);
        memset(row + w, 0, stride - w);
    }
    const int threshold =
        p.threshold >= 0 ? p.threshold : auto_threshold_of(ws.gray.data(), h, w, stride, p.k);
    if (threshold >= 255) return whole_image(w, h);

    ws.bits.resize(nwords);
    ws.edges.resize(64 * (size_t)nwords + 8);
    const size_t row_max = (w + 1) / 2;  // runs one row can add
    if (ws.runs.size() < 64 * row_max) ws.runs.resize(64 * row_max);
    Run* runs = ws.runs.data();
    int n = 0, prev = 0;
    for (int y = 0; y < h; ++y) {
        if (ws.runs.size() < n + row_max) {  // grows geometrically, so rarely
            ws.runs.resize(2 * ws.runs.size() + row_max);
            runs = ws.runs.data();
        }
        threshold_bits(ws.gray.data() + y * stride, nwords, threshold, ws.bits.data());
        const int added = extract_runs(ws.bits.data(), nwords, y, ws.edges.data(), runs + n);
        connect_rows(runs, prev, n, n + added);
        prev = n;
        n += added;
    }
    if (n == 0) return whole_image(w, h);

    // Component statistics in one pass: a run's parent always has a smaller index, so the
    // parent's label is known when the run is reached.
    if (ws.label.size() < (size_t)n) ws.label.resize(n), ws.comps.resize(n);
    int* label = ws.label.data();
    Component* comps = ws.comps.data();
    int ncomp = 0;
    const bool central = p.mode == GZ_MODE_CENTRAL;
    for (int i = 0; i < n; ++i) {
        const Run& r = runs[i];
        const int64_t d2 = central ? run_dist2(r.xs, r.xe, r.y, w, h) : 0;
        if (r.parent == i) {
            label[i] = ncomp;
            comps[ncomp++] =
                Component{r.xs, r.y, r.xe, r.y + 1, r.xe - r.xs, (int64_t)r.y * w + r.xs, d2};
            continue;
        }
        Component& c = comps[label[i] = label[r.parent]];
        c.x0 = gz_min(c.x0, r.xs);
        c.x1 = gz_max(c.x1, r.xe);
        c.y1 = r.y + 1;  // runs arrive in increasing y
        c.count += r.xe - r.xs;
        c.dist2 = gz_min(c.dist2, d2);
    }
    const Component* best = &comps[0];
    for (int c = 1; c < ncomp; ++c)
        if (better_component(comps[c], *best, p.mode)) best = &comps[c];
    return box_for(best, p.mode, w, h, p.pad);
}

void find_roi_batch(const ImageBatch& images, const RoiParams& p, int32_t* boxes, int threads) {
    threads = resolve_threads(threads, images.n);
    std::vector<RoiWorkspace> ws(threads);
    parallel_for(images.n, threads, [&](int64_t i, int worker) {
        const Box b = find_roi_one(images.image(i), images.h, images.w, images.row_stride, p,
                                   ws[worker]);
        int32_t* out = boxes + 4 * i;
        out[0] = b.x0, out[1] = b.y0, out[2] = b.x1, out[3] = b.y1;
    });
}

}  // namespace gz
