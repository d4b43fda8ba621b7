// find_roi: grey + threshold + run extraction fused in one pass over each row, union-find
// over the runs (8-connectivity), per-component statistics at the roots, then the choice
// and box rules of gz_common.h.
#include "find_roi.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "parallel.h"

namespace gz {
namespace {

// mask[x] = 0xFF where pixel x of the row is foreground (gray > threshold), else 0.
GZ_MULTIVERSION void foreground_row(const uint8_t* __restrict p, int w, int bound,
                                    uint8_t* __restrict mask) {
    for (int x = 0; x < w; ++x) {
        const int v = p[3 * x] * GZ_GRAY_R + p[3 * x + 1] * GZ_GRAY_G + p[3 * x + 2] * GZ_GRAY_B +
                      (1 << (GZ_GRAY_SHIFT - 1));
        mask[x] = (uint8_t)-(int)(v >= bound);
    }
}

// Packs 0x00/0xFF bytes (a multiple of 64) into bits, bit i of word j = byte 64j + i.
void pack_bits(const uint8_t* mask, int nwords, uint64_t* bits) {
    for (int j = 0; j < nwords; ++j, mask += 64) {
#if defined(__SSE2__)
        uint64_t word = 0;
        for (int q = 0; q < 4; ++q) {
            const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(mask + 16 * q));
            word |= (uint64_t)(uint32_t)_mm_movemask_epi8(v) << (16 * q);
        }
#else
        uint64_t word = 0;
        for (int i = 0; i < 64; ++i) word |= (uint64_t)(mask[i] & 1) << i;
#endif
        bits[j] = word;
    }
}

// Appends the runs of a packed row: every set bit of m ^ (m << 1) is a run start or end,
// so each run costs two count-trailing-zeros, with no per-pixel branch.
void extract_runs(const uint64_t* bits, int nwords, int y, std::vector<Run>& runs) {
    uint64_t carry = 0;  // last bit of the previous word
    int xs = 0;
    for (int j = 0; j < nwords; ++j) {
        const uint64_t m = bits[j];
        uint64_t edges = m ^ ((m << 1) | carry);
        carry = m >> 63;
        while (edges) {
            const int x = 64 * j + __builtin_ctzll(edges);
            edges &= edges - 1;
            if ((m >> (x & 63)) & 1) {
                xs = x;
            } else {
                runs.push_back(Run{xs, x, y, (int)runs.size()});
            }
        }
    }
    if (carry) runs.push_back(Run{xs, 64 * nwords, y, (int)runs.size()});
}

inline int find_root(std::vector<Run>& runs, int i) {
    while (runs[i].parent != i) {
        runs[i].parent = runs[runs[i].parent].parent;  // path halving
        i = runs[i].parent;
    }
    return i;
}

// The smaller index becomes the root, so a root is always its component's first run.
inline void unite(std::vector<Run>& runs, int a, int b) {
    a = find_root(runs, a);
    b = find_root(runs, b);
    if (a < b) runs[b].parent = a;
    else if (b < a) runs[a].parent = b;
}

// Unites the runs [cur, end) of row y with the 8-adjacent runs [prev, cur) of row y - 1.
void connect_rows(std::vector<Run>& runs, int prev, int cur, int end) {
    int j = prev;
    for (int i = cur; i < end; ++i) {
        const int xs = runs[i].xs, xe = runs[i].xe;
        while (j < cur && runs[j].xe < xs) ++j;  // ends left of xs - 1: no contact
        for (int k = j; k < cur && runs[k].xs <= xe; ++k) unite(runs, i, k);
    }
}

}  // namespace

int image_threshold(const uint8_t* img, int h, int w, int64_t row_stride, const RoiParams& p) {
    if (p.threshold >= 0) return p.threshold;
    // Four interleaved histograms: sky pixels pile into a few bins, and one counter array
    // would serialise on store-to-load forwarding.
    uint32_t sub[4][256] = {};
    int i = 0;
    for (int y = 0; y < h; y += GZ_HIST_STEP) {
        const uint8_t* row = img + (int64_t)y * row_stride;
        for (int x = 0; x < w; x += GZ_HIST_STEP, ++i) {
            const uint8_t* q = row + 3 * x;
            ++sub[i & 3][gray_u8(q[0], q[1], q[2])];
        }
    }
    uint32_t hist[256];
    for (int v = 0; v < 256; ++v) hist[v] = sub[0][v] + sub[1][v] + sub[2][v] + sub[3][v];
    return auto_threshold(hist, p.k);
}

Box find_roi_one(const uint8_t* img, int h, int w, int64_t row_stride, const RoiParams& p,
                 RoiWorkspace& ws) {
    const int threshold = image_threshold(img, h, w, row_stride, p);
    if (threshold >= 255) return whole_image(w, h);
    const int bound = foreground_bound(threshold);

    // The row is padded to whole 64-bit words with background, so runs end at w at most.
    const int nwords = (w + 63) / 64;
    ws.mask.assign((size_t)nwords * 64, 0);
    ws.bits.resize(nwords);
    std::vector<Run>& runs = ws.runs;
    runs.clear();
    int prev = 0;
    for (int y = 0; y < h; ++y) {
        foreground_row(img + (int64_t)y * row_stride, w, bound, ws.mask.data());
        pack_bits(ws.mask.data(), nwords, ws.bits.data());
        const int cur = (int)runs.size();
        extract_runs(ws.bits.data(), nwords, y, runs);
        connect_rows(runs, prev, cur, (int)runs.size());
        prev = cur;
    }
    if (runs.empty()) return whole_image(w, h);

    // Component statistics in one pass: a run's parent always has a smaller index (unite
    // keeps the smaller root), so the parent's label is known when the run is reached.
    std::vector<int>& label = ws.label;
    std::vector<Component>& comps = ws.comps;
    label.resize(runs.size());
    comps.clear();
    for (int i = 0; i < (int)runs.size(); ++i) {
        const Run& r = runs[i];
        const int64_t d2 = p.mode == GZ_MODE_CENTRAL ? run_dist2(r.xs, r.xe, r.y, w, h) : 0;
        if (r.parent == i) {
            label[i] = (int)comps.size();
            comps.push_back(
                Component{r.xs, r.y, r.xe, r.y + 1, r.xe - r.xs, (int64_t)r.y * w + r.xs, d2});
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
    for (const Component& c : comps)
        if (better_component(c, *best, p.mode)) best = &c;
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
