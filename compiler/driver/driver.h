/* driver.h - the bnnc command's modes. main.c parses the command line into
 * DriverOptions and calls exactly one mode; each mode lives in its own file
 * (compile.c, train.c, eval.c, stats.c, verify.c) and returns an exit code
 * (BNNC_EXIT_* from diag.h).
 */
#ifndef BNNC_DRIVER_H
#define BNNC_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

typedef enum DriverMode {
  MODE_COMPILE,   /* bnnc MODEL.bnn [-o OUT] [--emit=...] */
  MODE_TRAIN,     /* bnnc --train MODEL.bnn */
  MODE_EVAL,      /* bnnc --eval MODEL.bnn */
  MODE_STATS,     /* bnnc --stats MODEL.bnn */
  MODE_VERIFY,    /* bnnc --verify MODEL.bnn */
} DriverMode;

typedef enum EmitKind {
  EMIT_OBJ,       /* default */
  EMIT_ASM,
  EMIT_LLVM,
  EMIT_HEADER,
  EMIT_IR,        /* bnnc's own graph IR, after lowering (and passes with -O>0? no: see --print-after-all) */
} EmitKind;

typedef struct DriverOptions {
  DriverMode mode;
  const char *model_path;     /* the .bnn file (required) */
  const char *output_path;    /* -o; NULL = mode's default */

  /* compile */
  EmitKind emit;
  const char *header_path;    /* -H FILE.h */
  const char *target_triple;  /* --target; NULL = host */
  const char *mcpu;           /* --mcpu;  NULL = host CPU */
  const char *mattr;          /* --mattr; NULL = host features */
  int opt_level;              /* -O0..-O3, default 2 */
  bool print_after_all;
  bool no_passes;             /* --emit=ir without optimisation: the lowered IR */

  /* weights (compile, eval, verify) */
  const char *weights_path;   /* --weights; NULL = MODEL.safetensors beside the .bnn */
  bool random_weights;        /* --random-weights SEED */
  uint64_t random_seed;

  /* train / eval */
  const char *data_dir;       /* --data; NULL = /usr/share/datasets/fashion-mnist */
  int epochs;                 /* 0 = from the train block */
  int batch;                  /* 0 = from the train block */
  double lr;                  /* 0 = from the train block */
  bool seed_set;
  uint64_t seed;
  int threads;                /* 0 = default */
  const char *resume_path;    /* --resume CHECKPOINT */
  const char *metrics_path;   /* --metrics FILE.csv */
  const char *plot_path;      /* --plot FILE.svg */
  const char *predictions_path; /* --eval --predictions FILE */
  long limit_train;           /* --limit-train N: use the first N training images (0 = all) */
  long limit_test;            /* --limit-test N */

  /* verify */
  int samples;                /* --samples N, default 1000 */

  bool quiet;
} DriverOptions;

int driver_compile(const DriverOptions *o);
int driver_train(const DriverOptions *o);
int driver_eval(const DriverOptions *o);
int driver_stats(const DriverOptions *o);
int driver_verify(const DriverOptions *o);

#endif
