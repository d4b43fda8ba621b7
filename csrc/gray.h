// Row kernels on grey levels (the gz_common.h grey rule), vectorised where the CPU allows.
#pragma once

#include <stdint.h>

namespace gz {

// out[x] = gray_u8 of RGB pixel x, for x in [0, n). Uses AVX2 when the CPU has it (picked
// once at load time); the result is identical either way.
void gray_row(const uint8_t* rgb, int n, uint8_t* out);

// Bit x of bits[] = gray[x] > threshold, for nwords * 64 grey values (threshold 0..254).
void threshold_bits(const uint8_t* gray, int nwords, int threshold, uint64_t* bits);

}  // namespace gz
