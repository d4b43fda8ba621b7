// The AVX2 grey kernel computes OpenCV's 14-bit rule exactly in 16-bit lanes: each weight
// w = 128*wh + wl with wh, wl < 128 (4899 = 38*128+35, 9617 = 75*128+17, 1868 = 14*128+76),
// so hi = 38R+75G+14B <= 32385 and lo = 35R+17G+76B <= 32640 fit pmaddubsw's int16, and
// (128*hi + lo + 8192) >> 14 == (hi + ((lo + 8192) >> 7)) >> 7 (the dropped low 7 bits of
// lo + 8192 can never carry across a multiple of 2^14).
#include "cpu/gray.h"

#include <stdlib.h>

#include "gz_common.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define GZ_X86_DISPATCH 1
#include <immintrin.h>
#endif

namespace gz {
namespace {

static_assert(GZ_GRAY_R == 38 * 128 + 35 && GZ_GRAY_G == 75 * 128 + 17 &&
                  GZ_GRAY_B == 14 * 128 + 76,
              "the AVX2 split of the grey weights");

void gray_row_scalar(const uint8_t* p, int n, uint8_t* out) {
    for (int x = 0; x < n; ++x) out[x] = (uint8_t)gray_u8(p[3 * x], p[3 * x + 1], p[3 * x + 2]);
}

#ifdef GZ_X86_DISPATCH
// pshufb mask picking channel ch of the 16 pixels held in 48 bytes, from 16-byte chunk k.
__attribute__((target("avx2"))) __m256i channel_mask(int ch, int k) {
    alignas(16) int8_t m[16];
    for (int j = 0; j < 16; ++j) {
        const int byte = 3 * j + ch - 16 * k;
        m[j] = (int8_t)(byte >= 0 && byte < 16 ? byte : -128);
    }
    return _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(m)));
}

__attribute__((target("avx2"))) inline __m256i load_pair(const uint8_t* lo, const uint8_t* hi) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(lo));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(hi));
    return _mm256_inserti128_si256(_mm256_castsi128_si256(a), b, 1);
}

__attribute__((target("avx2"))) void gray_row_avx2(const uint8_t* p, int n, uint8_t* out) {
    // Lane 0 holds pixels 0..15 of the block, lane 1 pixels 16..31, each as 3 chunks.
    const __m256i mask[3][3] = {
        {channel_mask(0, 0), channel_mask(0, 1), channel_mask(0, 2)},
        {channel_mask(1, 0), channel_mask(1, 1), channel_mask(1, 2)},
        {channel_mask(2, 0), channel_mask(2, 1), channel_mask(2, 2)}};
    const __m256i w_rg_hi = _mm256_set1_epi16((int16_t)(38 | (75 << 8)));
    const __m256i w_rg_lo = _mm256_set1_epi16((int16_t)(35 | (17 << 8)));
    const __m256i w_b_hi = _mm256_set1_epi16(14), w_b_lo = _mm256_set1_epi16(76);
    const __m256i round = _mm256_set1_epi16(8192), zero = _mm256_setzero_si256();
    int x = 0;
    for (; x + 32 <= n; x += 32) {
        const uint8_t* q = p + 3 * x;
        const __m256i c0 = load_pair(q, q + 48), c1 = load_pair(q + 16, q + 64),
                      c2 = load_pair(q + 32, q + 80);
        __m256i ch[3];
        for (int c = 0; c < 3; ++c)
            ch[c] = _mm256_or_si256(_mm256_or_si256(_mm256_shuffle_epi8(c0, mask[c][0]),
                                                    _mm256_shuffle_epi8(c1, mask[c][1])),
                                    _mm256_shuffle_epi8(c2, mask[c][2]));
        __m256i gray[2];
        for (int half = 0; half < 2; ++half) {
            const __m256i rg = half ? _mm256_unpackhi_epi8(ch[0], ch[1])
                                    : _mm256_unpacklo_epi8(ch[0], ch[1]);
            const __m256i b = half ? _mm256_unpackhi_epi8(ch[2], zero)
                                   : _mm256_unpacklo_epi8(ch[2], zero);
            const __m256i hi = _mm256_add_epi16(_mm256_maddubs_epi16(rg, w_rg_hi),
                                                _mm256_mullo_epi16(b, w_b_hi));
            const __m256i lo = _mm256_add_epi16(_mm256_maddubs_epi16(rg, w_rg_lo),
                                                _mm256_mullo_epi16(b, w_b_lo));
            const __m256i q7 = _mm256_srli_epi16(_mm256_add_epi16(lo, round), 7);
            gray[half] = _mm256_srli_epi16(_mm256_add_epi16(hi, q7), 7);
        }
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + x),
                            _mm256_packus_epi16(gray[0], gray[1]));
    }
    gray_row_scalar(p + 3 * x, n - x, out + x);
}

#endif

}  // namespace

bool avx2_enabled() {
#ifdef GZ_X86_DISPATCH
    static const bool enabled = [] {
        const char* off = getenv("GALAXYZOO_NO_AVX2");
        return __builtin_cpu_supports("avx2") && !(off && *off && *off != '0');
    }();
    return enabled;
#else
    return false;
#endif
}

void gray_row(const uint8_t* rgb, int n, uint8_t* out) {
#ifdef GZ_X86_DISPATCH
    if (avx2_enabled()) return gray_row_avx2(rgb, n, out);
#endif
    gray_row_scalar(rgb, n, out);
}

void threshold_bits(const uint8_t* gray, int nwords, int threshold, uint64_t* bits) {
#if defined(__SSE2__)
    // gray > t  <=>  max(gray, t + 1) == gray (unsigned bytes, t <= 254).
    const __m128i t1 = _mm_set1_epi8((char)(threshold + 1));
    for (int j = 0; j < nwords; ++j, gray += 64) {
        uint64_t word = 0;
        for (int q = 0; q < 4; ++q) {
            const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(gray + 16 * q));
            const __m128i gt = _mm_cmpeq_epi8(_mm_max_epu8(v, t1), v);
            word |= (uint64_t)(uint32_t)_mm_movemask_epi8(gt) << (16 * q);
        }
        bits[j] = word;
    }
#else
    for (int j = 0; j < nwords; ++j, gray += 64) {
        uint64_t word = 0;
        for (int i = 0; i < 64; ++i) word |= (uint64_t)(gray[i] > threshold) << i;
        bits[j] = word;
    }
#endif
}

}  // namespace gz
