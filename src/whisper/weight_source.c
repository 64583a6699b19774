#include "whisper/weight_source.h"

#include "core/mem.h"

int tw_whisper_weight_source(const tw_tensor *w, tw_weight_desc *d, float **scratch,
                             tw_errbuf *err) {
  *scratch = NULL;
  if (!tw_tensor_is_quantized(w)) {
    d->data = w->data;
    d->dtype = w->type == TW_TENSOR_F16 ? TW_DTYPE_F16 : TW_DTYPE_F32;
    return TW_OK;
  }
  float *f = tw_malloc_aligned(w->n_elements * sizeof *f);
  if (!f)
    return tw_err(err, TW_ENOMEM, "weight %s: out of memory dequantizing %zu values", w->name,
                  w->n_elements);
  int rc = tw_tensor_matrix_f32(w, 0, (size_t)w->ne[w->n_dims - 1], f, err);
  if (rc) {
    tw_free(f);
    return rc;
  }
  d->data = f;
  d->dtype = TW_DTYPE_F32;
  *scratch = f;
  return TW_OK;
}
