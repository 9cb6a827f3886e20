/* target.c - the one place that creates an LLVM target machine.
 *
 * Triple, CPU and features come from --target/--mcpu/--mattr; without
 * --target they default to the host (LLVM's default triple, the host CPU's
 * name and its features, with --mattr appended so "-avx512vpopcntdq" can
 * switch one off). Every target LLVM was built with is initialised, so cross
 * compiling needs no flag beyond --target. Position-independent code, except
 * on bare-metal triples ("-none-"), where the default static model is right.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"

static void initialise_targets(void) {
  static bool done;
  if (done) return;
  LLVMInitializeAllTargetInfos();
  LLVMInitializeAllTargets();
  LLVMInitializeAllTargetMCs();
  LLVMInitializeAllAsmPrinters();
  done = true;
}

char *codegen_host_triple(void) {
  char *t = LLVMGetDefaultTargetTriple();
  size_t n = strlen(t) + 1;
  char *copy = malloc(n);
  if (!copy) BNNC_BUG("out of memory");
  memcpy(copy, t, n);
  LLVMDisposeMessage(t);
  return copy;
}

/* "a" + "," + "b", either may be empty (malloc'ed). */
static char *join_features(const char *a, const char *b) {
  size_t n = strlen(a) + strlen(b) + 2;
  char *s = malloc(n);
  if (!s) BNNC_BUG("out of memory");
  snprintf(s, n, "%s%s%s", a, *a && *b ? "," : "", b);
  return s;
}

LLVMTargetMachineRef cg_create_target_machine(const CodegenTarget *t) {
  initialise_targets();
  bool host = t->triple == NULL;

  char *triple;
  if (host) {
    triple = LLVMGetDefaultTargetTriple();
  } else {
    triple = LLVMNormalizeTargetTriple(t->triple);
  }
  LLVMTargetRef target;
  char *error = NULL;
  if (LLVMGetTargetFromTriple(triple, &target, &error)) {
    bnnc_error("unknown target '%s': %s", t->triple ? t->triple : triple, error ? error : "");
    LLVMDisposeMessage(error);
    LLVMDisposeMessage(triple);
    return NULL;
  }
  LLVMDisposeMessage(error);   /* may be NULL */

  /* CPU: the host's when compiling for the host; LLVM calls an unknown one
   * "generic" (older LLVMs do not know the newest CPUs: features still say
   * what they can do). */
  char *host_cpu = host && !t->cpu ? LLVMGetHostCPUName() : NULL;
  const char *cpu = t->cpu ? t->cpu : host_cpu && *host_cpu && strcmp(host_cpu, "unknown") != 0 ? host_cpu : "generic";

  char *host_features = host ? LLVMGetHostCPUFeatures() : NULL;
  char *features = join_features(host_features ? host_features : "", t->features ? t->features : "");
  if (!LLVMTargetHasTargetMachine(target)) {
    bnnc_error("LLVM cannot generate code for target '%s'", triple);
    free(features);
    LLVMDisposeMessage(host_features);
    LLVMDisposeMessage(host_cpu);
    LLVMDisposeMessage(triple);
    return NULL;
  }
  bool bare_metal = strstr(triple, "-none") != NULL;
  LLVMCodeGenOptLevel level = t->opt_level <= 0   ? LLVMCodeGenLevelNone
                              : t->opt_level == 1 ? LLVMCodeGenLevelLess
                              : t->opt_level == 2 ? LLVMCodeGenLevelDefault
                                                  : LLVMCodeGenLevelAggressive;
  LLVMTargetMachineRef tm = LLVMCreateTargetMachine(target, triple, cpu, features, level,
                                                    bare_metal ? LLVMRelocDefault : LLVMRelocPIC,
                                                    LLVMCodeModelDefault);
  if (!tm) bnnc_error("LLVM could not create a target machine for '%s' (cpu '%s')", triple, cpu);
  free(features);
  LLVMDisposeMessage(host_features);
  LLVMDisposeMessage(host_cpu);
  LLVMDisposeMessage(triple);
  return tm;
}

/* The last "+name" / "-name" in a comma-separated feature list decides. */
static bool feature_on(const char *list, const char *name) {
  bool on = false;
  size_t len = strlen(name);
  for (const char *p = list; p && *p;) {
    const char *end = strchr(p, ',');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    if (n == len + 1 && (p[0] == '+' || p[0] == '-') && strncmp(p + 1, name, len) == 0) on = p[0] == '+';
    p = end ? end + 1 : NULL;
  }
  return on;
}

bool cg_target_has_vnni512(LLVMTargetMachineRef tm) {
  char *triple = LLVMGetTargetMachineTriple(tm);
  char *features = LLVMGetTargetMachineFeatureString(tm);
  bool x86_64 = strncmp(triple, "x86_64", 6) == 0;
  bool yes = x86_64 && feature_on(features, "avx512f") && feature_on(features, "avx512bw") &&
             feature_on(features, "avx512vnni");
  LLVMDisposeMessage(features);
  LLVMDisposeMessage(triple);
  return yes;
}

bool cg_target_has_avx512(LLVMTargetMachineRef tm) {
  char *triple = LLVMGetTargetMachineTriple(tm);
  char *features = LLVMGetTargetMachineFeatureString(tm);
  bool yes = strncmp(triple, "x86_64", 6) == 0 && feature_on(features, "avx512f");
  LLVMDisposeMessage(features);
  LLVMDisposeMessage(triple);
  return yes;
}

bool cg_target_has_gfni512(LLVMTargetMachineRef tm) {
  char *features = LLVMGetTargetMachineFeatureString(tm);
  bool yes = cg_target_has_vnni512(tm) && feature_on(features, "gfni") && feature_on(features, "avx512vbmi");
  LLVMDisposeMessage(features);
  return yes;
}
