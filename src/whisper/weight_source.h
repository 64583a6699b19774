/* Where weight preparation reads a model matrix from: the engine takes F32,
 * BF16 or F16 sources, so f32/f16 tensors are handed over in place (in the
 * file mapping) and quantized ones are first dequantized into a temporary
 * f32 copy.  The engine copies the values into the device's own storage
 * at tw_weight_prepare(), so the copy lives only across that call. */
#ifndef TW_WHISPER_WEIGHT_SOURCE_H
#define TW_WHISPER_WEIGHT_SOURCE_H

#include "core/error.h"
#include "tilewhisper/gemm.h"
#include "whisper/model.h"

/* Sets d->data and d->dtype for tensor w (all its elements, PyTorch
 * layout).  *scratch receives the f32 copy made for a quantized w (NULL
 * otherwise); the caller tw_free()s it after tw_weight_prepare().  Returns
 * 0, TW_ENOMEM, or tw_tensor_matrix_f32()'s error (a corrupt block), with
 * the message in err. */
int tw_whisper_weight_source(const tw_tensor *w, tw_weight_desc *d, float **scratch,
                             tw_errbuf *err);

#endif
