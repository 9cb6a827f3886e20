/* emit.c - codegen_compile: build the module, verify it, optimise it, and
 * write an object, assembly or LLVM IR into memory.
 *
 * LLVMVerifyModule runs before optimisation: a module that fails it was built
 * wrong by bnnc, so the failure is reported as a compiler bug (exit 70).
 * Optimisation is LLVM's new pass manager, `default<O0..O3>`. Every LLVM
 * error message is disposed.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Error.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "cg.h"

void codegen_buffer_free(CodegenBuffer *buf) {
  free(buf->data);
  buf->data = NULL;
  buf->size = 0;
}

/* Copies LLVM's output and adds a NUL after it, so text outputs (.s, .ll)
 * are also C strings. */
static void set_buffer(CodegenBuffer *out, const char *data, size_t size) {
  out->data = malloc(size + 1);
  if (!out->data) BNNC_BUG("out of memory");
  memcpy(out->data, data, size);
  out->data[size] = '\0';
  out->size = size;
}

/* Every param a kernel reads must have data. */
static bool check_bound(const IrGraph *g) {
  bool ok = true;
  for (const IrNode *n = g->first; n; n = n->next)
    if (n->op == IR_PARAM && !n->data) {
      bnnc_error("no weights are bound for '%s'", n->attrs.name ? n->attrs.name : "?");
      ok = false;
    }
  return ok;
}

static int optimise(LLVMModuleRef mod, LLVMTargetMachineRef tm, int level) {
  char passes[32];
  snprintf(passes, sizeof passes, "default<O%d>", level < 0 ? 0 : level > 3 ? 3 : level);
  LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
  LLVMErrorRef err = LLVMRunPasses(mod, passes, tm, opts);
  LLVMDisposePassBuilderOptions(opts);
  if (err) {
    char *msg = LLVMGetErrorMessage(err);
    fprintf(stderr, "bnnc: internal error (this is a bug): LLVM's optimiser failed: %s\n", msg);
    LLVMDisposeErrorMessage(msg);
    return BNNC_EXIT_INTERNAL;
  }
  return BNNC_EXIT_OK;
}

static int write_output(LLVMModuleRef mod, LLVMTargetMachineRef tm, CodegenFileKind kind, CodegenBuffer *out) {
  if (kind == CODEGEN_LLVM_IR) {
    char *text = LLVMPrintModuleToString(mod);
    set_buffer(out, text, strlen(text));
    LLVMDisposeMessage(text);
    return BNNC_EXIT_OK;
  }
  char *error = NULL;
  LLVMMemoryBufferRef mem = NULL;
  if (LLVMTargetMachineEmitToMemoryBuffer(tm, mod, kind == CODEGEN_OBJECT ? LLVMObjectFile : LLVMAssemblyFile,
                                          &error, &mem)) {
    bnnc_error("LLVM could not emit code for this target: %s", error ? error : "unknown error");
    LLVMDisposeMessage(error);
    return BNNC_EXIT_BAD_INPUT;
  }
  LLVMDisposeMessage(error);
  set_buffer(out, LLVMGetBufferStart(mem), LLVMGetBufferSize(mem));
  LLVMDisposeMemoryBuffer(mem);
  return BNNC_EXIT_OK;
}

int codegen_compile(const IrGraph *g, const CodegenTarget *target, CodegenFileKind kind, CodegenBuffer *out) {
  out->data = NULL;
  out->size = 0;
  CodegenInterface ifc;
  if (!codegen_interface(g, &ifc)) return BNNC_EXIT_BAD_INPUT;
  if (!check_bound(g)) return BNNC_EXIT_BAD_INPUT;
  LLVMTargetMachineRef tm = cg_create_target_machine(target);
  if (!tm) return BNNC_EXIT_BAD_INPUT;

  Cg cg = {0};
  cg.ctx = LLVMContextCreate();
  cg.mod = LLVMModuleCreateWithNameInContext(ifc.prefix, cg.ctx);
  cg.b = LLVMCreateBuilderInContext(cg.ctx);
  cg.g = g;
  cg.ifc = &ifc;
  char *triple = LLVMGetTargetMachineTriple(tm);
  LLVMSetTarget(cg.mod, triple);
  LLVMDisposeMessage(triple);
  cg.layout = LLVMCreateTargetDataLayout(tm);
  LLVMSetModuleDataLayout(cg.mod, cg.layout);

  cg.i1 = LLVMInt1TypeInContext(cg.ctx);
  cg.i8 = LLVMInt8TypeInContext(cg.ctx);
  cg.i16 = LLVMInt16TypeInContext(cg.ctx);
  cg.i32 = LLVMInt32TypeInContext(cg.ctx);
  cg.i64 = LLVMInt64TypeInContext(cg.ctx);
  cg.f32 = LLVMFloatTypeInContext(cg.ctx);
  cg.intptr = LLVMIntPtrTypeInContext(cg.ctx, cg.layout);
  cg.v8i64 = LLVMVectorType(cg.i64, 8);
  cg.v8f32 = LLVMVectorType(cg.f32, 8);
  cg.x86_vnni512 = cg_target_has_vnni512(tm);
  cg.x86_avx512 = cg_target_has_avx512(tm);
  cg.x86_gfni512 = cg_target_has_gfni512(tm);
  cg.node_ptr = calloc((size_t)g->next_id + 1, sizeof *cg.node_ptr);
  cg.scratch_offset = calloc((size_t)g->next_id + 1, sizeof *cg.scratch_offset);
  if (!cg.node_ptr || !cg.scratch_offset) BNNC_BUG("out of memory");
  codegen_scratch_layout(g, cg.scratch_offset);

  int code = BNNC_EXIT_BAD_INPUT;
  if (cg_emit_model(&cg)) {
    char *msg = NULL;
    if (LLVMVerifyModule(cg.mod, LLVMReturnStatusAction, &msg)) {
      fprintf(stderr, "bnnc: internal error (this is a bug): the generated LLVM module is invalid:\n%s\n",
              msg ? msg : "");
      code = BNNC_EXIT_INTERNAL;
    } else {
      code = optimise(cg.mod, tm, target->opt_level);
      if (code == BNNC_EXIT_OK) code = write_output(cg.mod, tm, kind, out);
    }
    LLVMDisposeMessage(msg);
  }
  free(cg.node_ptr);
  free(cg.scratch_offset);
  LLVMDisposeBuilder(cg.b);
  LLVMDisposeModule(cg.mod);
  LLVMDisposeTargetData(cg.layout);
  LLVMContextDispose(cg.ctx);
  LLVMDisposeTargetMachine(tm);
  return code;
}
