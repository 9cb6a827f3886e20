/* ir.h - bnnc's graph IR.
 *
 * A model is a graph of nodes in SSA form: each node has an op, attributes,
 * input nodes and exactly one output value with an element type and a shape.
 * Nodes are kept in a list in a valid execution order (inputs before users).
 * Parameters are `param` nodes: named tensors ("0.weight") whose data is bound
 * from a weights file. The IR knows nothing of the grammar (it is built from a
 * checked Model by lower.c) and nothing of LLVM.
 *
 * Shapes exclude the batch dimension. Element types:
 *   f32  IEEE single
 *   i32  two's complement 32-bit (popcount accumulators, thresholds)
 *   u8   unsigned byte (raw image input)
 *   bit  packed +-1 values. Word size 64 bits. The LAST dimension of the shape
 *        is packed: element i of a row lives in word i/64, bit i%64 (LSB first).
 *        Bit value 0 means +1, bit value 1 means -1 (the IEEE sign bit; so
 *        sign(0) = +1 maps to bit 0). Each row is padded to a whole number of
 *        words with 0 bits, so padding cancels in XOR: a dot product of two
 *        rows of K elements is K - 2 * popcount(a XOR b) whatever the padding.
 *
 * All nodes live in the graph's arena and are freed with it.
 */
#ifndef BNNC_IR_H
#define BNNC_IR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "arena.h"
#include "diag.h"
#include "model.h"

typedef enum ElemType { ELEM_F32, ELEM_I32, ELEM_U8, ELEM_BIT, ELEM_TYPE_COUNT } ElemType;

#define IR_BIT_WORD_BITS 64

typedef struct IrType {
  ElemType elem;
  Shape shape;
} IrType;

/* Attributes an op may carry; the op table says which ones each op uses, and
 * the printer and verifier derive from that. */
enum {
  IR_ATTR_KERNEL = 1 << 0,    /* kernel_h x kernel_w */
  IR_ATTR_STRIDE = 1 << 1,
  IR_ATTR_PAD = 1 << 2,
  IR_ATTR_EPS = 1 << 3,       /* batchnorm epsilon */
  IR_ATTR_P = 1 << 4,         /* dropout probability */
  IR_ATTR_SCALE = 1 << 5,     /* XNOR-Net alpha = mean|W| per output */
  IR_ATTR_NAME = 1 << 6,      /* param: the tensor's name */
};

/* The op table: X(enum, name, min_inputs, max_inputs, attrs, doc).
 * Input order is fixed per op and written in the doc column. */
#define BNNC_IR_OPS(X)                                                                        \
  X(IR_INPUT, "input", 0, 0, 0, "the model input: u8 or f32")                                 \
  X(IR_PARAM, "param", 0, 0, IR_ATTR_NAME, "a named tensor bound from the weights")           \
  X(IR_AFFINE, "affine", 3, 3, 0,                                                             \
    "(x u8|i32|f32, scale f32[1|C], shift f32[1|C]) -> f32: x * scale[c] + shift[c], "         \
    "c = index along dim 0 (features, or channels of [C,H,W]); one value broadcasts")          \
  X(IR_SIGN, "sign", 1, 1, 0, "(x f32|i32) -> bit: +1 where x >= 0, else -1")                 \
  X(IR_CONVERT, "convert", 1, 1, 0, "(x bit|i32|u8) -> f32: the values as floats (bit: +-1)")  \
  X(IR_LINEAR, "linear", 2, 3, 0, "(x f32[in], w f32[out,in], b f32[out]?) -> f32[out]")      \
  X(IR_BINLINEAR, "binlinear", 2, 3, IR_ATTR_SCALE,                                           \
    "(x bit|f32[in], w f32[out,in], b?) -> f32[out]: x . sign(w) (* alpha) (+ b)")            \
  X(IR_BATCHNORM, "batchnorm", 5, 5, IR_ATTR_EPS,                                             \
    "(x, gamma[C], beta[C], mean[C], var[C]) -> f32, C = x's features or channels")           \
  X(IR_RELU, "relu", 1, 1, 0, "(x f32) -> f32")                                               \
  X(IR_HTANH, "htanh", 1, 1, 0, "(x f32) -> f32: clamp(x, -1, 1)")                            \
  X(IR_SIGMOID, "sigmoid", 1, 1, 0, "(x f32) -> f32")                                         \
  X(IR_SOFTMAX, "softmax", 1, 1, 0, "(x f32[n]) -> f32[n]")                                   \
  X(IR_DROPOUT, "dropout", 1, 1, IR_ATTR_P, "(x f32) -> f32: training only")                  \
  X(IR_CONV2D, "conv2d", 2, 3, IR_ATTR_KERNEL | IR_ATTR_STRIDE | IR_ATTR_PAD,                 \
    "(x f32[C,H,W], w f32[O,C,kh,kw], b f32[O]?) -> f32[O,H',W']")                            \
  X(IR_BINCONV2D, "binconv2d", 2, 3,                                                          \
    IR_ATTR_KERNEL | IR_ATTR_STRIDE | IR_ATTR_PAD | IR_ATTR_SCALE,                            \
    "(x bit|f32[C,H,W], w f32[O,C,kh,kw], b?) -> f32[O,H',W']; zero padding adds 0")          \
  X(IR_MAXPOOL, "maxpool", 1, 1, IR_ATTR_KERNEL | IR_ATTR_STRIDE,                             \
    "(x f32|bit[C,H,W]) -> same type: max over each window (bit: AND, max of +-1)")            \
  X(IR_AVGPOOL, "avgpool", 1, 1, IR_ATTR_KERNEL | IR_ATTR_STRIDE, "(x f32[C,H,W]) -> f32")    \
  X(IR_FLATTEN, "flatten", 1, 1, 0, "(x [C,H,W]) -> [C*H*W] in C,H,W order")                  \
  /* Ops the inference passes introduce (never produced by lowering). */                     \
  X(IR_BINDENSE, "bindense", 2, 2, 0,                                                         \
    "(x bit|u8|f32[in], w bit[out,in]) -> i32[out] (x bit|u8) or f32[out] (x f32): "          \
    "sum_j x_j * w_j with w_j = +-1; for bit x: in - 2 * popcount(x XOR w)")                  \
  X(IR_THRESHOLD, "threshold", 3, 3, 0,                                                       \
    "(x i32[C..], thr i32[C], flip i32[C]) -> bit: +1 iff (flip[c] ? x <= thr[c] : x >= thr[c])") \
  X(IR_BINDENSE_THR, "bindense_thr", 4, 4, 0,                                                 \
    "(x bit|u8[in], w bit[out,in], thr i32[out], flip i32[out]) -> bit[out]: "                \
    "threshold(bindense(x, w)) fused; no integers are stored")                                \
  /* Convolution ops on the packed channel layout (docs/ir.md, "Convolutions"). */             \
  X(IR_HWC, "hwc", 1, 1, 0, "(x bit[C,H,W]) -> bit[H,W,C]: the same tensor, channels last")    \
  X(IR_CHW, "chw", 1, 1, 0, "(x bit[H,W,C]) -> bit[C,H,W]: the inverse of hwc")                \
  X(IR_BINCONV, "binconv", 2, 2, IR_ATTR_KERNEL | IR_ATTR_STRIDE | IR_ATTR_PAD,               \
    "(x bit[H,W,C], w bit[O,kh,kw,C]) -> i32[O,H',W']: sum over the taps inside the "          \
    "image of C - 2 * popcount(x[iy,ix] XOR w[o,ky,kx]); padded taps add 0")                  \
  X(IR_BINCONV_THR, "binconv_thr", 4, 4, IR_ATTR_KERNEL | IR_ATTR_STRIDE | IR_ATTR_PAD,       \
    "(x bit[H,W,C], w bit[O,kh,kw,C], thr i32[O], flip i32[O]) -> bit[H',W',O]: "             \
    "threshold(binconv(x, w)) fused, the result channels last")                               \
  X(IR_MAXPOOL_HWC, "maxpool_hwc", 1, 1, IR_ATTR_KERNEL | IR_ATTR_STRIDE,                     \
    "(x bit[H,W,C]) -> bit[H',W',C]: max of +-1 over each window, i.e. the AND of its bits")  \
  X(IR_OUTPUT, "output", 1, 1, 0, "(x f32) -> f32: the model's result")

typedef enum IrOp {
#define X(e, name, lo, hi, attrs, doc) e,
  BNNC_IR_OPS(X)
#undef X
  IR_OP_COUNT
} IrOp;

typedef struct IrOpInfo {
  const char *name;
  int min_inputs;
  int max_inputs;
  unsigned attrs;
  const char *doc;
} IrOpInfo;

extern const IrOpInfo ir_op_info[IR_OP_COUNT];

typedef struct IrAttrs {
  int kernel_h, kernel_w;
  int stride;
  int pad;
  float eps;
  float p;
  bool scale;
  const char *name;       /* param name, e.g. "0.weight" */
} IrAttrs;

#define IR_MAX_INPUTS 6

typedef struct IrNode IrNode;
struct IrNode {
  IrOp op;
  int id;                 /* printed as %id; unique in the graph */
  IrType type;            /* the one output */
  IrNode *inputs[IR_MAX_INPUTS];
  int n_inputs;
  IrAttrs attrs;
  const char *label;      /* source layer label ("3"), NULL for synthesized nodes */
  SrcLoc loc;             /* source location of the layer, for diagnostics */

  /* param only: bound data, NULL until weights are bound. f32/i32 data is a
   * dense row-major array; bit data is the packed layout described above. */
  void *data;
  size_t data_bytes;

  /* memory plan: byte offset of this node's output in the scratch arena, or
   * -1 when the value does not live in scratch (params, the input, output). */
  int64_t scratch_offset;

  IrNode *prev, *next;    /* execution order */
};

typedef struct IrGraph {
  Arena *arena;
  const char *name;       /* the model name */
  IrNode *first, *last;
  int next_id;
  size_t scratch_bytes;   /* from the memory plan, 0 before it */
} IrGraph;

void ir_graph_init(IrGraph *g, Arena *arena, const char *name);

/* Create a node (not yet in the list) with the given op, type and inputs. */
IrNode *ir_node_new(IrGraph *g, IrOp op, IrType type, IrNode *const *inputs, int n_inputs);
/* List editing. */
void ir_append(IrGraph *g, IrNode *n);
void ir_insert_before(IrGraph *g, IrNode *before, IrNode *n);
void ir_remove(IrGraph *g, IrNode *n);
/* Make every user of `from` use `to` instead. */
void ir_replace_uses(IrGraph *g, IrNode *from, IrNode *to);
int ir_count_uses(const IrGraph *g, const IrNode *n);
/* The only user of n, or NULL when n has zero or several users. */
IrNode *ir_single_user(const IrGraph *g, const IrNode *n);

IrNode *ir_graph_input(const IrGraph *g);
IrNode *ir_graph_output(const IrGraph *g);

/* Type helpers. */
IrType ir_type(ElemType elem, const Shape *shape);
IrType ir_type1(ElemType elem, int64_t n);
IrType ir_type2(ElemType elem, int64_t a, int64_t b);
const char *elem_type_name(ElemType t);
/* Bytes a value of this type occupies (bit: rows padded to 64-bit words). */
int64_t ir_type_bytes(const IrType *t);
/* Words per packed row (bit type): ceil(last dim / 64). */
int64_t ir_bit_row_words(const IrType *t);

/* Printer: the stable text form shown by --emit=ir and --print-after-all. */
void ir_print(FILE *out, const IrGraph *g);

/* Verifier: checks every node's input count, types, shapes and attributes and
 * that inputs precede users. Returns true when valid; otherwise prints each
 * problem to `out` prefixed by `after` (the stage that produced the graph). A
 * failure is a compiler bug, not a user error. */
bool ir_verify(const IrGraph *g, const char *after, FILE *out);

#endif
