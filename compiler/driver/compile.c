/* compile.c - `bnnc MODEL.bnn`: model -> IR -> passes -> code.
 *
 * The stages, in order: load (parse + check), lower, verify, bind weights,
 * the inference passes (each followed by verify), code generation, emission.
 * Every output is written atomically (a temporary file renamed over the
 * target), so a failed compile leaves no partial file, and an output that
 * names the model file itself is refused.
 */
#define _POSIX_C_SOURCE 200809L   /* open_memstream */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bnn/io.h"
#include "codegen.h"
#include "diag.h"
#include "driver.h"
#include "passes.h"
#include "pipeline.h"
#include "weights.h"

static bool is_stdout(const char *path) { return strcmp(path, "-") == 0; }

static bool same_file(const char *a, const char *b) {
  struct stat sa, sb;
  return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Writes bytes to path ("-": stdout) atomically. */
static int write_output(const DriverOptions *o, const char *path, const void *data, size_t size) {
  if (is_stdout(path)) {
    bool ok = fwrite(data, 1, size, stdout) == size && fflush(stdout) == 0;
    if (!ok) bnnc_error("cannot write to standard output: %s", strerror(errno));
    return ok ? BNNC_EXIT_OK : BNNC_EXIT_BAD_INPUT;
  }
  if (same_file(path, o->model_path)) {
    bnnc_error("refusing to overwrite the model file '%s' with compiler output", path);
    return BNNC_EXIT_USAGE;
  }
  bnn_error err = {0};
  if (bnn_write_file_atomic(path, data, size, &err) != BNN_OK) {
    bnnc_error("%s", err.msg);
    return BNNC_EXIT_BAD_INPUT;
  }
  return BNNC_EXIT_OK;
}

/* MODEL.bnn -> MODEL.ext in the current directory, like `cc -c`. */
static const char *default_output(Arena *a, const char *model_path, const char *ext) {
  const char *base = strrchr(model_path, '/');
  base = base ? base + 1 : model_path;
  size_t len = strlen(base);
  if (len > 4 && strcmp(base + len - 4, ".bnn") == 0) len -= 4;
  return arena_printf(a, "%.*s%s", (int)len, base, ext);
}

static int emit_ir(const IrGraph *g, const DriverOptions *o) {
  if (!o->output_path || is_stdout(o->output_path)) {
    ir_print(stdout, g);
    if (fflush(stdout) == 0 && !ferror(stdout)) return BNNC_EXIT_OK;
    bnnc_error("cannot write to standard output: %s", strerror(errno));
    return BNNC_EXIT_BAD_INPUT;
  }
  char *text = NULL;
  size_t size = 0;
  FILE *f = open_memstream(&text, &size);
  if (!f) BNNC_BUG("open_memstream failed");
  ir_print(f, g);
  fclose(f);
  int code = write_output(o, o->output_path, text, size);
  free(text);
  return code;
}

static void after_pass(const IrGraph *g, const char *pass, const void *ctx) {
  pipeline_verify(g, pass, ctx);
}

static int emit_header(Arena *a, const CodegenInterface *ifc, const DriverOptions *o, const char *path) {
  CodegenBuffer h;
  const char *base = strrchr(o->model_path, '/');
  codegen_header(ifc, base ? base + 1 : o->model_path, &h);
  int code = write_output(o, path, h.data, h.size);
  codegen_buffer_free(&h);
  return code;
}

static int emit_code(Arena *a, const IrGraph *g, const DriverOptions *o) {
  static const struct { EmitKind emit; CodegenFileKind kind; const char *ext; } kinds[] = {
      {EMIT_OBJ, CODEGEN_OBJECT, ".o"}, {EMIT_ASM, CODEGEN_ASSEMBLY, ".s"}, {EMIT_LLVM, CODEGEN_LLVM_IR, ".ll"}};
  size_t k = 0;
  while (kinds[k].emit != o->emit) k++;
  CodegenTarget target = {o->target_triple, o->mcpu, o->mattr, o->opt_level};
  CodegenBuffer code_buf;
  int code = codegen_compile(g, &target, kinds[k].kind, &code_buf);
  if (code != BNNC_EXIT_OK) return code;
  const char *path = o->output_path ? o->output_path : default_output(a, o->model_path, kinds[k].ext);
  code = write_output(o, path, code_buf.data, code_buf.size);
  codegen_buffer_free(&code_buf);
  return code;
}

int driver_compile(const DriverOptions *o) {
  Arena arena;
  arena_init(&arena);
  int code = BNNC_EXIT_BAD_INPUT;
  /* Before any work: -o or -H must not name the model or its weights. */
  const char *weights = o->random_weights ? NULL : pipeline_weights_path(&arena, o->model_path, o->weights_path);
  const char *outputs[] = {o->output_path, o->header_path};
  for (size_t i = 0; i < sizeof outputs / sizeof outputs[0]; i++)
    if (outputs[i] && !is_stdout(outputs[i]) &&
        !pipeline_output_allowed(o, outputs[i], "compiler output", weights, NULL)) {
      code = BNNC_EXIT_USAGE;
      goto done;
    }
  Model *model = pipeline_load_model(&arena, o);
  if (!model) goto done;
  IrGraph *g = pipeline_lower(&arena, model, o);
  if (o->emit == EMIT_IR && o->no_passes) {
    code = emit_ir(g, o);
    goto done;
  }
  if (!weights_bind(g, o)) goto done;
  PassOptions passes = passes_default_options();
  passes.after_pass = after_pass;
  passes.ctx = o;
  passes_run_inference(g, &passes);
  if (o->emit == EMIT_IR) {
    code = emit_ir(g, o);
    goto done;
  }
  CodegenInterface ifc;
  if (!codegen_interface(g, &ifc)) goto done;
  if (o->emit == EMIT_HEADER) {
    const char *path = o->output_path ? o->output_path : default_output(&arena, o->model_path, ".h");
    code = emit_header(&arena, &ifc, o, path);
    goto done;
  }
  code = emit_code(&arena, g, o);
  if (code == BNNC_EXIT_OK && o->header_path) code = emit_header(&arena, &ifc, o, o->header_path);
done:
  arena_free(&arena);
  return code;
}
