/* jit.c - codegen_jit: the object `bnnc MODEL.bnn` would write, linked into
 * this process, for `bnnc --verify`.
 *
 * Why an object and not the LLVM module: the module is built, verified,
 * optimised and emitted by codegen_compile exactly as in compile mode, and
 * LLVM's ORC LLJIT only links the resulting bytes. So --verify checks the
 * very code a user links, not a sibling built another way. The object must be
 * for the machine running bnnc: a --target naming another machine is refused.
 *
 * Ownership: CodegenJitModel owns the LLJIT (which owns the object buffer);
 * codegen_jit_dispose frees both and clears the function pointers, which are
 * dangling from then on.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>

#include "cg.h"

struct CodegenJit {
  LLVMOrcLLJITRef lljit;
};

/* Reports an LLVM error (consumed) as a bnnc error prefixed by `what`. */
static void report_llvm_error(const char *what, LLVMErrorRef err) {
  char *msg = LLVMGetErrorMessage(err);
  bnnc_error("%s: %s", what, msg);
  LLVMDisposeErrorMessage(msg);
}

/* True when `triple` (NULL: the host) names the machine we run on. */
static bool runs_here(const char *triple) {
  if (!triple) return true;
  char *host = LLVMGetDefaultTargetTriple();
  char *want = LLVMNormalizeTargetTriple(triple);
  char *have = LLVMNormalizeTargetTriple(host);
  bool same = strcmp(want, have) == 0;
  if (!same) bnnc_error("cannot run code for '%s' on this machine (%s); leave out --target", triple, host);
  LLVMDisposeMessage(want);
  LLVMDisposeMessage(have);
  LLVMDisposeMessage(host);
  return same;
}

static bool lookup(CodegenJitModel *m, const char *suffix, LLVMOrcExecutorAddress *addr) {
  char name[192];
  snprintf(name, sizeof name, "%s%s", m->ifc.prefix, suffix);
  LLVMErrorRef err = LLVMOrcLLJITLookup(m->jit->lljit, addr, name);
  if (err) {
    /* The object was just made with these symbols: not finding one is a bug. */
    char *msg = LLVMGetErrorMessage(err);
    fprintf(stderr, "bnnc: internal error (this is a bug): the JIT cannot find %s: %s\n", name, msg);
    LLVMDisposeErrorMessage(msg);
    return false;
  }
  return true;
}

void codegen_jit_dispose(CodegenJitModel *m) {
  if (m->jit) {
    LLVMErrorRef err = LLVMOrcDisposeLLJIT(m->jit->lljit);
    if (err) report_llvm_error("LLVM could not tear down the JIT", err);
    free(m->jit);
  }
  memset(m, 0, sizeof *m);
}

int codegen_jit(const IrGraph *g, const CodegenTarget *target, CodegenJitModel *out) {
  memset(out, 0, sizeof *out);
  if (!runs_here(target->triple)) return BNNC_EXIT_BAD_INPUT;
  if (!codegen_interface(g, &out->ifc)) return BNNC_EXIT_BAD_INPUT;
  CodegenBuffer obj;
  int code = codegen_compile(g, target, CODEGEN_OBJECT, &obj);   /* initialises LLVM's targets */
  if (code != BNNC_EXIT_OK) return code;

  out->jit = calloc(1, sizeof *out->jit);
  if (!out->jit) BNNC_BUG("out of memory");
  LLVMErrorRef err = LLVMOrcCreateLLJIT(&out->jit->lljit, NULL);   /* NULL builder: the host */
  if (err) {
    report_llvm_error("LLVM could not create a JIT for this machine", err);
    free(out->jit);
    out->jit = NULL;
    codegen_buffer_free(&obj);
    return BNNC_EXIT_BAD_INPUT;
  }
  /* The JIT takes ownership of the buffer, so it gets its own copy. */
  LLVMMemoryBufferRef mem = LLVMCreateMemoryBufferWithMemoryRangeCopy(obj.data, obj.size, out->ifc.prefix);
  codegen_buffer_free(&obj);
  err = LLVMOrcLLJITAddObjectFile(out->jit->lljit, LLVMOrcLLJITGetMainJITDylib(out->jit->lljit), mem);
  if (err) {
    report_llvm_error("LLVM could not load the compiled model into the JIT", err);
    codegen_jit_dispose(out);
    return BNNC_EXIT_INTERNAL;
  }
  LLVMOrcExecutorAddress infer = 0, infer_r = 0, infer_batch = 0;
  if (!lookup(out, "_infer", &infer) || !lookup(out, "_infer_r", &infer_r) ||
      !lookup(out, "_infer_batch", &infer_batch)) {
    codegen_jit_dispose(out);
    return BNNC_EXIT_INTERNAL;
  }
  /* An executor address is an integer; C allows integer -> function pointer. */
  out->infer = (CodegenInferFn)(uintptr_t)infer;
  out->infer_r = (CodegenInferRFn)(uintptr_t)infer_r;
  out->infer_batch = (CodegenInferBatchFn)(uintptr_t)infer_batch;
  return BNNC_EXIT_OK;
}
