/* ir_print.c - the stable text form of the IR (--emit=ir, --print-after-all).
 *
 *   graph bnn_mlp {
 *     %0 = input : u8[784]
 *     %1 = param "0.weight" : f32[2048,784]
 *     %4 = binlinear %0, %1 : f32[2048]              ; layer 0
 *     ...
 *   }
 *
 * Which attributes print follows the op table, so a new op needs no printer
 * change. Output is deterministic: ids, not pointers; floats in the shortest form that reads back exactly.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "ir.h"

static void print_type(FILE *out, const IrType *t) {
  fprintf(out, "%s[", elem_type_name(t->elem));
  for (int i = 0; i < t->shape.rank; i++)
    fprintf(out, i ? ",%" PRId64 : "%" PRId64, t->shape.dims[i]);
  fputc(']', out);
}

/* The shortest %g form that reads back as the same float: 1e-05, not 9.99999975e-06. */
static const char *fmt_float(float v, char *buf, size_t size) {
  for (int precision = 6; precision <= 9; precision++) {
    snprintf(buf, size, "%.*g", precision, (double)v);
    if (strtof(buf, NULL) == v) break;
  }
  return buf;
}

static void print_attrs(FILE *out, const IrNode *n) {
  unsigned attrs = ir_op_info[n->op].attrs;
  const IrAttrs *a = &n->attrs;
  const char *sep = " {";
  char num[32];
  bool any = false;
#define ATTR(...)             \
  do {                        \
    fputs(sep, out);          \
    fprintf(out, __VA_ARGS__); \
    sep = ", ";               \
    any = true;               \
  } while (0)
  if (attrs & IR_ATTR_KERNEL) ATTR("kernel=%dx%d", a->kernel_h, a->kernel_w);
  if (attrs & IR_ATTR_STRIDE) ATTR("stride=%d", a->stride);
  if (attrs & IR_ATTR_PAD) ATTR("pad=%d", a->pad);
  if (attrs & IR_ATTR_EPS) ATTR("eps=%s", fmt_float(a->eps, num, sizeof num));
  if (attrs & IR_ATTR_P) ATTR("p=%s", fmt_float(a->p, num, sizeof num));
  if ((attrs & IR_ATTR_SCALE) && a->scale) ATTR("scale");
#undef ATTR
  if (any) fputc('}', out);
}

void ir_print(FILE *out, const IrGraph *g) {
  fprintf(out, "graph %s {\n", g->name ? g->name : "?");
  for (const IrNode *n = g->first; n; n = n->next) {
    fprintf(out, "  %%%d = %s", n->id, ir_op_info[n->op].name);
    if (n->op == IR_PARAM) fprintf(out, " \"%s\"", n->attrs.name);
    for (int i = 0; i < n->n_inputs; i++) fprintf(out, i ? ", %%%d" : " %%%d", n->inputs[i]->id);
    print_attrs(out, n);
    fputs(" : ", out);
    print_type(out, &n->type);
    if (n->scratch_offset >= 0) fprintf(out, " @scratch+%" PRId64, n->scratch_offset);
    if (n->label && n->op != IR_PARAM) fprintf(out, "    ; layer %s", n->label);
    fputc('\n', out);
  }
  if (g->scratch_bytes) fprintf(out, "  ; scratch %zu bytes\n", g->scratch_bytes);
  fputs("}\n", out);
}
