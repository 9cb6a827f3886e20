/* builder.c - small LLVM IR building helpers used by every kernel: counted
 * loops with carried values, constants, internal constant globals and typed
 * loads/stores. Nothing model-specific lives here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"

void cg_loop_begin(Cg *cg, CgLoop *loop, LLVMValueRef count, const char *name) {
  memset(loop, 0, sizeof *loop);
  loop->preheader = LLVMGetInsertBlock(cg->b);
  loop->header = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, name);
  loop->count = count;
  LLVMBuildBr(cg->b, loop->header);
  LLVMPositionBuilderAtEnd(cg->b, loop->header);
  loop->index = LLVMBuildPhi(cg->b, cg->i64, "i");
  LLVMValueRef zero = cg_i64(cg, 0);
  LLVMAddIncoming(loop->index, &zero, &loop->preheader, 1);
}

LLVMValueRef cg_loop_carry(Cg *cg, CgLoop *loop, LLVMValueRef init) {
  BNNC_ASSERT(loop->n_carried < CG_LOOP_MAX_CARRIED);
  /* Phis go first in the header, before anything the body has built. */
  LLVMBuilderRef tmp = LLVMCreateBuilderInContext(cg->ctx);
  LLVMPositionBuilderBefore(tmp, loop->index);
  LLVMValueRef phi = LLVMBuildPhi(tmp, LLVMTypeOf(init), "acc");
  LLVMDisposeBuilder(tmp);
  LLVMAddIncoming(phi, &init, &loop->preheader, 1);
  loop->carried[loop->n_carried] = phi;
  loop->next[loop->n_carried] = NULL;
  loop->n_carried++;
  return phi;
}

void cg_loop_next(CgLoop *loop, LLVMValueRef phi, LLVMValueRef next) {
  for (int k = 0; k < loop->n_carried; k++)
    if (loop->carried[k] == phi) {
      loop->next[k] = next;
      return;
    }
  BNNC_BUG("cg_loop_next: not a carried value of this loop");
}

void cg_loop_end(Cg *cg, CgLoop *loop) {
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(cg->b);
  LLVMValueRef next_index = LLVMBuildNUWAdd(cg->b, loop->index, cg_i64(cg, 1), "i.next");
  LLVMAddIncoming(loop->index, &next_index, &latch, 1);
  for (int k = 0; k < loop->n_carried; k++) {
    BNNC_ASSERT(loop->next[k]);
    LLVMAddIncoming(loop->carried[k], &loop->next[k], &latch, 1);
  }
  LLVMValueRef more = LLVMBuildICmp(cg->b, LLVMIntULT, next_index, loop->count, "more");
  LLVMBasicBlockRef exit = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "loop.exit");
  LLVMBuildCondBr(cg->b, more, loop->header, exit);
  LLVMPositionBuilderAtEnd(cg->b, exit);
}

LLVMValueRef cg_i32(Cg *cg, int64_t v) { return LLVMConstInt(cg->i32, (unsigned long long)v, 1); }
LLVMValueRef cg_i64(Cg *cg, int64_t v) { return LLVMConstInt(cg->i64, (unsigned long long)v, 1); }
LLVMValueRef cg_f32(Cg *cg, float v) { return LLVMConstReal(cg->f32, v); }

/* One constant global made by cg_const_global: its bytes, for sharing. */
typedef struct CgConst {
  struct CgConst *next;
  uint64_t hash;
  size_t size;
  void *bytes;
  LLVMValueRef global;
} CgConst;

static uint64_t hash_bytes(const void *bytes, size_t size) {
  const unsigned char *p = bytes;
  uint64_t h = 1469598103934665603u;   /* FNV-1a */
  for (size_t i = 0; i < size; i++) h = (h ^ p[i]) * 1099511628211u;
  return h;
}

LLVMValueRef cg_const_global(Cg *cg, const char *what, const void *bytes, size_t size, LLVMTypeRef elem) {
  BNNC_ASSERT(size <= UINT32_MAX);
  uint64_t h = hash_bytes(bytes, size);
  for (CgConst *c = cg->consts; c; c = c->next)
    if (c->hash == h && c->size == size && memcmp(c->bytes, bytes, size) == 0)
      return LLVMConstPointerCast(c->global, LLVMPointerType(elem, 0));
  LLVMValueRef init = LLVMConstStringInContext(cg->ctx, bytes, (unsigned)size, 1);
  char name[192];
  snprintf(name, sizeof name, "%s.%s.%d", cg->ifc->prefix, what, cg->n_globals++);
  LLVMValueRef gv = LLVMAddGlobal(cg->mod, LLVMTypeOf(init), name);
  LLVMSetInitializer(gv, init);
  LLVMSetGlobalConstant(gv, 1);
  LLVMSetLinkage(gv, LLVMInternalLinkage);
  LLVMSetUnnamedAddr(gv, 1);
  LLVMSetAlignment(gv, 64);
  CgConst *c = malloc(sizeof *c);
  void *copy = malloc(size ? size : 1);
  if (!c || !copy) BNNC_BUG("out of memory in code generation");
  memcpy(copy, bytes, size);
  *c = (CgConst){cg->consts, h, size, copy, gv};
  cg->consts = c;
  return LLVMConstPointerCast(gv, LLVMPointerType(elem, 0));
}

void cg_free_consts(Cg *cg) {
  while (cg->consts) {
    CgConst *c = cg->consts;
    cg->consts = c->next;
    free(c->bytes);
    free(c);
  }
}

LLVMValueRef cg_elem_ptr(Cg *cg, LLVMValueRef base, LLVMTypeRef elem, LLVMValueRef index) {
  LLVMValueRef typed = LLVMBuildPointerCast(cg->b, base, LLVMPointerType(elem, 0), "");
  return LLVMBuildInBoundsGEP2(cg->b, elem, typed, &index, 1, "");
}

LLVMValueRef cg_load(Cg *cg, LLVMValueRef base, LLVMTypeRef elem, LLVMValueRef index, unsigned align) {
  LLVMValueRef v = LLVMBuildLoad2(cg->b, elem, cg_elem_ptr(cg, base, elem, index), "");
  LLVMSetAlignment(v, align);
  return v;
}

void cg_store(Cg *cg, LLVMValueRef value, LLVMValueRef base, LLVMTypeRef elem, LLVMValueRef index,
              unsigned align) {
  LLVMValueRef s = LLVMBuildStore(cg->b, value, cg_elem_ptr(cg, base, elem, index));
  LLVMSetAlignment(s, align);
}

LLVMValueRef cg_call_intrinsic(Cg *cg, const char *name, LLVMTypeRef *overload, int n_overload,
                               LLVMValueRef *args, int n_args) {
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  if (!id) BNNC_BUG("LLVM has no intrinsic %s", name);
  LLVMValueRef decl = LLVMGetIntrinsicDeclaration(cg->mod, id, overload, (size_t)n_overload);
  LLVMTypeRef fn_type = LLVMIntrinsicGetType(cg->ctx, id, overload, (size_t)n_overload);
  return LLVMBuildCall2(cg->b, fn_type, decl, args, (unsigned)n_args, "");
}

static void add_string_attr(Cg *cg, LLVMValueRef fn, const char *key, const char *value) {
  LLVMAttributeRef a = LLVMCreateStringAttribute(cg->ctx, key, (unsigned)strlen(key), value,
                                                 (unsigned)strlen(value));
  LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, a);
}

static void add_enum_attr(Cg *cg, LLVMValueRef fn, const char *name) {
  unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
  BNNC_ASSERT(kind != 0);
  LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(cg->ctx, kind, 0));
}

void cg_add_function_attrs(Cg *cg, LLVMValueRef fn) {
  /* No libc: keeps LLVM from turning loops into memset/memcpy calls. */
  add_string_attr(cg, fn, "no-builtins", "");
  /* Let the x86 back end use 512-bit registers for our <8 x i64> vectors. */
  add_string_attr(cg, fn, "min-legal-vector-width", "512");
  add_enum_attr(cg, fn, "nounwind");
  add_enum_attr(cg, fn, "nofree");
  add_enum_attr(cg, fn, "nosync");
}
