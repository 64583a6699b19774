/* `ref`: the scalar reference device.  One kernel that takes any shape, run
 * synchronously with a plain triple loop and a double accumulator, so that
 * the other devices have an independent implementation to be compared with.
 * Slow by design. */
#include <stdio.h>
#include <stdlib.h>

#include "device/device.h"
#include "device/registry.h"
#include "core/mem.h"

static void ref_kernel(const tw_cmd *cmd) {
  const tw_bf16 *a = (const tw_bf16 *)((const char *)cmd->a->host + cmd->a_off);
  const tw_bf16 *b = (const tw_bf16 *)((const char *)cmd->b->host + cmd->b_off);
  float *c = (float *)((char *)cmd->c->host + cmd->c_off);
  for (int i = 0; i < cmd->m; i++)
    for (int j = 0; j < cmd->n; j++) {
      double s = 0.0;
      for (int p = 0; p < cmd->k; p++)
        s += (double)tw_bf16_to_fp32(a[(size_t)i * cmd->lda + (size_t)p]) *
             (double)tw_bf16_to_fp32(b[(size_t)p * cmd->ldb + (size_t)j]);
      float *cij = &c[(size_t)i * cmd->ldc + (size_t)j];
      *cij = cmd->accumulate ? (float)((double)*cij + s) : (float)s;
    }
}

static const tw_device_iface ref_iface = {
    .destroy = tw_sync_destroy,
    .buffer_alloc = tw_host_buffer_alloc,
    .buffer_free = tw_host_buffer_free,
    .submit = tw_sync_submit,
    .wait = tw_sync_wait,
};

const char *const tw_ref_option_keys[] = {NULL}; /* no options */

int tw_ref_device_create(const tw_device_config *cfg, tw_device **out) {
  *out = NULL;
  tw_device *dev = tw_device_alloc(&ref_iface, "ref");
  if (!dev || !(dev->impl = tw_calloc_aligned(1, sizeof(tw_sync_state)))) {
    tw_device_destroy(dev);
    return tw_err(NULL, TW_ENOMEM, "ref: out of memory");
  }
  ((tw_sync_state *)dev->impl)->kernel = ref_kernel;
  tw_kernel_info *k = &dev->kernels[0];
  snprintf(k->name, sizeof k->name, "any");
  k->flags = TW_KERNEL_ANY_SHAPE | TW_KERNEL_ACCUM_K;
  dev->n_kernels = 1;
  dev->costs = (tw_device_costs){.invoke_s = 1e-6,
                                 .submit_s = 1e-6,
                                 .h2d_bytes_per_s = 10e9,
                                 .d2h_bytes_per_s = 10e9,
                                 .flops_per_s = 0.5e9,
                                 .host_memory = 1};
  dev->pool = cfg ? cfg->pool : NULL;
  *out = dev;
  return TW_OK;
}
