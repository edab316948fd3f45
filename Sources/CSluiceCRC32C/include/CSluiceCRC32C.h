// CRC-32C (Castagnoli) with the SSE4.2 `crc32` instruction when the CPU has it.
#ifndef SLUICE_CRC32C_H
#define SLUICE_CRC32C_H
#include <stddef.h>
#include <stdint.h>

/// 1 if this CPU has the SSE4.2 crc32 instruction (checked once with cpuid), else 0.
int sluice_crc32c_hardware_available(void);

/// Continues a CRC-32C over `length` bytes. `crc` is the running value *before* final inversion
/// (start with 0xFFFFFFFF, xor the result with 0xFFFFFFFF). Must only be called when
/// `sluice_crc32c_hardware_available()` returned 1.
uint32_t sluice_crc32c_hardware_update(uint32_t crc, const void *bytes, size_t length);

#endif
