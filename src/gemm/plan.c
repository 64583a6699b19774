#include "gemm/plan.h"

#include <math.h>
#include <string.h>

/* Host-side summing of partial tiles, elements per second: a deliberate,
 * conservative constant (a streaming fp32 add on one core). */
#define HOST_ADD_PER_S 2e9

static size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

void tw_plan_tile(const tw_kernel_info *ki, size_t m, size_t k, size_t n, int *mk, int *kk,
                  int *nk) {
  if (ki->flags & TW_KERNEL_ANY_SHAPE) {
    *mk = (int)(ki->mk && (size_t)ki->mk < m ? (size_t)ki->mk : m);
    *kk = (int)(ki->kk && (size_t)ki->kk < k ? (size_t)ki->kk : k);
    *nk = (int)(ki->nk && (size_t)ki->nk < n ? (size_t)ki->nk : n);
  } else {
    *mk = ki->mk;
    *kk = ki->kk;
    *nk = ki->nk;
  }
}

static size_t lcm(size_t a, size_t b) {
  size_t x = a, y = b;
  while (y) {
    size_t t = x % y;
    x = y;
    y = t;
  }
  return a / x * b;
}

void tw_plan_weight_padding(const tw_device *dev, size_t *k_multiple, size_t *n_multiple) {
  size_t km = 1, nm = 1;
  for (int i = 0; i < dev->n_kernels; i++) {
    const tw_kernel_info *ki = &dev->kernels[i];
    if (ki->flags & TW_KERNEL_ANY_SHAPE) continue;
    km = lcm(km, (size_t)ki->kk);
    nm = lcm(nm, (size_t)ki->nk);
  }
  *k_multiple = km;
  *n_multiple = nm;
}

int tw_plan_evaluate(const tw_device *dev, const tw_plan_request *req, int kernel,
                     tw_loop_order order, int host_k, size_t batch, tw_plan *p) {
  memset(p, 0, sizeof *p);
  const tw_kernel_info *ki = &dev->kernels[kernel];
  const tw_device_costs *c = &dev->costs;
  int mk, kk, nk;
  tw_plan_tile(ki, req->m, req->k, req->n, &mk, &kk, &nk);
  p->kernel = kernel;
  p->order = order;
  p->mk = mk;
  p->kk = kk;
  p->nk = nk;
  p->mt = ceil_div(req->m, (size_t)mk);
  p->kt = ceil_div(req->k, (size_t)kk);
  p->nt = ceil_div(req->n, (size_t)nk);
  p->m_pad = p->mt * (size_t)mk;
  p->k_pad = p->kt * (size_t)kk;
  p->n_pad = p->nt * (size_t)nk;
  int accum = (ki->flags & TW_KERNEL_ACCUM_K) != 0;
  if (p->kt == 1) host_k = 0; /* nothing to sum */
  else if (!accum && !host_k) return TW_EUNSUPPORTED;
  if (req->host_k_loop && p->kt > 1 && !host_k) return TW_EUNSUPPORTED;
  p->host_k = host_k;

  uint64_t inv = (uint64_t)p->mt * p->nt * p->kt;
  size_t cap = c->max_batch;
  if (req->max_batch && (!cap || req->max_batch < cap)) cap = req->max_batch;
  if (batch == 0 || batch > inv || (cap && batch > cap)) return TW_EINVAL;
  p->batch = batch;
  p->invocations = inv;
  p->submissions = (inv + batch - 1) / batch;

  size_t out_elem = (ki->flags & TW_KERNEL_OUT_BF16) ? 2 : 4;
  double a_bytes = 2.0 * (double)p->m_pad * (double)p->k_pad;
  double tile_out = (double)mk * (double)nk * (double)out_elem;
  double c_bytes = host_k ? (double)inv * tile_out : (double)p->m_pad * (double)p->n_pad * out_elem;
  p->bytes_to_device = (uint64_t)a_bytes;
  p->bytes_from_device = (uint64_t)c_bytes;
  double c_region = host_k ? 2.0 * (double)batch * tile_out : (double)p->m_pad * p->n_pad * out_elem;
  double need = a_bytes + c_region;
  p->device_bytes = (size_t)need;
  if (c->mem_bytes && need + (double)req->weight_bytes > (double)c->mem_bytes) return TW_EBUDGET;

  p->useful_flops = 2.0 * (double)req->m * (double)req->n * (double)req->k;
  p->padded_flops = 2.0 * (double)inv * mk * (double)kk * nk;
  double rate = ki->flops_per_s > 0 ? ki->flops_per_s : c->flops_per_s;
  double compute = (double)inv * c->invoke_s + (rate > 0 ? p->padded_flops / rate : 0);
  double h2d = c->h2d_bytes_per_s > 0 ? a_bytes / c->h2d_bytes_per_s : 0;
  double d2h = c->d2h_bytes_per_s > 0 ? c_bytes / c->d2h_bytes_per_s : 0;
  double host_adds = host_k ? (double)inv * mk * (double)nk / HOST_ADD_PER_S : 0;
  double S = (double)p->submissions;
  double t;
  if (!c->overlap || S == 1) {
    t = S * c->submit_s + compute + h2d + d2h;
  } else if (order == TW_ORDER_ROWS) {
    double x = (h2d + d2h) / S, cs = compute / S;
    t = S * c->submit_s + x + (S - 1) * fmax(x, cs) + cs;
  } else { /* all of A goes up before the first kernel; only C streams */
    double x = d2h / S, cs = compute / S;
    t = S * c->submit_s + h2d + (S - 1) * fmax(x, cs) + cs + x;
  }
  p->predicted_s = t + host_adds;
  return TW_OK;
}

int tw_plan_choose(const tw_device *dev, const tw_plan_request *req, tw_plan *best,
                   tw_errbuf *err) {
  int found = 0;
  tw_plan cand;
  int k0 = req->kernel >= 0 ? req->kernel : 0;
  int k1 = req->kernel >= 0 ? req->kernel + 1 : dev->n_kernels;
  for (int kernel = k0; kernel < k1; kernel++) {
    for (int order = 0; order < 2; order++) {
      for (int host_k = 0; host_k < 2; host_k++) {
        /* The cost depends on the batch b only through S = ceil(I/b), and
         * for a given S the smallest b needs the least memory, so b =
         * ceil(I/S) for every S covers every distinct candidate. */
        tw_plan probe;
        if (tw_plan_evaluate(dev, req, kernel, (tw_loop_order)order, host_k, 1, &probe) ==
            TW_EUNSUPPORTED)
          continue;
        uint64_t inv = probe.invocations;
        uint64_t prev_b = 0;
        for (uint64_t s = inv; s >= 1; s--) {
          uint64_t b = (inv + s - 1) / s;
          if (b == prev_b) continue;
          prev_b = b;
          if (tw_plan_evaluate(dev, req, kernel, (tw_loop_order)order, host_k, (size_t)b, &cand))
            continue;
          if (!found || cand.predicted_s < best->predicted_s) {
            *best = cand;
            found = 1;
          }
        }
      }
    }
  }
  if (!found)
    return tw_err(err, TW_EUNSUPPORTED,
                  "%s: no kernel can run %zux%zux%zu within the device's limits", dev->name,
                  req->m, req->k, req->n);
  return TW_OK;
}
