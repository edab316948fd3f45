// Hardware CRC-32C. The table fallback lives in Swift (SluiceRecords/CRC32C.swift); this file
// only exists because Swift cannot emit the SSE4.2 `crc32` instruction directly.
#include "CSluiceCRC32C.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <nmmintrin.h>

int sluice_crc32c_hardware_available(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    return (ecx & bit_SSE4_2) != 0;
}

// The crc32 instruction has a 3-cycle latency and a 1-cycle throughput, so one dependent
// chain of 8-byte steps reaches only a third of what the core can do. Large inputs are cut
// into three lanes CRC'd in parallel (independent chains), then joined: with the CRC register
// linear over GF(2), the state after A||B is shift(state after A, |B| zero bytes) ^ (the state
// of B alone, started from 0). `shift` is a 32x32 bit matrix, applied a byte at a time through
// four 256-entry tables built once per lane length.
#include <pthread.h>

enum { LANE_LONG = 8192, LANE_SHORT = 256 };
static uint32_t shift_long[4][256], shift_short[4][256];
static pthread_once_t shift_tables_once = PTHREAD_ONCE_INIT;

// A matrix is 32 columns: column i is the image of the state with only bit i set.
static uint32_t matrix_apply(const uint32_t matrix[32], uint32_t vector) {
    uint32_t result = 0;
    for (int bit = 0; vector != 0; bit++, vector >>= 1) {
        if (vector & 1) result ^= matrix[bit];
    }
    return result;
}

static void matrix_square(uint32_t out[32], const uint32_t matrix[32]) {
    for (int bit = 0; bit < 32; bit++) out[bit] = matrix_apply(matrix, matrix[bit]);
}

// Tables that advance a CRC register over `bytes` zero bytes (`bytes` a power of two).
static void build_shift_tables(uint32_t tables[4][256], size_t bytes) {
    uint32_t op[32], squared[32];
    // One zero bit in the reflected register: shift right, fold the polynomial in on a 1.
    op[0] = 0x82F63B78u;
    for (int bit = 1; bit < 32; bit++) op[bit] = 1u << (bit - 1);
    for (size_t bits = 1; bits < bytes * 8; bits *= 2) {
        matrix_square(squared, op);
        __builtin_memcpy(op, squared, sizeof op);
    }
    for (uint32_t value = 0; value < 256; value++) {
        for (int k = 0; k < 4; k++) tables[k][value] = matrix_apply(op, value << (8 * k));
    }
}

static void build_all_shift_tables(void) {
    build_shift_tables(shift_long, LANE_LONG);
    build_shift_tables(shift_short, LANE_SHORT);
}

static inline uint32_t shift_register(uint32_t tables[4][256], uint32_t crc) {
    return tables[0][crc & 0xFF] ^ tables[1][(crc >> 8) & 0xFF] ^ tables[2][(crc >> 16) & 0xFF]
        ^ tables[3][crc >> 24];
}

__attribute__((target("sse4.2")))
static inline uint64_t crc_lanes(uint64_t crc, const uint8_t **cursor, size_t *length, size_t lane,
                                 uint32_t tables[4][256]) {
    while (*length >= 3 * lane) {
        const uint8_t *p = *cursor;
        uint64_t c0 = crc, c1 = 0, c2 = 0;
        for (size_t i = 0; i < lane; i += 8) {
            uint64_t w0, w1, w2;
            __builtin_memcpy(&w0, p + i, 8);
            __builtin_memcpy(&w1, p + lane + i, 8);
            __builtin_memcpy(&w2, p + 2 * lane + i, 8);
            c0 = _mm_crc32_u64(c0, w0);
            c1 = _mm_crc32_u64(c1, w1);
            c2 = _mm_crc32_u64(c2, w2);
        }
        crc = shift_register(tables, (uint32_t)c0) ^ (uint32_t)c1;
        crc = shift_register(tables, (uint32_t)crc) ^ (uint32_t)c2;
        *cursor += 3 * lane;
        *length -= 3 * lane;
    }
    return crc;
}

__attribute__((target("sse4.2")))
uint32_t sluice_crc32c_hardware_update(uint32_t crc, const void *bytes, size_t length) {
    const uint8_t *p = (const uint8_t *)bytes;
    uint64_t c = crc;
    if (length >= 3 * LANE_SHORT) {
        pthread_once(&shift_tables_once, build_all_shift_tables);
        c = crc_lanes(c, &p, &length, LANE_LONG, shift_long);
        c = crc_lanes(c, &p, &length, LANE_SHORT, shift_short);
    }
    while (length >= 8) {
        uint64_t word;
        __builtin_memcpy(&word, p, 8);
        c = _mm_crc32_u64(c, word);
        p += 8;
        length -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (length > 0) {
        c32 = _mm_crc32_u8(c32, *p);
        p++;
        length--;
    }
    return c32;
}
#elif defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)
#include <arm_acle.h>
int sluice_crc32c_hardware_available(void) { return 1; }
uint32_t sluice_crc32c_hardware_update(uint32_t crc, const void *bytes, size_t length) {
    const uint8_t *p = (const uint8_t *)bytes;
    while (length >= 8) {
        uint64_t word;
        __builtin_memcpy(&word, p, 8);
        crc = __crc32cd(crc, word);
        p += 8;
        length -= 8;
    }
    while (length > 0) { crc = __crc32cb(crc, *p); p++; length--; }
    return crc;
}
#else
int sluice_crc32c_hardware_available(void) { return 0; }
uint32_t sluice_crc32c_hardware_update(uint32_t crc, const void *bytes, size_t length) {
    (void)bytes; (void)length; return crc;
}
#endif
