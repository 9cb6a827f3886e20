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
 * the graph's nodes in order (kernels.c), and, when the graph has binary
 * layers, PREFIX.body_block: the same for CG_BLOCK samples at once. There
 * the binary layers run on all the block's samples in one pass over their
 * weights (cg_node_takes_block), every other node sample by sample; sample s
 * uses its own copy of the memory plan at scratch + s * (plan rounded up to
 * 64 bytes), so the caller's scratch for _r and _batch is CG_BLOCK plans
 * (codegen_scratch_bytes). _infer_batch runs whole blocks through body_block
 * and the remaining n % CG_BLOCK samples through body; both compute every
 * sample with the same operations, so the results are bit for bit those of
 * one-sample calls. Every value lives at its offset in
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

static bool graph_takes_block(const IrGraph *g) {
  for (const IrNode *n = g->first; n; n = n->next)
    if (cg_node_takes_block(n)) return true;
  return false;
}

/* Bytes from one sample's copy of the plan to the next in body_block. */
static int64_t sample_stride(const IrGraph *g) { return (codegen_scratch_layout(g, NULL) + 63) / 64 * 64; }

int64_t codegen_scratch_bytes(const IrGraph *g) {
  return graph_takes_block(g) ? CG_BLOCK * sample_stride(g) : codegen_scratch_layout(g, NULL);
}

/* A float result whose only user is the output is computed in the caller's
 * output buffer, not at its plan offset and then copied: the kernels of
 * these ops store f32 with 4-byte alignment. */
static bool writes_output_directly(const IrGraph *g, const IrNode *n) {
  switch (n->op) {
  case IR_BATCHNORM:
  case IR_AFFINE:
  case IR_LINEAR:
  case IR_BINLINEAR:
  case IR_RELU:
  case IR_HTANH:
  case IR_SIGMOID:
  case IR_SOFTMAX:
  case IR_CONVERT:
    return n->type.elem == ELEM_F32 && ir_single_user(g, n) == ir_graph_output(g);
  default:
    return false;
  }
}

/* Assigns ptr[id] for every node: see the top of the file. */
static void assign_buffers(Cg *cg, LLVMValueRef *ptr, LLVMValueRef input, LLVMValueRef output, LLVMValueRef scratch) {
  LLVMValueRef *saved = cg->node_ptr;
  cg->node_ptr = ptr;
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
    } else if (writes_output_directly(g, n)) {
      p = output;
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
  cg->node_ptr = saved;
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

/* if (cond) { ... }: returns the block after; the builder is left in the then block. */
static LLVMBasicBlockRef begin_if(Cg *cg, LLVMValueRef cond) {
  LLVMBasicBlockRef then = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "then");
  LLVMBasicBlockRef after = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "endif");
  LLVMBuildCondBr(cg->b, cond, then, after);
  LLVMPositionBuilderAtEnd(cg->b, then);
  return after;
}

static void end_if(Cg *cg, LLVMBasicBlockRef after) {
  LLVMBuildBr(cg->b, after);
  LLVMPositionBuilderAtEnd(cg->b, after);
}

/* Rejects a NULL or misaligned scratch (NULL is fine when no scratch is needed). */
static void check_scratch(Cg *cg, LLVMValueRef scratch) {
  if (cg->ifc->scratch_bytes == 0) return;
  return_if(cg, is_null(cg, scratch), CODEGEN_RET_NULL);
  LLVMValueRef addr = LLVMBuildPtrToInt(cg->b, scratch, cg->intptr, "");
  LLVMValueRef low = LLVMBuildAnd(cg->b, addr, LLVMConstInt(cg->intptr, CODEGEN_SCRATCH_ALIGN - 1, 0), "");
  return_if(cg, LLVMBuildICmp(cg->b, LLVMIntNE, low, LLVMConstNull(cg->intptr), ""), CODEGEN_RET_ALIGN);
}

/* fn(input, output, scratch) with noalias pointers, running the graph on
 * `samples` samples: see the top of the file. */
static LLVMValueRef emit_body(Cg *cg, const char *suffix, int samples) {
  const CodegenInterface *ifc = cg->ifc;
  LLVMTypeRef i8p = LLVMPointerType(cg->i8, 0), f32p = LLVMPointerType(cg->f32, 0);
  LLVMTypeRef params[] = {i8p, f32p, i8p};
  LLVMValueRef fn = add_function(cg, suffix, LLVMFunctionType(LLVMVoidTypeInContext(cg->ctx), params, 3, 0), false);
  unsigned noalias = LLVMGetEnumAttributeKindForName("noalias", 7);
  for (unsigned i = 1; i <= 3; i++)   /* input, output and scratch never overlap */
    LLVMAddAttributeAtIndex(fn, i, LLVMCreateEnumAttribute(cg->ctx, noalias, 0));
  start_function(cg, fn);
  LLVMValueRef out_bytes = LLVMBuildPointerCast(cg->b, LLVMGetParam(fn, 1), i8p, "");
  int64_t in_bytes = ifc->input_size * (ifc->input_is_u8 ? 1 : 4), stride = sample_stride(cg->g);
  LLVMValueRef *ptrs[CG_BLOCK];
  for (int s = 0; s < samples; s++) {
    LLVMValueRef in_off = cg_i64(cg, s * in_bytes), out_off = cg_i64(cg, s * ifc->output_size * 4);
    LLVMValueRef scratch_off = cg_i64(cg, s * stride);
    ptrs[s] = cg->sample_ptr[s];
    assign_buffers(cg, ptrs[s], LLVMBuildInBoundsGEP2(cg->b, cg->i8, LLVMGetParam(fn, 0), &in_off, 1, ""),
                   LLVMBuildInBoundsGEP2(cg->b, cg->i8, out_bytes, &out_off, 1, ""),
                   LLVMBuildInBoundsGEP2(cg->b, cg->i8, LLVMGetParam(fn, 2), &scratch_off, 1, ""));
  }
  bool ok = true;
  for (const IrNode *n = cg->g->first; n && ok; n = n->next) {
    if (samples > 1 && cg_node_takes_block(n)) {   /* all samples in one kernel */
      cg->n_samples = samples;
      cg->sample_ptr[0] = cg->node_ptr = ptrs[0];
      ok = cg_emit_node(cg, n);
      continue;
    }
    cg->n_samples = 1;   /* one kernel per sample */
    for (int s = 0; s < samples && ok; s++) {
      cg->sample_ptr[0] = cg->node_ptr = ptrs[s];
      ok = cg_emit_node(cg, n);
    }
  }
  cg->sample_ptr[0] = ptrs[0];
  cg->n_samples = 1;
  LLVMBuildRetVoid(cg->b);
  return ok ? fn : NULL;
}

/* The exported functions around body (one sample) and block (CG_BLOCK
 * samples, or NULL). */
static void emit_entry_points(Cg *cg, LLVMValueRef body, LLVMValueRef block) {
  const CodegenInterface *ifc = cg->ifc;
  LLVMTypeRef i8p = LLVMPointerType(cg->i8, 0), f32p = LLVMPointerType(cg->f32, 0);

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

  /* PREFIX_infer(input, output): the static scratch, one sample's plan */
  int64_t plan = codegen_scratch_layout(cg->g, NULL);
  LLVMTypeRef s_type = LLVMArrayType(cg->i8, (unsigned)(plan > 0 ? plan : 1));
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

  /* PREFIX_infer_batch(input, output, n, scratch): blocks, then the rest */
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
  int64_t in_bytes = ifc->input_size * (ifc->input_is_u8 ? 1 : 4);
  LLVMValueRef n = LLVMBuildZExt(cg->b, count, cg->i64, "");
  LLVMValueRef first_rest = cg_i64(cg, 0);
  if (block) {
    LLVMValueRef blocks = LLVMBuildUDiv(cg->b, n, cg_i64(cg, CG_BLOCK), "blocks");
    LLVMBasicBlockRef after = begin_if(cg, LLVMBuildICmp(cg->b, LLVMIntNE, blocks, cg_i64(cg, 0), ""));
    CgLoop l;
    cg_loop_begin(cg, &l, blocks, "block");
    LLVMValueRef s0 = LLVMBuildMul(cg->b, l.index, cg_i64(cg, CG_BLOCK), "");
    LLVMValueRef in_off = LLVMBuildMul(cg->b, s0, cg_i64(cg, in_bytes), "");
    LLVMValueRef out_off = LLVMBuildMul(cg->b, s0, cg_i64(cg, ifc->output_size), "");
    LLVMValueRef b_args[] = {LLVMBuildInBoundsGEP2(cg->b, cg->i8, in, &in_off, 1, ""),
                             LLVMBuildInBoundsGEP2(cg->b, cg->f32, out, &out_off, 1, ""), scratch};
    LLVMBuildCall2(cg->b, LLVMGlobalGetValueType(block), block, b_args, 3, "");
    cg_loop_end(cg, &l);
    end_if(cg, after);
    first_rest = LLVMBuildMul(cg->b, blocks, cg_i64(cg, CG_BLOCK), "");
  }
  LLVMValueRef rest = LLVMBuildSub(cg->b, n, first_rest, "rest");
  LLVMBasicBlockRef after = begin_if(cg, LLVMBuildICmp(cg->b, LLVMIntNE, rest, cg_i64(cg, 0), ""));
  CgLoop l;
  cg_loop_begin(cg, &l, rest, "sample");
  LLVMValueRef i = LLVMBuildAdd(cg->b, first_rest, l.index, "");
  LLVMValueRef in_off = LLVMBuildMul(cg->b, i, cg_i64(cg, in_bytes), "");
  LLVMValueRef out_off = LLVMBuildMul(cg->b, i, cg_i64(cg, ifc->output_size), "");
  LLVMValueRef b_args[] = {LLVMBuildInBoundsGEP2(cg->b, cg->i8, in, &in_off, 1, ""),
                           LLVMBuildInBoundsGEP2(cg->b, cg->f32, out, &out_off, 1, ""), scratch};
  LLVMBuildCall2(cg->b, LLVMGlobalGetValueType(body), body, b_args, 3, "");
  cg_loop_end(cg, &l);
  end_if(cg, after);
  LLVMBuildRet(cg->b, cg_i32(cg, CODEGEN_RET_OK));
}

bool cg_emit_model(Cg *cg) {
  bool takes_block = graph_takes_block(cg->g);
  size_t n_ids = (size_t)cg->g->next_id + 1;
  LLVMValueRef *one_sample = cg->node_ptr;
  /* body: sample 0 is node_ptr; body_block: sample_ptr[0 .. CG_BLOCK) of its own */
  cg->sample_ptr[0] = one_sample;
  cg->n_samples = 1;
  LLVMValueRef body = emit_body(cg, ".body", 1), block = NULL;
  if (body && takes_block) {
    for (int s = 0; s < CG_BLOCK; s++) {
      cg->sample_ptr[s] = calloc(n_ids, sizeof *cg->sample_ptr[s]);
      if (!cg->sample_ptr[s]) BNNC_BUG("out of memory in code generation");
    }
    block = emit_body(cg, ".body_block", CG_BLOCK);
    for (int s = 0; s < CG_BLOCK; s++) free(cg->sample_ptr[s]);
  }
  cg->node_ptr = cg->sample_ptr[0] = one_sample;
  for (int s = 1; s < CG_BLOCK; s++) cg->sample_ptr[s] = NULL;
  bool ok = body && (block || !takes_block);
  if (ok) emit_entry_points(cg, body, block);
  cg_free_consts(cg);
  return ok;
}
