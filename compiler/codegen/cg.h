/* cg.h - internals shared by the code generator's files (not for the driver).
 *
 *   target.c      the one place that creates an LLVM target machine
 *   builder.c     small IR-building helpers: counted loops, constants, globals
 *   kernels.c     the per-op kernels (XNOR-popcount, float layers, exp)
 *   emit_model.c  one module per model: scratch layout and exported functions
 *   emit.c        verify, optimise, write object / asm / LLVM IR
 *   header.c      the C header
 *   jit.c         the object linked into this process (ORC LLJIT), for --verify
 */
#ifndef BNNC_CG_H
#define BNNC_CG_H

#include <llvm-c/Core.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>

#include "codegen.h"
#include "ir.h"

/* Samples per pass of the binary layers in PREFIX_infer_batch: the XNOR-
 * popcount kernels stream each weight row once per block of CG_BLOCK samples
 * (docs/performance.md). The batch scratch holds CG_BLOCK copies of the
 * memory plan (codegen_scratch_bytes). */
enum { CG_BLOCK = 4 };

/* The state of one model's code generation. */
typedef struct Cg {
  LLVMContextRef ctx;
  LLVMModuleRef mod;
  LLVMBuilderRef b;
  LLVMTargetDataRef layout;    /* the target's data layout (pointer size) */
  const IrGraph *g;
  const CodegenInterface *ifc;

  LLVMTypeRef i1, i8, i16, i32, i64, f32, intptr, v8i64, v8f32;
  bool x86_vnni512;            /* the target has AVX-512 BW + VNNI (vpdpbusd) */
  bool x86_avx512;             /* 32 512-bit registers: 8 row accumulators fit */
  bool x86_gfni512;            /* x86_vnni512 with GFNI and VBMI: weight bits to bytes by vgf2p8affineqb */

  /* The function being built (the model body) and its buffers. */
  LLVMValueRef fn;
  LLVMValueRef *node_ptr;      /* by node id: i8* to the node's value, or NULL */
  /* Block-capable kernels (cg_node_takes_block) run on n_samples samples at
   * once: sample s's buffers are sample_ptr[s][node id]. n_samples is 1 and
   * sample_ptr[0] is node_ptr outside the block body. */
  int n_samples;
  LLVMValueRef *sample_ptr[CG_BLOCK];
  const IrNode *fused_convert; /* a convert already computed by the node before it (kernels.c) */
  int64_t *scratch_offset;     /* by node id: byte offset in scratch, -1 none */
  int n_globals;               /* for unique internal names */
  struct CgConst *consts;      /* the constant globals made so far, for sharing */
} Cg;

/* ---- builder.c ---- */

/* A counted loop `for (i = 0; i < n; i++)` with a compile-time n >= 1, built
 * as a do-while: the body starts in the block after cg_loop_begin and ends
 * wherever the builder is when cg_loop_end is called. Values carried from one
 * iteration to the next are phis made with cg_loop_carry right after begin. */
#define CG_LOOP_MAX_CARRIED 24
typedef struct CgLoop {
  LLVMBasicBlockRef preheader, header;
  LLVMValueRef index;          /* i64 */
  LLVMValueRef count;          /* i64 */
  LLVMValueRef carried[CG_LOOP_MAX_CARRIED];
  LLVMValueRef next[CG_LOOP_MAX_CARRIED];
  int n_carried;
} CgLoop;

void cg_loop_begin(Cg *cg, CgLoop *loop, LLVMValueRef count, const char *name);
/* A phi starting at init; set its next value with cg_loop_next(loop, k, v). */
LLVMValueRef cg_loop_carry(Cg *cg, CgLoop *loop, LLVMValueRef init);
void cg_loop_next(CgLoop *loop, LLVMValueRef phi, LLVMValueRef next);
/* Closes the loop; after it the carried values' final values are loop->next[k]. */
void cg_loop_end(Cg *cg, CgLoop *loop);

LLVMValueRef cg_i32(Cg *cg, int64_t v);
LLVMValueRef cg_i64(Cg *cg, int64_t v);
LLVMValueRef cg_f32(Cg *cg, float v);

/* An internal constant global holding `bytes` raw bytes, 64-byte aligned,
 * returned as a pointer to elem. Identical contents share one global (the
 * batch body and the one-sample body emit the same tables). */
LLVMValueRef cg_const_global(Cg *cg, const char *what, const void *bytes, size_t size, LLVMTypeRef elem);
/* Frees the record of constant globals (not the globals). */
void cg_free_consts(Cg *cg);

/* Typed access: base is any pointer; index is in elements of `elem`. */
LLVMValueRef cg_elem_ptr(Cg *cg, LLVMValueRef base, LLVMTypeRef elem, LLVMValueRef index);
LLVMValueRef cg_load(Cg *cg, LLVMValueRef base, LLVMTypeRef elem, LLVMValueRef index, unsigned align);
void cg_store(Cg *cg, LLVMValueRef value, LLVMValueRef base, LLVMTypeRef elem, LLVMValueRef index,
              unsigned align);
LLVMValueRef cg_call_intrinsic(Cg *cg, const char *name, LLVMTypeRef *overload, int n_overload,
                               LLVMValueRef *args, int n_args);
/* Function attributes every generated function carries (no-builtins, ...). */
void cg_add_function_attrs(Cg *cg, LLVMValueRef fn);

/* ---- kernels.c ---- */

/* Emit the code computing node n (its inputs already computed) into the
 * current function. Returns false after reporting an unsupported op. */
bool cg_emit_node(Cg *cg, const IrNode *n);
/* Whether cg_emit_node runs n on cg->n_samples samples at once (binary layers
 * on bits or bytes); other nodes are emitted once per sample. */
bool cg_node_takes_block(const IrNode *n);

/* ---- target.c ---- */

/* Creates the target machine for t (NULL fields: the host). Reports and
 * returns NULL on a bad triple/CPU. Dispose with LLVMDisposeTargetMachine. */
LLVMTargetMachineRef cg_create_target_machine(const CodegenTarget *t);
/* Whether tm is x86 with AVX-512 BW and VNNI enabled (after --mattr). */
bool cg_target_has_vnni512(LLVMTargetMachineRef tm);
bool cg_target_has_avx512(LLVMTargetMachineRef tm);
/* vnni512 and also GFNI and AVX-512 VBMI (bit-to-byte expansion by vgf2p8affineqb). */
bool cg_target_has_gfni512(LLVMTargetMachineRef tm);

/* ---- emit_model.c ---- */

/* Builds the module for g into cg->mod (cg->ctx, mod, layout set). */
bool cg_emit_model(Cg *cg);

/* ---- kernels_conv.c ---- */

/* Convolution and pooling ops (conv2d, binconv2d on f32, maxpool, avgpool,
 * hwc, chw, binconv, binconv_thr, maxpool_hwc), as cg_emit_node. */
bool cg_emit_conv_node(Cg *cg, const IrNode *n);

#endif
