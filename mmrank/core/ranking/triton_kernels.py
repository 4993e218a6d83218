"""The Triton kernel of :mod:`.triton_passes` (imports triton, so that
module imports this one only when a kernel runs)."""
import triton
import triton.language as tl


@triton.jit
def negatives_pass(logits_ptr, targets_ptr, lower_ptr, upper_ptr, centre_ptr,
                   bound_ptr, table_ptr, out_ptr, num, num_pos,
                   STEPS: tl.constexpr, GRADIENT: tl.constexpr,
                   BLOCK: tl.constexpr):
    """One block of the flat batch: window search, then scatter or gather.

    ``lower``/``upper`` are ``s + delta`` and ``s - delta`` (float64, P).
    With ``GRADIENT``, ``table`` holds the rows ``A``, ``B``, ``C`` (P + 1
    each) of :func:`.steps.step_tables` and ``g_j`` goes to ``out[j]``;
    otherwise ``table`` is the (4, P + 1) difference array (counts at
    ``lo``, at ``hi``, centred-logit sums at ``lo``, at ``hi``) to add to.
    """
    offsets = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    inside = offsets < num
    logit = tl.load(logits_ptr + offsets, mask=inside, other=0).to(tl.float64)
    target = tl.load(targets_ptr + offsets, mask=inside, other=1)
    keep = inside & (target == 0) & (logit > tl.load(bound_ptr).to(tl.float64))
    query = logit - tl.load(centre_ptr)
    # lo = #{i: lower_i < q}, hi = #{i: upper_i <= q}: two binary searches
    # over [0, num_pos], ``STEPS`` = bit length of num_pos halvings (a
    # compile-time constant: one kernel per power of two of P, and Triton's
    # interpreter then loops over a Python int, which it needs under
    # numpy >= 2.5).
    lo_a = tl.zeros([BLOCK], dtype=tl.int32)
    lo_b = tl.zeros([BLOCK], dtype=tl.int32) + num_pos
    hi_a = tl.zeros([BLOCK], dtype=tl.int32)
    hi_b = tl.zeros([BLOCK], dtype=tl.int32) + num_pos
    for _ in range(STEPS):
        lo_open = keep & (lo_a < lo_b)
        lo_mid = (lo_a + lo_b) // 2
        below = lo_open & (tl.load(lower_ptr + lo_mid, mask=lo_open, other=0)
                           < query)
        lo_a = tl.where(below, lo_mid + 1, lo_a)
        lo_b = tl.where(lo_open & ~below, lo_mid, lo_b)
        hi_open = keep & (hi_a < hi_b)
        hi_mid = (hi_a + hi_b) // 2
        reached = hi_open & (tl.load(upper_ptr + hi_mid, mask=hi_open, other=0)
                             <= query)
        hi_a = tl.where(reached, hi_mid + 1, hi_a)
        hi_b = tl.where(hi_open & ~reached, hi_mid, hi_b)
    size = num_pos + 1
    if GRADIENT:
        # A[lo] + B[hi] + q (C[hi] - C[lo]), in the torch path's order.
        grad = (tl.load(table_ptr + lo_a, mask=keep, other=0) +
                tl.load(table_ptr + size + hi_a, mask=keep, other=0))
        slope_ptr = table_ptr + 2 * size
        grad += query * (tl.load(slope_ptr + hi_a, mask=keep, other=0) -
                         tl.load(slope_ptr + lo_a, mask=keep, other=0))
        tl.store(out_ptr + offsets,
                 grad.to(out_ptr.dtype.element_ty),
                 mask=keep)
    else:
        one = tl.where(keep, 1.0, 0.0).to(tl.float64)
        value = tl.where(keep, query, 0.0)
        for row in tl.static_range(4):
            if row % 2 == 0:
                index = lo_a
            else:
                index = hi_a
            if row < 2:
                add = one
            else:
                add = value
            # Slots 0 and num_pos hold most negatives (below or above all
            # windows): summed over the block, one atomic each.
            row_ptr = table_ptr + row * size
            at_start = index == 0
            at_end = index == num_pos
            tl.atomic_add(row_ptr + index,
                          add,
                          mask=keep & ~(at_start | at_end),
                          sem='relaxed')
            tl.atomic_add(row_ptr,
                          tl.sum(tl.where(at_start, add, 0.0), 0),
                          sem='relaxed')
            tl.atomic_add(row_ptr + num_pos,
                          tl.sum(tl.where(at_end, add, 0.0), 0),
                          sem='relaxed')
