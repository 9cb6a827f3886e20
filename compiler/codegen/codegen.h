/* codegen.h - code generation: graph IR -> native code (LLVM) and the C header.
 *
 * This is the only part of bnnc that includes LLVM headers; this interface
 * carries no LLVM types. The driver calls it after the inference passes:
 *
 *   CodegenInterface ifc;   codegen_interface(g, &ifc);     what the header says
 *   codegen_header(g, &ifc, &text)                         the C header
 *   codegen_compile(g, &target, CODEGEN_OBJECT, &bytes)    object / asm / .ll
 *   codegen_jit(g, &target, &jm)                           the same object, callable here
 *
 * Every graph that passes ir_verify compiles, optimised or not, except
 * convolutions and pooling (a clear "not supported yet" error for now).
 * Params must have their data bound. The generated code calls nothing outside
 * itself (no libc, no heap); see docs/embedding.md for the interface.
 */
#ifndef BNNC_CODEGEN_H
#define BNNC_CODEGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ir.h"

/* Where the code will run. NULL fields mean the host: its default triple, CPU
 * name and CPU features. */
typedef struct CodegenTarget {
  const char *triple;     /* e.g. "aarch64-linux-gnu", "thumbv7em-none-eabi" */
  const char *cpu;        /* e.g. "cortex-m4", "znver4" */
  const char *features;   /* e.g. "+avx2,-avx512vpopcntdq" */
  int opt_level;          /* 0..3: LLVM's default<O0..O3> pipeline */
} CodegenTarget;

typedef enum CodegenFileKind {
  CODEGEN_OBJECT,         /* relocatable object (.o) */
  CODEGEN_ASSEMBLY,       /* assembly text (.s) */
  CODEGEN_LLVM_IR,        /* LLVM IR text (.ll), after optimisation */
} CodegenFileKind;

/* Bytes produced by codegen_compile or codegen_header, malloc'ed; data[size]
 * is always a NUL, so text outputs are also C strings. */
typedef struct CodegenBuffer {
  char *data;
  size_t size;
} CodegenBuffer;

void codegen_buffer_free(CodegenBuffer *buf);

/* The facts the generated header states, derived from the graph once so the
 * header and the object agree. */
typedef struct CodegenInterface {
  char prefix[128];       /* symbol prefix: the model name ("bnn_mlp") */
  char macro_prefix[128]; /* the same in upper case ("BNN_MLP") */
  bool input_is_u8;       /* else float */
  int64_t input_size;     /* elements of the input type */
  int64_t output_size;    /* floats */
  int64_t scratch_bytes;  /* from the memory plan (or codegen's own, unplanned graphs) */
} CodegenInterface;

/* Return codes of the generated functions (the header repeats them). */
enum {
  CODEGEN_RET_OK = 0,
  CODEGEN_RET_NULL = 1,   /* a NULL pointer where one is needed */
  CODEGEN_RET_ALIGN = 2,  /* scratch not aligned to CODEGEN_SCRATCH_ALIGN bytes */
};
#define CODEGEN_SCRATCH_ALIGN 16

/* Fill *ifc from g. Returns false after reporting an error (bad model name). */
bool codegen_interface(const IrGraph *g, CodegenInterface *ifc);

/* The C header text. `source` names the model file in its opening comment. */
void codegen_header(const CodegenInterface *ifc, const char *source, CodegenBuffer *out);

/* Compile g for target into *out. Returns a BNNC_EXIT_* code (diag.h): 0,
 * BNNC_EXIT_BAD_INPUT for an unsupported op, unbound weights or a bad target
 * (reported on stderr), BNNC_EXIT_INTERNAL when LLVM rejects the module we
 * built (a bnnc bug). */
int codegen_compile(const IrGraph *g, const CodegenTarget *target, CodegenFileKind kind,
                    CodegenBuffer *out);

/* In-process code for the host (bnnc --verify): the object codegen_compile
 * makes for `target`, linked into this process by LLVM's ORC JIT (jit.c).
 * The functions are those of docs/embedding.md, with `input` as void. A
 * target triple other than the host's is refused. Returns a BNNC_EXIT_* code
 * like codegen_compile; on success dispose with codegen_jit_dispose, after
 * which the function pointers are dangling. */
typedef int (*CodegenInferFn)(const void *input, float *output);
typedef int (*CodegenInferRFn)(const void *input, float *output, void *scratch);
typedef int (*CodegenInferBatchFn)(const void *input, float *output, size_t n, void *scratch);

typedef struct CodegenJit CodegenJit;   /* the JIT and the object it holds */

typedef struct CodegenJitModel {
  CodegenJit *jit;
  CodegenInterface ifc;                 /* sizes and names, as in the header */
  CodegenInferFn infer;                 /* PREFIX_infer: static scratch, not reentrant */
  CodegenInferRFn infer_r;              /* PREFIX_infer_r */
  CodegenInferBatchFn infer_batch;      /* PREFIX_infer_batch */
} CodegenJitModel;

int codegen_jit(const IrGraph *g, const CodegenTarget *target, CodegenJitModel *out);
void codegen_jit_dispose(CodegenJitModel *m);

/* Scratch layout: the memory plan's offsets when the graph has one, else one
 * of codegen's own (one buffer per value, for unplanned graphs). Fills
 * offsets[node id] (byte offset, or -1 for values outside scratch) when
 * offsets is not NULL; returns the scratch size in bytes. */
int64_t codegen_scratch_layout(const IrGraph *g, int64_t *offsets);
/* The caller's scratch for PREFIX_infer_r and _infer_batch (PREFIX_SCRATCH_BYTES):
 * one memory plan per sample of a batch block (emit_model.c). */
int64_t codegen_scratch_bytes(const IrGraph *g);

/* The host's default triple, for messages and tests (malloc'ed). */
char *codegen_host_triple(void);

#endif
