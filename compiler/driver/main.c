/* main.c - the bnnc command: parse the command line, run one mode.
 *
 * Only wiring lives here: each mode is a function in its own file (driver.h).
 * Exit codes: 0 success, 1 bad input, 2 bad command line, 70 internal error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "driver.h"

#ifndef BNNC_VERSION
#define BNNC_VERSION "0.0.0"
#endif
#ifndef BNNC_LLVM_VERSION_STRING
#define BNNC_LLVM_VERSION_STRING "unknown"
#endif

static const char usage_text[] =
    "Usage:\n"
    "  bnnc MODEL.bnn [-o OUT] [--emit=obj|asm|llvm|header|ir] [options]   compile\n"
    "  bnnc --train MODEL.bnn [--data DIR] [options]                       train\n"
    "  bnnc --eval MODEL.bnn [--weights W] [--data DIR]                    evaluate\n"
    "  bnnc --stats MODEL.bnn                                              per-layer table\n"
    "  bnnc --verify MODEL.bnn [--weights W] [--samples N] [--data DIR]    compiled vs runtime\n"
    "\n"
    "Compile options:\n"
    "  -o FILE               output file (default: MODEL.o, .s, .ll, .h; '-' = stdout for text)\n"
    "  --emit=KIND           obj (default), asm, llvm, header, or ir (bnnc's graph IR)\n"
    "  -H FILE.h             also write the C header\n"
    "  -O0 .. -O3            LLVM optimisation level (default -O2)\n"
    "  --target TRIPLE       target triple (default: the host)\n"
    "  --mcpu CPU            target CPU (default: the host CPU)\n"
    "  --mattr FEATURES      target features, e.g. +avx2,-avx512vpopcntdq\n"
    "  --print-after-all     print the IR after lowering and after every pass\n"
    "  --no-passes           with --emit=ir: the IR as lowered, before any pass\n"
    "\n"
    "Weights (compile, eval, verify):\n"
    "  --weights FILE        safetensors weights (default: MODEL.safetensors beside MODEL.bnn)\n"
    "  --random-weights SEED use seeded random weights (benchmarks and tests)\n"
    "\n"
    "Training and evaluation:\n"
    "  --data DIR            (train, eval, verify) folder with the four IDX files (default: /usr/share/datasets/fashion-mnist)\n"
    "  --epochs N            override the train block's epochs\n"
    "  --batch N             override the batch size\n"
    "  --lr X                override the learning rate\n"
    "  --seed N              override the seed\n"
    "  --threads N           BLAS threads (default: all cores)\n"
    "  --resume CHECKPOINT   continue training from a checkpoint\n"
    "  --metrics FILE.csv    write one row per epoch\n"
    "  --plot FILE.svg       draw loss and accuracy curves\n"
    "  --predictions FILE    (eval) write one predicted class per line\n"
    "  --limit-train N       use only the first N training images\n"
    "  --limit-test N        use only the first N test images\n"
    "  --samples N           (verify) random inputs to compare (default 1000)\n"
    "\n"
    "  -q, --quiet           less output\n"
    "  -h, --help            this help\n"
    "  --version             bnnc and LLVM versions\n"
    "\n"
    "Exit status: 0 success, 1 bad input (model, weights, data), 2 bad command line, 70 bnnc bug.\n"
    "Documentation: README.md and docs/ in the bnnc source tree.\n";

static void usage_error(const char *fmt, const char *arg) {
  fputs("bnnc: error: ", stderr);
  fprintf(stderr, fmt, arg);
  fputs("\nTry 'bnnc --help' for more information.\n", stderr);
}

/* Whole-string integer in [lo, hi]; false on anything else. */
static bool parse_int(const char *s, long long lo, long long hi, long long *out) {
  if (!s || !*s) return false;
  errno = 0;
  char *end;
  long long v = strtoll(s, &end, 10);
  if (errno || *end || v < lo || v > hi) return false;
  *out = v;
  return true;
}

static bool parse_positive_double(const char *s, double *out) {
  if (!s || !*s) return false;
  errno = 0;
  char *end;
  double v = strtod(s, &end);
  if (errno || *end || !(v > 0) || v > 1e6) return false;
  *out = v;
  return true;
}

enum {
  OPT_TRAIN = 256, OPT_EVAL, OPT_STATS, OPT_VERIFY, OPT_EMIT, OPT_TARGET, OPT_MCPU, OPT_MATTR,
  OPT_PRINT_AFTER_ALL, OPT_NO_PASSES, OPT_WEIGHTS, OPT_RANDOM_WEIGHTS, OPT_DATA, OPT_EPOCHS,
  OPT_BATCH, OPT_LR, OPT_SEED, OPT_THREADS, OPT_RESUME, OPT_METRICS, OPT_PLOT, OPT_PREDICTIONS,
  OPT_LIMIT_TRAIN, OPT_LIMIT_TEST, OPT_SAMPLES, OPT_VERSION,
};

static const struct option long_options[] = {
    {"train", no_argument, NULL, OPT_TRAIN},
    {"eval", no_argument, NULL, OPT_EVAL},
    {"stats", no_argument, NULL, OPT_STATS},
    {"verify", no_argument, NULL, OPT_VERIFY},
    {"emit", required_argument, NULL, OPT_EMIT},
    {"output", required_argument, NULL, 'o'},
    {"header", required_argument, NULL, 'H'},
    {"target", required_argument, NULL, OPT_TARGET},
    {"mcpu", required_argument, NULL, OPT_MCPU},
    {"mattr", required_argument, NULL, OPT_MATTR},
    {"print-after-all", no_argument, NULL, OPT_PRINT_AFTER_ALL},
    {"no-passes", no_argument, NULL, OPT_NO_PASSES},
    {"weights", required_argument, NULL, OPT_WEIGHTS},
    {"random-weights", required_argument, NULL, OPT_RANDOM_WEIGHTS},
    {"data", required_argument, NULL, OPT_DATA},
    {"epochs", required_argument, NULL, OPT_EPOCHS},
    {"batch", required_argument, NULL, OPT_BATCH},
    {"lr", required_argument, NULL, OPT_LR},
    {"seed", required_argument, NULL, OPT_SEED},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"resume", required_argument, NULL, OPT_RESUME},
    {"metrics", required_argument, NULL, OPT_METRICS},
    {"plot", required_argument, NULL, OPT_PLOT},
    {"predictions", required_argument, NULL, OPT_PREDICTIONS},
    {"limit-train", required_argument, NULL, OPT_LIMIT_TRAIN},
    {"limit-test", required_argument, NULL, OPT_LIMIT_TEST},
    {"samples", required_argument, NULL, OPT_SAMPLES},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static bool parse_emit(const char *s, EmitKind *out) {
  static const struct { const char *name; EmitKind kind; } kinds[] = {
      {"obj", EMIT_OBJ}, {"asm", EMIT_ASM}, {"llvm", EMIT_LLVM}, {"header", EMIT_HEADER}, {"ir", EMIT_IR}};
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
    if (strcmp(s, kinds[i].name) == 0) {
      *out = kinds[i].kind;
      return true;
    }
  return false;
}

/* Parses argv into o; returns -1 to go on, else the exit code. */
static int parse_command_line(int argc, char **argv, DriverOptions *o) {
  int n_modes = 0;
  long long v;
  opterr = 0;   /* we print our own messages */
  optind = 1;
  for (;;) {
    int opt_index = 0;
    int c = getopt_long(argc, argv, ":o:H:O:qh", long_options, &opt_index);
    if (c == -1) break;
    const char *arg = optarg;
    switch (c) {
    case OPT_TRAIN: o->mode = MODE_TRAIN; n_modes++; break;
    case OPT_EVAL: o->mode = MODE_EVAL; n_modes++; break;
    case OPT_STATS: o->mode = MODE_STATS; n_modes++; break;
    case OPT_VERIFY: o->mode = MODE_VERIFY; n_modes++; break;
    case OPT_EMIT:
      if (!parse_emit(arg, &o->emit)) {
        usage_error("unknown --emit kind '%s' (expected obj, asm, llvm, header or ir)", arg);
        return BNNC_EXIT_USAGE;
      }
      break;
    case 'o': o->output_path = arg; break;
    case 'H': o->header_path = arg; break;
    case 'O':
      if (!parse_int(arg, 0, 3, &v)) {
        usage_error("bad optimisation level '-O%s' (expected -O0 to -O3)", arg);
        return BNNC_EXIT_USAGE;
      }
      o->opt_level = (int)v;
      break;
    case OPT_TARGET: o->target_triple = arg; break;
    case OPT_MCPU: o->mcpu = arg; break;
    case OPT_MATTR: o->mattr = arg; break;
    case OPT_PRINT_AFTER_ALL: o->print_after_all = true; break;
    case OPT_NO_PASSES: o->no_passes = true; break;
    case OPT_WEIGHTS: o->weights_path = arg; break;
    case OPT_RANDOM_WEIGHTS:
      if (!parse_int(arg, 0, INT64_MAX, &v)) {
        usage_error("--random-weights needs a seed (a non-negative integer), not '%s'", arg);
        return BNNC_EXIT_USAGE;
      }
      o->random_weights = true;
      o->random_seed = (uint64_t)v;
      break;
    case OPT_DATA: o->data_dir = arg; break;
    case OPT_EPOCHS:
    case OPT_BATCH:
    case OPT_THREADS:
    case OPT_SAMPLES:
      if (!parse_int(arg, 1, 1000000, &v)) {
        usage_error(c == OPT_EPOCHS ? "--epochs needs a whole number from 1 to 1000000, not '%s'"
                    : c == OPT_BATCH ? "--batch needs a whole number from 1 to 1000000, not '%s'"
                    : c == OPT_THREADS ? "--threads needs a whole number from 1 to 1000000, not '%s'"
                                       : "--samples needs a whole number from 1 to 1000000, not '%s'",
                    arg);
        return BNNC_EXIT_USAGE;
      }
      if (c == OPT_EPOCHS) o->epochs = (int)v;
      if (c == OPT_BATCH) o->batch = (int)v;
      if (c == OPT_THREADS) o->threads = (int)v;
      if (c == OPT_SAMPLES) o->samples = (int)v;
      break;
    case OPT_LIMIT_TRAIN:
    case OPT_LIMIT_TEST:
      if (!parse_int(arg, 1, INT32_MAX, &v)) {
        usage_error(c == OPT_LIMIT_TRAIN ? "--limit-train needs a positive whole number, not '%s'"
                                         : "--limit-test needs a positive whole number, not '%s'",
                    arg);
        return BNNC_EXIT_USAGE;
      }
      if (c == OPT_LIMIT_TRAIN) o->limit_train = (long)v;
      else o->limit_test = (long)v;
      break;
    case OPT_LR:
      if (!parse_positive_double(arg, &o->lr)) {
        usage_error("--lr needs a positive number, not '%s'", arg);
        return BNNC_EXIT_USAGE;
      }
      break;
    case OPT_SEED:
      if (!parse_int(arg, 0, INT64_MAX, &v)) {
        usage_error("--seed needs a non-negative whole number, not '%s'", arg);
        return BNNC_EXIT_USAGE;
      }
      o->seed_set = true;
      o->seed = (uint64_t)v;
      break;
    case OPT_RESUME: o->resume_path = arg; break;
    case OPT_METRICS: o->metrics_path = arg; break;
    case OPT_PLOT: o->plot_path = arg; break;
    case OPT_PREDICTIONS: o->predictions_path = arg; break;
    case 'q': o->quiet = true; break;
    case 'h': fputs(usage_text, stdout); return BNNC_EXIT_OK;
    case OPT_VERSION:
      printf("bnnc %s (LLVM %s)\n", BNNC_VERSION, BNNC_LLVM_VERSION_STRING);
      return BNNC_EXIT_OK;
    case ':':
      usage_error("option '%s' needs an argument", argv[optind - 1]);
      return BNNC_EXIT_USAGE;
    default:
      if (optopt) {
        char flag[3] = {'-', (char)optopt, '\0'};
        usage_error("unknown option '%s'", flag);
      } else {
        usage_error("unknown option '%s'", argv[optind - 1]);
      }
      return BNNC_EXIT_USAGE;
    }
  }
  if (n_modes > 1) {
    usage_error("%s", "choose one of --train, --eval, --stats and --verify");
    return BNNC_EXIT_USAGE;
  }
  if (optind >= argc) {
    usage_error("%s", "no model file given");
    return BNNC_EXIT_USAGE;
  }
  if (argc - optind > 1) {
    usage_error("only one model file may be given; '%s' is extra", argv[optind + 1]);
    return BNNC_EXIT_USAGE;
  }
  o->model_path = argv[optind];
  if (o->random_weights && o->weights_path) {
    usage_error("%s", "--weights and --random-weights exclude each other");
    return BNNC_EXIT_USAGE;
  }
  return -1;
}

int main(int argc, char **argv) {
  DriverOptions o = {.mode = MODE_COMPILE, .emit = EMIT_OBJ, .opt_level = 2, .samples = 1000};
  int code = parse_command_line(argc, argv, &o);
  if (code >= 0) return code;

  switch (o.mode) {
  case MODE_COMPILE: return driver_compile(&o);
  case MODE_TRAIN: return driver_train(&o);
  case MODE_EVAL: return driver_eval(&o);
  case MODE_STATS: return driver_stats(&o);
  case MODE_VERIFY: return driver_verify(&o);
  }
  BNNC_BUG("unknown mode %d", (int)o.mode);
}
