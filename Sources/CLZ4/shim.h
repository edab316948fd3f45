// liblz4's frame API (LZ4F_*), which reads and writes the LZ4 frame format Kafka uses (KIP-57).
#ifndef SLUICE_CLZ4_SHIM_H
#define SLUICE_CLZ4_SHIM_H
#include <lz4.h>
#include <lz4frame.h>
static inline unsigned sluice_LZ4F_VERSION(void) { return LZ4F_VERSION; }
#endif
