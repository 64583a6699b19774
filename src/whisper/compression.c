#include "whisper/compression.h"

#include <limits.h>
#include <stdint.h>
#include <zlib.h>

#include "core/mem.h"

/* zlib's working memory goes through the project allocator too, so failure
 * injection reaches it like every other allocation. */
static voidpf zalloc_tw(voidpf opaque, uInt items, uInt size) {
  (void)opaque;
  size_t bytes;
  if (tw_mul_size(items, size, &bytes)) return Z_NULL;
  return tw_malloc_aligned(bytes);
}

static void zfree_tw(voidpf opaque, voidpf p) {
  (void)opaque;
  tw_free(p);
}

int tw_compression_ratio(const char *text, size_t n, double *ratio, tw_errbuf *err) {
  if (!ratio || (!text && n)) return tw_err(err, TW_EINVAL, "compression ratio: NULL text");
  if (n > UINT_MAX / 2)
    return tw_err(err, TW_EOVERFLOW, "compression ratio: %zu bytes is too long", n);
  z_stream zs = {0};
  zs.zalloc = zalloc_tw;
  zs.zfree = zfree_tw;
  /* Python's zlib.compress(b) is deflate level -1 (= 6), a 32 KiB window and
   * memLevel 8: exactly deflateInit's defaults. */
  int zr = deflateInit(&zs, Z_DEFAULT_COMPRESSION);
  if (zr == Z_MEM_ERROR) return tw_err(err, TW_ENOMEM, "compression ratio: out of memory in zlib");
  if (zr != Z_OK)
    return tw_err(err, TW_EUNSUPPORTED, "compression ratio: deflateInit failed (%d)", zr);
  uLong cap = deflateBound(&zs, (uLong)n);
  unsigned char *out = tw_malloc_aligned(cap);
  if (!out) {
    deflateEnd(&zs);
    return tw_err(err, TW_ENOMEM, "compression ratio: no memory for %lu bytes", cap);
  }
  zs.next_in = (Bytef *)(uintptr_t)text; /* zlib's API is not const-correct */
  zs.avail_in = (uInt)n;
  zs.next_out = out;
  zs.avail_out = (uInt)cap;
  zr = deflate(&zs, Z_FINISH);
  size_t packed = zs.total_out;
  deflateEnd(&zs);
  tw_free(out);
  if (zr != Z_STREAM_END)
    return tw_err(err, TW_EUNSUPPORTED, "compression ratio: deflate did not finish (%d)", zr);
  *ratio = (double)n / (double)packed;
  return TW_OK;
}
