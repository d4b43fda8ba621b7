// Row kernels on grey levels (the gz_common.h grey rule), vectorised where the CPU allows.
#pragma once

#include <stdint.h>

namespace gz {

// Whether the AVX2 kernels run: the CPU has AVX2 and GALAXYZOO_NO_AVX2 is unset, empty or 0 (the
// switch lets the tests check that the baseline kernels give identical results).
bool avx2_enabled();

// out[x] = gray_u8 of RGB pixel x, for x in [0, n). Uses AVX2 when the CPU has it (picked
// once at load time); the result is identical either way.
void gray_row(const uint8_t* rgb, int n, uint8_t* out);

// Bit x of bits[] = gray[x] > threshold, for nwords * 64 grey values (threshold 0..254).
void threshold_bits(const uint8_t* gray, int nwords, int threshold, uint64_t* bits);

}  // namespace gz
