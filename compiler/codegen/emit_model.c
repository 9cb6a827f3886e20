/* emit_model.c - one LLVM module per model.
 *
 * Needs: a verified graph whose params are bound, a module with the target's
 * data layout. Gives: the exported functions of docs/embedding.md
 *
 *   int PREFIX_infer_r(const in_t *input, float *output, void *scratch)
 *   int PREFIX_infer(const in_t *input, float *output)        static scratch
 *   int PREFIX_infer_batch(const in_t *input, float *output, size_t n, void *scratch)
 *
 * around one internal function PREFIX.body(input, output, scratch) that runs
 * the graph's nodes in order (kernels.c). Every value lives at its offset in
 * the scratch buffer, except the input (the caller's), dropout/flatten (an
 * alias of their input when the plan gives them no buffer), and the output.
 * Weights and thresholds are internal constant globals; the static scratch is
 * an internal zero-initialised global. Nothing else is referenced.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cg.h"

static bool is_value(const IrNode *n) {
  return n->op != IR_PARAM && n->op != IR_INPUT && n->op != IR_OUTPUT;
}

/* flatten/dropout can share their input's bytes unless bits must be re-packed. */
static bool can_alias_input(const IrNode *n) {
  if (n->op == IR_DROPOUT) return true;
  if (n->op != IR_FLATTEN) return false;
  const IrType *x = &n->inputs[0]->type;
  return !(x->elem == ELEM_BIT && x->shape.rank > 1 && x->shape.dims[x->shape.rank - 1] % 64 != 0);
}

static bool graph_has_plan(const IrGraph *g) {
  for (const IrNode *n = g->first; n; n = n->next)
    if (is_value(n) && n->scratch_offset >= 0) return true;
  return false;
}

int64_t codegen_scratch_layout(const IrGraph *g, int64_t *offsets) {
  bool planned = graph_has_plan(g);
  int64_t size = 0;
  for (const IrNode *n = g->first; n; n = n->next) {
    int64_t off = -1;
    if (planned) {
      off = is_value(n) ? n->scratch_offset : -1;
      if (off >= 0 && off + ir_type_bytes(&n->type) > size) size = off + ir_type_bytes(&n->type);
    } else if (is_value(n) && !can_alias_input(n)) {
      /* No memory plan (an unoptimised graph): one buffer per value. */
      off = size;
      size += (ir_type_bytes(&n->type) + 63) / 64 * 64;
    }
    if (offsets) offsets[n->id] = off;
  }
  if (planned) {
    if ((int64_t)g->scratch_bytes < size)
      BNNC_BUG("the memory plan places values up to byte %lld but scratch_bytes is %zu", (long long)size,
               g->scratch_bytes);
    size = (int64_t)g->scratch_bytes;
  }
  return size;
}

/* Assigns node_ptr for every node: see the top of the file. */
static void assign_buffers(Cg *cg, LLVMValueRef input, LLVMValueRef output, LLVMValueRef scratch) {
  const IrGraph *g = cg->g;
  IrNode *out = ir_graph_output(g);
  for (const IrNode *n = g->first; n; n = n->next) {
    LLVMValueRef p = NULL;
    int64_t off = cg->scratch_offset[n->id];
    if (n->op == IR_INPUT) {
      p = input;
    } else if (n->op == IR_OUTPUT) {
      p = output;
    } else if (n->op == IR_PARAM) {
      p = NULL;
    } else if (off >= 0) {
      LLVMValueRef idx = cg_i64(cg, off);
      p = LLVMBuildInBoundsGEP2(cg->b, cg->i8, scratch, &idx, 1, "");
    } else if (can_alias_input(n)) {
      p = cg->node_ptr[n->inputs[0]->id];
    } else if (ir_single_user(g, n) == out) {
      p = output;   /* the plan writes the last value straight to the output */
    } else {
      BNNC_BUG("the memory plan gives %%%d (%s) no buffer", n->id, ir_op_info[n->op].name);
    }
    cg->node_ptr[n->id] = p;
  }
}

static LLVMValueRef add_function(Cg *cg, const char *suffix, LLVMTypeRef type, bool exported) {
  char name[192];
  snprintf(name, sizeof name, "%s%s", cg->ifc->prefix, suffix);
  LLVMValueRef fn = LLVMAddFunction(cg->mod, name, type);
  LLVMSetLinkage(fn, exported ? LLVMExternalLinkage : LLVMInternalLinkage);
  cg_add_function_attrs(cg, fn);
  return fn;
}

static void start_function(Cg *cg, LLVMValueRef fn) {
  cg->fn = fn;
  LLVMPositionBuilderAtEnd(cg->b, LLVMAppendBasicBlockInContext(cg->ctx, fn, "entry"));
}

/* if (cond) return code; */
static void return_if(Cg *cg, LLVMValueRef cond, int code) {
  LLVMBasicBlockRef fail = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "fail");
  LLVMBasicBlockRef ok = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "ok");
  LLVMBuildCondBr(cg->b, cond, fail, ok);
  LLVMPositionBuilderAtEnd(cg->b, fail);
  LLVMBuildRet(cg->b, cg_i32(cg, code));
  LLVMPositionBuilderAtEnd(cg->b, ok);
}

static LLVMValueRef is_null(Cg *cg, LLVMValueRef p) { return LLVMBuildIsNull(cg->b, p, ""); }

/* Rejects a NULL or misaligned scratch (NULL is fine when no scratch is needed). */
static void check_scratch(Cg *cg, LLVMValueRef scratch) {
  if (cg->ifc->scratch_bytes == 0) return;
  return_if(cg, is_null(cg, scratch), CODEGEN_RET_NULL);
  LLVMValueRef addr = LLVMBuildPtrToInt(cg->b, scratch, cg->intptr, "");
  LLVMValueRef low = LLVMBuildAnd(cg->b, addr, LLVMConstInt(cg->intptr, CODEGEN_SCRATCH_ALIGN - 1, 0), "");
  return_if(cg, LLVMBuildICmp(cg->b, LLVMIntNE, low, LLVMConstNull(cg->intptr), ""), CODEGEN_RET_ALIGN);
}

bool cg_emit_model(Cg *cg) {
  const CodegenInterface *ifc = cg->ifc;
  LLVMTypeRef i8p = LLVMPointerType(cg->i8, 0), f32p = LLVMPointerType(cg->f32, 0);
  LLVMTypeRef void_t = LLVMVoidTypeInContext(cg->ctx);

  /* The body: every node in execution order. */
  LLVMTypeRef body_params[] = {i8p, f32p, i8p};
  LLVMValueRef body = add_function(cg, ".body", LLVMFunctionType(void_t, body_params, 3, 0), false);
  unsigned noalias = LLVMGetEnumAttributeKindForName("noalias", 7);
  for (unsigned i = 1; i <= 3; i++)   /* input, output and scratch never overlap */
    LLVMAddAttributeAtIndex(body, i, LLVMCreateEnumAttribute(cg->ctx, noalias, 0));
  start_function(cg, body);
  LLVMValueRef out_bytes = LLVMBuildPointerCast(cg->b, LLVMGetParam(body, 1), i8p, "");
  assign_buffers(cg, LLVMGetParam(body, 0), out_bytes, LLVMGetParam(body, 2));
  for (const IrNode *n = cg->g->first; n; n = n->next)
    if (!cg_emit_node(cg, n)) return false;
  LLVMBuildRetVoid(cg->b);

  /* PREFIX_infer_r(input, output, scratch) */
  LLVMTypeRef r_params[] = {i8p, f32p, i8p};
  LLVMValueRef infer_r = add_function(cg, "_infer_r", LLVMFunctionType(cg->i32, r_params, 3, 0), true);
  start_function(cg, infer_r);
  LLVMValueRef in = LLVMGetParam(infer_r, 0), out = LLVMGetParam(infer_r, 1), scratch = LLVMGetParam(infer_r, 2);
  return_if(cg, LLVMBuildOr(cg->b, is_null(cg, in), is_null(cg, out), ""), CODEGEN_RET_NULL);
  check_scratch(cg, scratch);
  LLVMValueRef args[] = {in, out, scratch};
  LLVMBuildCall2(cg->b, LLVMGlobalGetValueType(body), body, args, 3, "");
  LLVMBuildRet(cg->b, cg_i32(cg, CODEGEN_RET_OK));

  /* PREFIX_infer(input, output): the static scratch */
  LLVMTypeRef s_type = LLVMArrayType(cg->i8, (unsigned)(ifc->scratch_bytes > 0 ? ifc->scratch_bytes : 1));
  char name[192];
  snprintf(name, sizeof name, "%s.scratch", ifc->prefix);
  LLVMValueRef s_global = LLVMAddGlobal(cg->mod, s_type, name);
  LLVMSetInitializer(s_global, LLVMConstNull(s_type));
  LLVMSetLinkage(s_global, LLVMInternalLinkage);
  LLVMSetAlignment(s_global, 64);
  LLVMTypeRef p_params[] = {i8p, f32p};
  LLVMValueRef infer = add_function(cg, "_infer", LLVMFunctionType(cg->i32, p_params, 2, 0), true);
  start_function(cg, infer);
  LLVMValueRef s_args[] = {LLVMGetParam(infer, 0), LLVMGetParam(infer, 1), LLVMConstPointerCast(s_global, i8p)};
  LLVMBuildRet(cg->b, LLVMBuildCall2(cg->b, LLVMGlobalGetValueType(infer_r), infer_r, s_args, 3, ""));

  /* PREFIX_infer_batch(input, output, n, scratch) */
  LLVMTypeRef b_params[] = {i8p, f32p, cg->intptr, i8p};
  LLVMValueRef batch = add_function(cg, "_infer_batch", LLVMFunctionType(cg->i32, b_params, 4, 0), true);
  start_function(cg, batch);
  in = LLVMGetParam(batch, 0);
  out = LLVMGetParam(batch, 1);
  LLVMValueRef count = LLVMGetParam(batch, 2);
  scratch = LLVMGetParam(batch, 3);
  return_if(cg, LLVMBuildICmp(cg->b, LLVMIntEQ, count, LLVMConstNull(cg->intptr), ""), CODEGEN_RET_OK);
  return_if(cg, LLVMBuildOr(cg->b, is_null(cg, in), is_null(cg, out), ""), CODEGEN_RET_NULL);
  check_scratch(cg, scratch);
  CgLoop l;
  cg_loop_begin(cg, &l, LLVMBuildZExt(cg->b, count, cg->i64, ""), "sample");
  int64_t in_bytes = ifc->input_size * (ifc->input_is_u8 ? 1 : 4);
  LLVMValueRef in_off = LLVMBuildMul(cg->b, l.index, cg_i64(cg, in_bytes), "");
  LLVMValueRef out_off = LLVMBuildMul(cg->b, l.index, cg_i64(cg, ifc->output_size), "");
  LLVMValueRef b_args[] = {LLVMBuildInBoundsGEP2(cg->b, cg->i8, in, &in_off, 1, ""),
                           LLVMBuildInBoundsGEP2(cg->b, cg->f32, out, &out_off, 1, ""), scratch};
  LLVMBuildCall2(cg->b, LLVMGlobalGetValueType(body), body, b_args, 3, "");
  cg_loop_end(cg, &l);
  LLVMBuildRet(cg->b, cg_i32(cg, CODEGEN_RET_OK));
  return true;
}
