/* fold_threshold.c - BatchNorm + sign on an integer accumulator -> threshold.
 *
 * Needs:      pack_weights (and the folds before it) have run; params bound.
 * Guarantees: every `sign` whose operand is reached from an i32 bindense
 *             accumulator y (bit or u8 x), or a binconv accumulator
 *             (K = C*kh*kw, the same threshold at every position), through a chain of per-channel f32
 *             ops (convert, affine, batchnorm, htanh, relu), each used only by
 *             the next, is replaced by threshold(y, thr, flip): the output bit
 *             is +1 iff (flip ? y <= thr : y >= thr). For EVERY integer y in
 *             the accumulator's range ([-K, K] for bit x, [-255K, 255K] for u8
 *             x, K = in) the bit equals sign(chain((float)y)) computed with
 *             ir_eval.h's f32 formulas, i.e. the runtime's own arithmetic.
 *
 * Why a threshold exists, exactly. Each op of the chain is, for fixed params,
 * an IEEE operation of the form x - m, x / d (d > 0), x * k, x + b, (float)y,
 * clamp or max. Correct rounding is monotone (a <= b implies fl(a) <= fl(b)),
 * so each op is a monotone function of x: non-decreasing, or non-increasing
 * when multiplying by k < 0, or constant when k = 0 (x * 0 = +-0, and -0 and
 * +0 compare equal, so `>= 0` treats them alike). A composition of monotone
 * functions is monotone, so sign(chain(y)) is a step function of y with at
 * most one step: a threshold. This holds while every value is finite (inf*0
 * or inf-inf would give NaN): each intermediate value is itself monotone in
 * y, so it is finite everywhere in the range iff it is finite at both ends,
 * which is checked; a channel that fails the check leaves the sign unfolded.
 * The step is found by binary search on the exact f32 function (no real-
 * valued estimate needed), and then checked: on the whole range when
 * (range * channels) <= 2^22, else on a window of 1024 values around the
 * threshold and the range ends. A failed check is a bnnc bug.
 * Constant channels (gamma == 0, scale 0, or the step outside the range) get
 * flip = 0 and thr = lo - 1 (always +1) or hi + 1 (always -1).
 */
#include <string.h>

#include "ir_eval.h"
#include "pass_util.h"
#include "passes.h"

#define MAX_CHAIN 16
#define FULL_CHECK_BUDGET ((int64_t)1 << 22)
#define WINDOW 512

typedef struct Chain {
  IrNode *acc;                 /* the i32 bindense */
  IrNode *ops[MAX_CHAIN];      /* ops[0] reads acc, ops[n-1] feeds the sign */
  int n;
  int64_t lo, hi;              /* range of acc */
} Chain;

static bool is_chain_op(const IrNode *n) {
  switch (n->op) {
  case IR_AFFINE:
  case IR_BATCHNORM:
  case IR_HTANH:
  case IR_RELU:
    return true;
  case IR_CONVERT:
    return n->inputs[0]->type.elem == ELEM_I32;
  default:
    return false;
  }
}

static bool match(IrGraph *g, const IrNode *sign, Chain *ch) {
  IrNode *rev[MAX_CHAIN];
  int n = 0;
  IrNode *x = sign->inputs[0];
  while (x->type.elem != ELEM_I32) {
    if (!is_chain_op(x) || n == MAX_CHAIN || ir_single_user(g, x) == NULL) return false;
    rev[n++] = x;
    x = x->inputs[0];
  }
  bool conv = x->op == IR_BINCONV;
  if (!conv && (x->op != IR_BINDENSE || x->inputs[0]->type.elem == ELEM_F32)) return false;
  /* An i32 may only enter the chain at its first op. */
  for (int i = 0; i < n - 1; i++)
    if (rev[i]->inputs[0]->type.elem == ELEM_I32) return false;
  ch->acc = x;
  ch->n = n;
  for (int i = 0; i < n; i++) ch->ops[i] = rev[n - 1 - i];
  /* binconv: K = C*kh*kw taps; a border position has fewer valid taps, so
   * its accumulator lies in a smaller range inside [-K, K]. The threshold is
   * a function of the accumulator value alone, so it is the same for every
   * position: the kernel computes the exact accumulator (padded taps add
   * 0), never a padded one, and compares it with the channel's threshold. */
  int64_t k = conv ? x->inputs[1]->type.shape.dims[1] * x->inputs[1]->type.shape.dims[2] *
                         x->inputs[1]->type.shape.dims[3]
                   : x->inputs[0]->type.shape.dims[0];
  int64_t per = x->inputs[0]->type.elem == ELEM_U8 ? 255 : 1;
  ch->lo = -per * k;
  ch->hi = per * k;
  return true;
}

/* chain((float)y) for channel c, with the ir_eval formulas; *finite is
 * cleared if any intermediate value is inf or NaN. */
static float eval_chain(const Chain *ch, int64_t c, int64_t y, bool *finite) {
  float v = (float)y;
  for (int i = 0; i < ch->n; i++) {
    const IrNode *op = ch->ops[i];
    switch (op->op) {
    case IR_AFFINE:
      v = ir_eval_affine1(v, pass_per_channel(op->inputs[1], c), pass_per_channel(op->inputs[2], c));
      break;
    case IR_BATCHNORM:
      v = ir_eval_batchnorm1(v, pass_param_f32(op->inputs[1])[c], pass_param_f32(op->inputs[2])[c],
                             pass_param_f32(op->inputs[3])[c], pass_param_f32(op->inputs[4])[c],
                             op->attrs.eps);
      break;
    case IR_HTANH: v = ir_eval_htanh1(v); break;
    case IR_RELU: v = ir_eval_relu1(v); break;
    case IR_CONVERT: break;   /* (float)y above */
    default: BNNC_BUG("fold_threshold: unexpected op in a chain");
    }
    if (!isfinite(v)) *finite = false;
  }
  return v;
}

/* +1 (true) or -1 (false) at y. */
static bool positive_at(const Chain *ch, int64_t c, int64_t y) {
  bool finite = true;
  return !ir_eval_sign_bit(eval_chain(ch, c, y, &finite));
}

static bool rule(int32_t thr, int32_t flip, int64_t y) { return flip ? y <= thr : y >= thr; }

static void check(const Chain *ch, int64_t c, int32_t thr, int32_t flip, int64_t channels) {
  int64_t span = ch->hi - ch->lo + 1;
  int64_t from = ch->lo, to = ch->hi;
  if (span * channels > FULL_CHECK_BUDGET) {
    from = thr - WINDOW > ch->lo ? thr - WINDOW : ch->lo;
    to = thr + WINDOW < ch->hi ? thr + WINDOW : ch->hi;
  }
  for (int64_t y = from; y <= to; y++)
    if (rule(thr, flip, y) != positive_at(ch, c, y))
      BNNC_BUG("fold_threshold: threshold %d (flip %d) of %%%d channel %lld disagrees with f32 at y = %lld",
               (int)thr, (int)flip, ch->acc->id, (long long)c, (long long)y);
  if (rule(thr, flip, ch->lo) != positive_at(ch, c, ch->lo) ||
      rule(thr, flip, ch->hi) != positive_at(ch, c, ch->hi))
    BNNC_BUG("fold_threshold: threshold of %%%d channel %lld disagrees at a range end", ch->acc->id,
             (long long)c);
}

/* Threshold of one channel; false if some value in the chain is not finite. */
static bool channel_threshold(const Chain *ch, int64_t c, int32_t *thr, int32_t *flip) {
  bool finite = true;
  eval_chain(ch, c, ch->lo, &finite);
  eval_chain(ch, c, ch->hi, &finite);
  if (!finite) return false;
  bool at_lo = positive_at(ch, c, ch->lo), at_hi = positive_at(ch, c, ch->hi);
  *flip = 0;
  if (at_lo == at_hi) {
    *thr = (int32_t)(at_lo ? ch->lo - 1 : ch->hi + 1);
    return true;
  }
  /* Invariant: positive_at(l) == at_lo, positive_at(h) == at_hi. */
  int64_t l = ch->lo, h = ch->hi;
  while (h - l > 1) {
    int64_t m = l + (h - l) / 2;
    if (positive_at(ch, c, m) == at_lo)
      l = m;
    else
      h = m;
  }
  if (at_hi) {
    *thr = (int32_t)h;   /* non-decreasing: +1 from h on */
  } else {
    *thr = (int32_t)l;   /* non-increasing: +1 up to l */
    *flip = 1;
  }
  return true;
}

static bool fold_sign(IrGraph *g, IrNode *sign) {
  Chain ch;
  if (!match(g, sign, &ch)) return false;
  int64_t channels = ch.acc->type.shape.dims[0];
  int32_t *thr = ARENA_ARRAY(g->arena, int32_t, channels);
  int32_t *flip = ARENA_ARRAY(g->arena, int32_t, channels);
  for (int64_t c = 0; c < channels; c++) {
    if (!channel_threshold(&ch, c, &thr[c], &flip[c])) return false;
    check(&ch, c, thr[c], flip[c], channels);
  }
  const IrNode *named = ch.n ? ch.ops[ch.n - 1] : ch.acc;
  const char *base = named->label ? named->label : arena_printf(g->arena, "v%d", named->id);
  IrNode *thr_p = pass_new_param_i32(g, sign, channels, arena_printf(g->arena, "%s.thr", base));
  IrNode *flip_p = pass_new_param_i32(g, sign, channels, arena_printf(g->arena, "%s.flip", base));
  memcpy(thr_p->data, thr, (size_t)channels * sizeof *thr);
  memcpy(flip_p->data, flip, (size_t)channels * sizeof *flip);
  IrNode *in[3] = {ch.acc, thr_p, flip_p};
  IrNode *t = pass_new_node(g, sign, sign, IR_THRESHOLD, sign->type, in, 3);
  ir_replace_uses(g, sign, t);
  ir_remove(g, sign);
  return true;
}

int pass_fold_threshold(IrGraph *g) {
  int folded = 0;
  for (IrNode *n = g->first, *next; n; n = next) {
    next = n->next;
    if (n->op == IR_SIGN && fold_sign(g, n)) folded++;
  }
  pass_remove_dead(g);
  return folded;
}
