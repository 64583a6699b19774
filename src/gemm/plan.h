/* The planner: maps C(M x N) = A(M x K) . W(K x N) onto a device's kernel set.
 *
 * A plan fixes the kernel, the loop order, whether partial products over K
 * are summed on the host (kernels that cannot accumulate, as in the seed) and
 * how many invocations go into one submission.  Its predicted time comes
 * from the device's cost figures only (docs/planner.md), with I invocations
 * in S submissions, compute c = I*invoke + flops/rate and transfers x:
 *
 *   serial:     S*submit + c + x (+ host adds for the host K loop)
 *   overlapped: S*submit + x/S + (S-1)*max(x/S, c/S) + c/S (+ host adds)
 *
 * The planner never looks at a device's name. */
#ifndef TW_GEMM_PLAN_H
#define TW_GEMM_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "device/device.h"

typedef enum tw_loop_order {
  TW_ORDER_ROWS = 0, /* row blocks outer: A streamed a panel at a time */
  TW_ORDER_COLS = 1, /* column blocks outer: A uploaded whole up front */
} tw_loop_order;

typedef struct tw_plan_request {
  size_t m, k, n;
  int kernel;        /* forced kernel index, or -1 */
  int host_k_loop;   /* force partial sums over K on the host */
  size_t max_batch;  /* 0 = no cap beyond the device's */
  size_t weight_bytes; /* device memory resident weights already take */
} tw_plan_request;

typedef struct tw_plan {
  int direct; /* whole problem through the device's direct gemm() */
  int kernel;
  tw_loop_order order;
  int host_k; /* partial products summed on the host */
  size_t batch;
  int mk, kk, nk; /* tile actually used (= kernel shape, or clipped ANY_SHAPE) */
  size_t mt, kt, nt;
  size_t m_pad, k_pad, n_pad;
  uint64_t invocations, submissions;
  uint64_t bytes_to_device, bytes_from_device;
  size_t device_bytes; /* device memory the call needs besides the weight */
  double useful_flops, padded_flops;
  double predicted_s;
} tw_plan;

/* Fills *plan for one candidate.  Returns TW_OK if the candidate is feasible
 * on the device (memory, batch cap, kernel capabilities), else a status. */
int tw_plan_evaluate(const tw_device *dev, const tw_plan_request *req, int kernel,
                     tw_loop_order order, int host_k, size_t batch, tw_plan *plan);

/* Chooses the feasible plan with the least predicted time. */
int tw_plan_choose(const tw_device *dev, const tw_plan_request *req, tw_plan *plan,
                   tw_errbuf *err);

/* Tile shape a kernel uses for this problem (ANY_SHAPE kernels are clipped
 * to the problem). */
void tw_plan_tile(const tw_kernel_info *ki, size_t m, size_t k, size_t n, int *mk, int *kk,
                  int *nk);

/* Padding every prepared weight gets on this device so that all of its
 * kernels can read whole tiles: K and N rounded up to these multiples. */
void tw_plan_weight_padding(const tw_device *dev, size_t *k_multiple, size_t *n_multiple);

#endif
