/* Tile configuration for the AMX kernels (compiled with -mamx-tile).  A
 * thread's tiles are configured lazily by the first kernel that needs a
 * shape and kept while later calls want the same configuration (LDTILECFG
 * costs more than a few tile operations); tw_amx_release returns the
 * thread's tiles to their initial state (no 8 KiB of tile data saved at
 * every context switch), as callers do at the end of a task. */
#ifndef TW_KERNELS_AMX_AMX_H
#define TW_KERNELS_AMX_AMX_H

#include <immintrin.h>
#include <stdint.h>

/* The LDTILECFG operand (palette 1). */
typedef struct tw_amx_cfg {
  uint8_t palette, start_row;
  uint8_t reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
} __attribute__((aligned(64))) tw_amx_cfg;

/* The configuration the thread's tiles hold, or NULL (released).  Read at
 * every kernel call: the initial-exec model makes that one load from the
 * thread pointer instead of a __tls_get_addr call from the shared library
 * (~1 % of the encoder's time at one thread). */
#define TW_AMX_TLS __attribute__((tls_model("initial-exec")))
extern _Thread_local const tw_amx_cfg *tw_amx_current TW_AMX_TLS;

static inline void tw_amx_configure(const tw_amx_cfg *cfg) {
  if (tw_amx_current == cfg) return;
  _tile_loadconfig(cfg);
  tw_amx_current = cfg;
}

#endif
