/* check.c - validate the syntax tree and build the checked Model.
 *
 * Needs: a Program from the parser (possibly with dropped lines).
 * Gives: a Model with every layer's label and in/out shape resolved and the
 * train settings with their defaults, or errors for everything wrong.
 *
 * The checker walks the statements once, carrying the shape that flows from
 * the input through the layers. A layer with an error still gives an output
 * shape when it can (a linear layer's is its OUT), so one mistake does not
 * cascade into a message for every layer after it. When a line was dropped
 * by a syntax error the shape becomes unknown until a layer re-establishes
 * it, and the "missing model/input" checks stay quiet.
 */
#include "check.h"

#include <limits.h>
#include <math.h>
#include <string.h>

/* What each statement accepts: positional arguments are handled by its check
 * function; flags (bare words) and options (name=value) are listed here and
 * collected by collect_args(). */
enum { MAX_POSITIONAL = 4, MAX_NAMED = 6 };

typedef struct Syntax {
  const char *usage;
  const char *flags[MAX_NAMED];
  const char *options[MAX_NAMED];
} Syntax;

static const Syntax layer_syntax[] = {
    [LAYER_BINLINEAR] = {"binlinear IN -> OUT [real] [bias] [scale]", {"real", "bias", "scale"}, {0}},
    [LAYER_LINEAR] = {"linear IN -> OUT [nobias]", {"nobias"}, {0}},
    [LAYER_BATCHNORM] = {"batchnorm [eps=E] [momentum=M]", {0}, {"eps", "momentum"}},
    [LAYER_SIGN] = {"sign", {0}, {0}},
    [LAYER_HTANH] = {"htanh", {0}, {0}},
    [LAYER_RELU] = {"relu", {0}, {0}},
    [LAYER_SIGMOID] = {"sigmoid", {0}, {0}},
    [LAYER_DROPOUT] = {"dropout P", {0}, {0}},
    [LAYER_SOFTMAX] = {"softmax", {0}, {0}},
    [LAYER_BINCONV2D] = {"binconv2d OUT KxK [stride=S] [pad=P] [real] [scale] [bias]",
                         {"real", "scale", "bias"}, {"stride", "pad"}},
    [LAYER_CONV2D] = {"conv2d OUT KxK [stride=S] [pad=P] [nobias]", {"nobias"}, {"stride", "pad"}},
    [LAYER_MAXPOOL] = {"maxpool KxK [stride=S]", {0}, {"stride"}},
    [LAYER_AVGPOOL] = {"avgpool KxK [stride=S]", {0}, {"stride"}},
    [LAYER_FLATTEN] = {"flatten", {0}, {0}},
};
_Static_assert(sizeof layer_syntax / sizeof layer_syntax[0] == LAYER_KIND_COUNT,
               "layer_syntax must cover every LayerKind");

static const Syntax model_syntax = {"model NAME", {0}, {0}};
static const Syntax input_syntax = {"input SHAPE [u8|f32] [normalize mean=M std=S]",
                                    {"u8", "f32", "normalize"}, {"mean", "std"}};

/* The train block's settings, declared once. */
#define TRAIN_SETTINGS(X)                                                         \
  X(SET_LOSS, "loss", "loss cross_entropy|sq_hinge")                              \
  X(SET_OPTIMIZER, "optimizer", "optimizer adam [lr=X] [betas=B1,B2] [eps=E] [weight_decay=W] | " \
                                "sgd [lr=X] [momentum=M] [weight_decay=W]")       \
  X(SET_SCHEDULE, "schedule", "schedule step every=N [gamma=G] | exp to=X | none") \
  X(SET_BATCH, "batch", "batch N")                                                \
  X(SET_EPOCHS, "epochs", "epochs N")                                             \
  X(SET_CLIP_WEIGHTS, "clip_weights", "clip_weights")                             \
  X(SET_LR_SCALE, "lr_scale", "lr_scale glorot")                                  \
  X(SET_SEED, "seed", "seed N")

typedef enum TrainSetting {
#define X(e, kw, usage) e,
  TRAIN_SETTINGS(X)
#undef X
  SET_COUNT
} TrainSetting;

static const char *const setting_names[] = {
#define X(e, kw, usage) [e] = kw,
    TRAIN_SETTINGS(X)
#undef X
};
static const char *const setting_usage[] = {
#define X(e, kw, usage) [e] = usage,
    TRAIN_SETTINGS(X)
#undef X
};
_Static_assert(sizeof setting_names / sizeof setting_names[0] == SET_COUNT, "one name per setting");

/* Every option name of the language, to tell "unknown option" from "this
 * statement does not take that option". */
static const char *const all_options[] = {"eps", "momentum", "stride", "pad", "mean", "std", "lr",
                                          "betas", "weight_decay", "every", "gamma", "to"};

typedef struct Checker {
  Arena *arena;
  Diagnostics *diag;
  const Program *program;
  Model *model;
  const Stmt *first_stmt;               /* the first statement that parsed */
  const Stmt *model_stmt, *input_stmt, *train_stmt;
  int n_layers_max;                     /* room in model->layers */
  /* the shape flowing into the next layer */
  Shape shape;
  bool shape_known;
  const Layer *prev;                    /* the layer that gave `shape`; NULL: the input */
  bool unknown_stmts;                   /* some statement was not understood */
} Checker;

#define ERROR(c, loc, ...) diag_error((c)->diag, (loc), __VA_ARGS__)

/* ---- names and suggestions ------------------------------------------ */

static int edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 32 || lb > 32) return 99;
  int row[33];
  for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
  for (size_t i = 1; i <= la; i++) {
    int diag = row[0];
    row[0] = (int)i;
    for (size_t j = 1; j <= lb; j++) {
      int up = row[j];
      int best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

/* The candidate closest to word if it is within 2 edits (and not all of it). */
static const char *closest(const char *word, const char *const *candidates, int n) {
  const char *best = NULL;
  int best_d = 3;
  for (int i = 0; i < n; i++) {
    if (!candidates[i]) continue;
    int d = edit_distance(word, candidates[i]);
    if (d < best_d && (size_t)d < strlen(word)) {
      best = candidates[i];
      best_d = d;
    }
  }
  return best;
}

static int find_name(const char *word, const char *const *names, int n) {
  for (int i = 0; i < n; i++)
    if (names[i] && strcmp(word, names[i]) == 0) return i;
  return -1;
}

static bool lookup_layer_kind(const char *word, LayerKind *kind) {
  for (int k = 0; k < LAYER_KIND_COUNT; k++)
    if (strcmp(word, layer_kind_name((LayerKind)k)) == 0) {
      *kind = (LayerKind)k;
      return true;
    }
  return false;
}

/* "the input", "layer 3 (batchnorm)", "layer 'fc1' (binlinear)" */
static const char *describe_source(Checker *c) {
  const Layer *l = c->prev;
  if (!l) return "the input";
  if (l->label[0] >= '0' && l->label[0] <= '9')
    return arena_printf(c->arena, "layer %s (%s)", l->label, layer_kind_name(l->kind));
  return arena_printf(c->arena, "layer '%s' (%s)", l->label, layer_kind_name(l->kind));
}

static const char *format_shape(Checker *c, const Shape *s) {
  char buf[128];
  return arena_strdup(c->arena, shape_format(s, buf, (int)sizeof buf));
}

/* ---- numbers ----------------------------------------------------------- */

/* An integer in [lo, hi]; limit_name names hi when it is a language limit. */
static bool get_int(Checker *c, const Number *n, const char *what, int64_t lo, int64_t hi,
                    const char *limit_name, int64_t *out) {
  if (n->bad) return false;
  if (!n->is_int) {
    ERROR(c, &n->loc, "%s must be an integer, not %s", what, n->text);
    return false;
  }
  if (n->ival < lo) {
    ERROR(c, &n->loc, "%s must be at least %lld, not %s", what, (long long)lo, n->text);
    return false;
  }
  if (n->ival > hi) {
    if (limit_name)
      ERROR(c, &n->loc, "%s %s is larger than the limit of %lld (%s)", what, n->text, (long long)hi,
            limit_name);
    else
      ERROR(c, &n->loc, "%s must be at most %lld, not %s", what, (long long)hi, n->text);
    return false;
  }
  *out = n->ival;
  return true;
}

/* A size: 1 .. BNNC_MAX_DIM. */
static bool get_dim(Checker *c, const Number *n, const char *what, int64_t *out) {
  return get_int(c, n, what, 1, BNNC_MAX_DIM, "BNNC_MAX_DIM", out);
}

/* A real number in the interval lo..hi, each end open or closed; hi may be INFINITY. */
static bool get_real(Checker *c, const Number *n, const char *what, double lo, bool lo_open,
                     double hi, bool hi_open, float *out) {
  if (n->bad) return false;
  double v = n->value;
  bool ok = (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
  if (!ok) {
    if (isinf(hi))
      ERROR(c, &n->loc, "%s must be %s %g, not %s", what, lo_open ? "greater than" : "at least", lo,
            n->text);
    else
      ERROR(c, &n->loc, "%s must be in %c%g, %g%c, not %s", what, lo_open ? '(' : '[', lo, hi,
            hi_open ? ')' : ']', n->text);
    return false;
  }
  *out = (float)v;
  return true;
}

/* Product of dims, or -1 when it overflows. */
static int64_t checked_numel(const int64_t *dims, int n) {
  int64_t p = 1;
  for (int i = 0; i < n; i++)
    if (__builtin_mul_overflow(p, dims[i], &p)) return -1;
  return p;
}

static bool check_numel(Checker *c, const SrcLoc *loc, const int64_t *dims, int n, const char *what) {
  int64_t numel = checked_numel(dims, n);
  if (numel >= 0 && numel <= BNNC_MAX_NUMEL) return true;
  char buf[160];
  int len = 0;
  for (int i = 0; i < n && len < 100; i++)
    len += snprintf(buf + len, sizeof buf - (size_t)len, i ? "x%lld" : "%lld", (long long)dims[i]);
  if (numel >= 0)
    ERROR(c, loc, "%s (%s) would have %lld elements, more than the limit of %lld (BNNC_MAX_NUMEL)",
          what, buf, (long long)numel, (long long)BNNC_MAX_NUMEL);
  else
    ERROR(c, loc, "%s (%s) would have more elements than the limit of %lld (BNNC_MAX_NUMEL)", what,
          buf, (long long)BNNC_MAX_NUMEL);
  return false;
}

/* ---- arguments ----------------------------------------------------------- */

typedef struct Args {
  const Stmt *stmt;
  const Syntax *syntax;
  const Arg *pos[MAX_POSITIONAL];
  bool pos_used[MAX_POSITIONAL];
  int n_pos;
  const Arg *flag[MAX_NAMED];
  const Arg *option[MAX_NAMED];
} Args;

static void note_first(Checker *c, const SrcLoc *loc) { diag_note(c->diag, loc, "first given here"); }

/* Sort a statement's arguments into positional ones, flags and options,
 * reporting unknown and repeated flags and options. */
static void collect_args(Checker *c, const Stmt *s, const Syntax *syntax, Args *a) {
  *a = (Args){.stmt = s, .syntax = syntax};
  for (const Arg *arg = s->args; arg; arg = arg->next) {
    if (arg->kind == ARG_OPTION) {
      int i = find_name(arg->word, syntax->options, MAX_NAMED);
      if (i >= 0) {
        if (a->option[i]) {
          ERROR(c, &arg->loc, "option '%s=' is given twice", arg->word);
          note_first(c, &a->option[i]->loc);
        } else {
          a->option[i] = arg;
        }
        continue;
      }
      const char *near = closest(arg->word, syntax->options, MAX_NAMED);
      if (find_name(arg->word, syntax->flags, MAX_NAMED) >= 0)
        ERROR(c, &arg->loc, "'%s' takes no value: write just '%s'", arg->word, arg->word);
      else if (near)
        ERROR(c, &arg->loc, "unknown option '%s=' for '%s'; did you mean '%s='?", arg->word, s->keyword,
              near);
      else if (find_name(arg->word, all_options, (int)(sizeof all_options / sizeof *all_options)) >= 0)
        ERROR(c, &arg->loc, "'%s' does not take the option '%s=' (usage: %s)", s->keyword, arg->word,
              syntax->usage);
      else
        ERROR(c, &arg->loc, "unknown option '%s=' for '%s' (usage: %s)", arg->word, s->keyword,
              syntax->usage);
      continue;
    }
    if (arg->kind == ARG_WORD) {
      int i = find_name(arg->word, syntax->flags, MAX_NAMED);
      if (i >= 0) {
        if (a->flag[i]) {
          ERROR(c, &arg->loc, "'%s' is given twice", arg->word);
          note_first(c, &a->flag[i]->loc);
        } else {
          a->flag[i] = arg;
        }
        continue;
      }
      if (find_name(arg->word, syntax->options, MAX_NAMED) >= 0) {
        ERROR(c, &arg->loc, "option '%s' needs a value, as in '%s=...'", arg->word, arg->word);
        continue;
      }
    }
    if (a->n_pos < MAX_POSITIONAL) {
      a->pos[a->n_pos++] = arg;
    } else {
      ERROR(c, &arg->loc, "too many arguments (usage: %s)", syntax->usage);
      break;
    }
  }
}

/* The i-th positional argument if it has the given kind (marking it used). */
static const Arg *take(Args *a, int i, ArgKind kind) {
  if (i >= a->n_pos || a->pos[i]->kind != kind) return NULL;
  a->pos_used[i] = true;
  return a->pos[i];
}

static const Arg *peek(const Args *a, int i) { return i < a->n_pos ? a->pos[i] : NULL; }

static void use_all(Args *a) {
  for (int i = 0; i < a->n_pos; i++) a->pos_used[i] = true;
}

/* Positional arguments nobody took are errors. */
static void finish_args(Checker *c, Args *a) {
  const Syntax *syntax = a->syntax;
  for (int i = 0; i < a->n_pos; i++) {
    if (a->pos_used[i]) continue;
    const Arg *arg = a->pos[i];
    const char *near = arg->kind == ARG_WORD ? closest(arg->word, syntax->flags, MAX_NAMED) : NULL;
    if (near)
      ERROR(c, &arg->loc, "'%s' does not take '%s'; did you mean '%s'?", a->stmt->keyword, arg->word,
            near);
    else if (strcmp(syntax->usage, a->stmt->keyword) == 0)
      ERROR(c, &arg->loc, "'%s' takes no arguments", a->stmt->keyword);
    else if (arg->kind == ARG_WORD)
      ERROR(c, &arg->loc, "'%s' does not take '%s' (usage: %s)", a->stmt->keyword, arg->word,
            syntax->usage);
    else
      ERROR(c, &arg->loc, "unexpected %s (usage: %s)", ast_describe_arg(c->arena, arg), syntax->usage);
    return;  /* one message per statement is enough */
  }
}

static bool has_flag(const Args *a, const char *name) {
  int i = find_name(name, a->syntax->flags, MAX_NAMED);
  return i >= 0 && a->flag[i];
}

static const Arg *get_option(const Args *a, const char *name) {
  int i = find_name(name, a->syntax->options, MAX_NAMED);
  return i >= 0 ? a->option[i] : NULL;
}

/* The single value of an option; an error if it has a list. */
static const Number *option_value(Checker *c, const Arg *opt) {
  if (opt->n_values != 1) {
    ERROR(c, &opt->values[1].loc, "option '%s=' takes one value", opt->word);
    return NULL;
  }
  return &opt->values[0];
}

static void option_int(Checker *c, const Args *a, const char *name, const char *what, int64_t lo,
                       int64_t hi, const char *limit, int *out) {
  const Arg *opt = get_option(a, name);
  const Number *n = opt ? option_value(c, opt) : NULL;
  int64_t v;
  if (n && get_int(c, n, what, lo, hi, limit, &v)) *out = (int)v;
}

static void option_real(Checker *c, const Args *a, const char *name, const char *what, double lo,
                        bool lo_open, double hi, bool hi_open, float *out) {
  const Arg *opt = get_option(a, name);
  const Number *n = opt ? option_value(c, opt) : NULL;
  if (n) get_real(c, n, what, lo, lo_open, hi, hi_open, out);
}

/* ---- model and input -------------------------------------------------------- */

static bool check_once(Checker *c, const Stmt *s, const Stmt **first) {
  if (*first) {
    ERROR(c, &s->loc, "'%s' is given twice", s->keyword);
    note_first(c, &(*first)->loc);
    return false;
  }
  *first = s;
  return true;
}

/* model NAME */
static void check_model(Checker *c, const Stmt *s) {
  Args a;
  collect_args(c, s, &model_syntax, &a);
  if (!check_once(c, s, &c->model_stmt)) return;
  if (s != c->first_stmt) ERROR(c, &s->loc, "'model' must be the first statement");
  const Arg *name = take(&a, 0, ARG_WORD);
  if (name) {
    c->model->name = name->word;
  } else if (peek(&a, 0)) {
    const Arg *arg = peek(&a, 0);
    if (!(arg->kind == ARG_NUMBER && arg->num.bad))
      ERROR(c, &arg->loc, "the model name must be a C identifier, like bnn_mlp, not %s", ast_describe_arg(c->arena, arg));
    use_all(&a);
  } else {
    ERROR(c, &s->loc, "'model' needs a name: model NAME");
  }
  finish_args(c, &a);
}

/* mean=M or mean=M1,...,MC: returns the number of values, or 0 on error. */
static int check_norm_values(Checker *c, const Arg *opt, int64_t channels, bool positive) {
  if (opt->n_values != 1 && opt->n_values != channels) {
    if (channels == 1)
      ERROR(c, &opt->loc, "%s has %d values, but the input has 1 channel: give 1 value", opt->word,
            opt->n_values);
    else
      ERROR(c, &opt->loc, "%s has %d values, but the input has %lld channels: give 1 value or %lld",
            opt->word, opt->n_values, (long long)channels, (long long)channels);
    return 0;
  }
  bool ok = true;
  for (int i = 0; i < opt->n_values; i++) {
    float v;
    if (positive)
      ok &= get_real(c, &opt->values[i], "std", 0, true, INFINITY, false, &v);
    else
      ok &= !opt->values[i].bad;
  }
  return ok ? opt->n_values : 0;
}

/* input SHAPE [u8|f32] [normalize mean=M std=S] */
static void check_input(Checker *c, const Stmt *s) {
  Args a;
  collect_args(c, s, &input_syntax, &a);
  if (!check_once(c, s, &c->input_stmt)) return;
  ModelInput *in = &c->model->input;
  in->loc = s->loc;
  if (c->model->n_layers > 0) ERROR(c, &s->loc, "'input' must come before the first layer");

  bool shape_ok = false;
  const Arg *arg;
  if ((arg = take(&a, 0, ARG_NUMBER))) {
    in->shape.rank = 1;
    shape_ok = get_dim(c, &arg->num, "input size", &in->shape.dims[0]);
  } else if ((arg = take(&a, 0, ARG_DIMS))) {
    if (arg->dims.bad) {
    } else if (arg->dims.n != 3) {
      ERROR(c, &arg->loc, "the input shape must be N (features) or CxHxW (an image), not %s",
            ast_describe_arg(c->arena, arg));
    } else {
      in->shape.rank = 3;
      shape_ok = true;
      for (int i = 0; i < 3; i++) {
        Number n = {.text = arena_printf(c->arena, "%lld", (long long)arg->dims.d[i]),
                    .ival = arg->dims.d[i], .is_int = true, .loc = arg->loc};
        static const char *const names[] = {"input channels", "input height", "input width"};
        shape_ok &= get_dim(c, &n, names[i], &in->shape.dims[i]);
      }
    }
  } else if (peek(&a, 0)) {
    ERROR(c, &peek(&a, 0)->loc, "expected the input shape (N or CxHxW), not %s",
          ast_describe_arg(c->arena, peek(&a, 0)));
    use_all(&a);
  } else {
    ERROR(c, &s->loc, "'input' needs a shape: %s", input_syntax.usage);
  }
  if (shape_ok && !check_numel(c, &arg->loc, in->shape.dims, in->shape.rank, "the input"))
    shape_ok = false;

  const Arg *u8 = a.flag[0], *f32 = a.flag[1], *normalize = a.flag[2];
  if (u8 && f32) ERROR(c, &(u8->loc.offset > f32->loc.offset ? u8 : f32)->loc, "give either 'u8' or 'f32', not both");
  in->type = u8 ? INPUT_U8 : INPUT_F32;

  const Arg *mean = a.option[0], *std = a.option[1];
  if (!normalize) {
    if (mean || std)
      ERROR(c, &(mean ? mean : std)->loc, "'%s=' needs 'normalize' before it: normalize mean=M std=S",
            (mean ? mean : std)->word);
  } else if (!mean || !std) {
    ERROR(c, &normalize->loc, "'normalize' needs both mean=M and std=S");
  } else if (shape_ok) {
    int64_t channels = in->shape.rank == 3 ? in->shape.dims[0] : 1;
    int n_mean = check_norm_values(c, mean, channels, false);
    int n_std = check_norm_values(c, std, channels, true);
    if (n_mean && n_std) {
      int n = n_mean > n_std ? n_mean : n_std;
      float *m = ARENA_ARRAY(c->arena, float, n), *sd = ARENA_ARRAY(c->arena, float, n);
      for (int i = 0; i < n; i++) {
        m[i] = (float)mean->values[n_mean == 1 ? 0 : i].value;
        sd[i] = (float)std->values[n_std == 1 ? 0 : i].value;
      }
      in->normalize = true;
      in->n_channels_norm = n;
      in->mean = m;
      in->std = sd;
    }
  }
  finish_args(c, &a);

  c->shape = in->shape;
  c->shape_known = shape_ok;
  c->prev = NULL;
}

/* ---- layers ------------------------------------------------------------------ */

/* The layer needs a flat (rank-1) input. */
static bool need_flat(Checker *c, const Stmt *s) {
  if (!c->shape_known || c->shape.rank == 1) return c->shape_known;
  ERROR(c, &s->loc, "'%s' needs a flat input, but %s gives %s; add 'flatten' before it", s->keyword,
        describe_source(c), format_shape(c, &c->shape));
  return false;
}

/* The layer needs an image (CxHxW) input. */
static bool need_image(Checker *c, const Stmt *s) {
  if (!c->shape_known || c->shape.rank == 3) return c->shape_known;
  ERROR(c, &s->loc, "'%s' needs an image input (CxHxW), but %s gives %s features", s->keyword,
        describe_source(c), format_shape(c, &c->shape));
  return false;
}

/* binlinear IN -> OUT [real] [bias] [scale]
 * linear IN -> OUT [nobias] */
static bool check_linear(Checker *c, const Stmt *s, Args *a, Layer *l) {
  const Arg *sizes = take(a, 0, ARG_ARROW);
  if (!sizes) {
    const Arg *first = peek(a, 0), *second = peek(a, 1);
    if (first && first->kind == ARG_NUMBER && second)
      ERROR(c, &second->loc, "expected '->' between the input and output sizes, as in '%s %s -> %s'",
            s->keyword, first->num.text, second->kind == ARG_NUMBER ? second->num.text : "OUT");
    else if (first && first->kind == ARG_NUMBER)
      ERROR(c, &first->loc, "expected '-> OUT' after the input size, as in '%s %s -> 10'", s->keyword,
            first->num.text);
    else if (first)
      ERROR(c, &first->loc, "expected the sizes 'IN -> OUT', not %s", ast_describe_arg(c->arena, first));
    else
      ERROR(c, &s->loc, "'%s' needs its sizes: %s", s->keyword, layer_syntax[l->kind].usage);
    use_all(a);
    return false;
  }
  bool ok_in = get_dim(c, &sizes->num, "input size", &l->in_features);
  bool ok_out = get_dim(c, &sizes->to, "output size", &l->out_features);
  if (l->kind == LAYER_BINLINEAR) {
    l->real_input = has_flag(a, "real");
    l->has_bias = has_flag(a, "bias");
    l->has_scale = has_flag(a, "scale");
  } else {
    l->has_bias = !has_flag(a, "nobias");
  }
  if (ok_in && need_flat(c, s) && l->in_features != c->shape.dims[0])
    ERROR(c, &sizes->num.loc, "input size %lld does not match the %lld features from %s",
          (long long)l->in_features, (long long)c->shape.dims[0], describe_source(c));
  if (ok_in && ok_out) {
    int64_t w[2] = {l->out_features, l->in_features};
    check_numel(c, &sizes->loc, w, 2, "the weight");
  }
  if (!ok_out) return false;
  l->out_shape = (Shape){1, {l->out_features}};
  return true;
}

/* K or KxK */
static bool get_kernel(Checker *c, const Arg *arg, Layer *l) {
  if (arg->kind == ARG_NUMBER) {
    int64_t k;
    if (!get_dim(c, &arg->num, "kernel size", &k)) return false;
    l->kernel_h = l->kernel_w = (int)k;
    return true;
  }
  if (arg->dims.bad) return false;
  if (arg->dims.n != 2) {
    ERROR(c, &arg->loc, "a kernel is K or KxK, not %d dimensions", arg->dims.n);
    return false;
  }
  for (int i = 0; i < 2; i++) {
    Number n = {.text = arena_printf(c->arena, "%lld", (long long)arg->dims.d[i]),
                .ival = arg->dims.d[i], .is_int = true, .loc = arg->loc};
    int64_t k;
    if (!get_dim(c, &n, "kernel size", &k)) return false;
    *(i ? &l->kernel_w : &l->kernel_h) = (int)k;
  }
  return true;
}

static const Arg *take_kernel(Args *a, int i) {
  const Arg *k = take(a, i, ARG_DIMS);
  return k ? k : take(a, i, ARG_NUMBER);
}

/* floor((n + 2 pad - k) / stride) + 1, or 0 when the kernel does not fit */
static int64_t window_out(int64_t n, int k, int stride, int pad) {
  int64_t span = n + 2 * (int64_t)pad - k;
  return span < 0 ? 0 : span / stride + 1;
}

/* Output shape of a convolution or pooling window over the current image. */
static bool window_shape(Checker *c, const Stmt *s, const Arg *kernel, Layer *l, int64_t channels) {
  int64_t h = window_out(c->shape.dims[1], l->kernel_h, l->stride, l->pad);
  int64_t w = window_out(c->shape.dims[2], l->kernel_w, l->stride, l->pad);
  if (h <= 0 || w <= 0) {
    ERROR(c, &kernel->loc, "the output would be empty: a %dx%d kernel (stride %d, pad %d) does not fit "
          "the %s image from %s", l->kernel_h, l->kernel_w, l->stride, l->pad,
          format_shape(c, &c->shape), describe_source(c));
    return false;
  }
  l->out_shape = (Shape){3, {channels, h, w}};
  return check_numel(c, &s->loc, l->out_shape.dims, 3, "the output");
}

/* binconv2d OUT KxK [stride=S] [pad=P] [real] [scale] [bias]
 * conv2d OUT KxK [stride=S] [pad=P] [nobias] */
static bool check_conv(Checker *c, const Stmt *s, Args *a, Layer *l) {
  const Arg *out = take(a, 0, ARG_NUMBER);
  const Arg *kernel = out ? take_kernel(a, 1) : NULL;
  if (!out || !kernel) {
    const Arg *bad = peek(a, out ? 1 : 0);
    if (bad)
      ERROR(c, &bad->loc, "expected %s, not %s (usage: %s)", out ? "the kernel size KxK" : "the number of output channels",
            ast_describe_arg(c->arena, bad), layer_syntax[l->kind].usage);
    else
      ERROR(c, out ? &out->loc : &s->loc, "'%s' needs %s: %s", s->keyword,
            out ? "a kernel size after the output channels" : "its output channels and kernel size",
            layer_syntax[l->kind].usage);
    use_all(a);
    return false;
  }
  bool ok = get_dim(c, &out->num, "output channels", &l->out_channels);
  ok &= get_kernel(c, kernel, l);
  l->stride = 1;
  option_int(c, a, "stride", "stride", 1, BNNC_MAX_DIM, "BNNC_MAX_DIM", &l->stride);
  int kmin = l->kernel_h < l->kernel_w ? l->kernel_h : l->kernel_w;
  const Arg *pad = get_option(a, "pad");
  const Number *pad_value = pad ? option_value(c, pad) : NULL;
  int64_t p;
  if (pad_value && get_int(c, pad_value, "pad", 0, BNNC_MAX_DIM, "BNNC_MAX_DIM", &p) && ok) {
    if (p >= kmin)
      ERROR(c, &pad_value->loc, "pad must be smaller than the kernel (%d), not %s", kmin, pad_value->text);
    else
      l->pad = (int)p;
  }
  if (l->kind == LAYER_BINCONV2D) {
    l->real_input = has_flag(a, "real");
    l->has_scale = has_flag(a, "scale");
    l->has_bias = has_flag(a, "bias");
  } else {
    l->has_bias = !has_flag(a, "nobias");
  }
  if (!ok || !need_image(c, s)) return false;
  int64_t w[4] = {l->out_channels, c->shape.dims[0], l->kernel_h, l->kernel_w};
  if (!check_numel(c, &s->loc, w, 4, "the weight")) return false;
  return window_shape(c, s, kernel, l, l->out_channels);
}

/* maxpool KxK [stride=S]
 * avgpool KxK [stride=S] */
static bool check_pool(Checker *c, const Stmt *s, Args *a, Layer *l) {
  const Arg *kernel = take_kernel(a, 0);
  if (!kernel) {
    if (peek(a, 0))
      ERROR(c, &peek(a, 0)->loc, "expected the kernel size KxK, not %s", ast_describe_arg(c->arena, peek(a, 0)));
    else
      ERROR(c, &s->loc, "'%s' needs a kernel size: %s", s->keyword, layer_syntax[l->kind].usage);
    use_all(a);
    return false;
  }
  if (!get_kernel(c, kernel, l)) return false;
  const Arg *stride = get_option(a, "stride");
  l->stride = l->kernel_h;
  if (stride) {
    option_int(c, a, "stride", "stride", 1, BNNC_MAX_DIM, "BNNC_MAX_DIM", &l->stride);
  } else if (l->kernel_h != l->kernel_w) {
    ERROR(c, &kernel->loc, "a non-square kernel needs an explicit stride=S");
    return false;
  }
  if (!need_image(c, s)) return false;
  return window_shape(c, s, kernel, l, c->shape.dims[0]);
}

/* batchnorm [eps=E] [momentum=M] */
static bool check_batchnorm(Checker *c, const Stmt *s, Args *a, Layer *l) {
  l->eps = 1e-5f;
  l->momentum = 0.1f;
  option_real(c, a, "eps", "eps", 0, true, INFINITY, false, &l->eps);
  option_real(c, a, "momentum", "momentum", 0, false, 1, false, &l->momentum);
  if (!c->shape_known) return false;
  l->in_features = l->out_features = c->shape.dims[0];  /* features, or channels of an image */
  l->out_shape = c->shape;
  return true;
}

/* dropout P */
static bool check_dropout(Checker *c, const Stmt *s, Args *a, Layer *l) {
  const Arg *p = take(a, 0, ARG_NUMBER);
  if (p)
    get_real(c, &p->num, "dropout probability", 0, false, 1, true, &l->p);
  else if (!peek(a, 0))
    ERROR(c, &s->loc, "'dropout' needs a probability: dropout P");
  l->out_shape = c->shape;
  return c->shape_known;
}

/* sign | htanh | relu | sigmoid | softmax | flatten */
static bool check_simple(Checker *c, const Stmt *s, Layer *l) {
  if (!c->shape_known) return false;
  if (l->kind == LAYER_FLATTEN) {
    l->out_shape = (Shape){1, {shape_numel(&c->shape)}};
    return true;
  }
  if (l->kind == LAYER_SOFTMAX && !need_flat(c, s)) return false;
  l->out_shape = c->shape;
  return true;
}

/* [label:] keyword args */
static void check_layer(Checker *c, const Stmt *s, LayerKind kind) {
  Model *m = c->model;
  if (m->n_layers == c->n_layers_max) {
    if (m->n_layers == BNNC_MAX_LAYERS)
      ERROR(c, &s->loc, "too many layers: the limit is %d (BNNC_MAX_LAYERS)", BNNC_MAX_LAYERS);
    c->n_layers_max = -1;  /* report once */
    return;
  }
  if (c->n_layers_max < 0) return;
  Layer *l = &m->layers[m->n_layers];
  l->kind = kind;
  l->loc = s->loc;
  l->index = m->n_layers++;
  l->in_shape = c->shape;
  if (s->label) {
    l->label = s->label;
    for (int i = 0; i < l->index; i++)
      if (strcmp(m->layers[i].label, s->label) == 0) {
        ERROR(c, &s->label_loc, "label '%s' is already used", s->label);
        diag_note(c->diag, &m->layers[i].loc, "'%s' labels this %s", s->label,
                  layer_kind_name(m->layers[i].kind));
        break;
      }
  } else {
    l->label = arena_printf(c->arena, "%d", l->index);
  }
  if (!c->input_stmt && l->index == 0 && !c->program->syntax_errors && !c->unknown_stmts)
    ERROR(c, &s->loc, "missing 'input SHAPE' before the first layer");

  Args a;
  collect_args(c, s, &layer_syntax[kind], &a);
  bool ok = false;
  switch (kind) {
  case LAYER_BINLINEAR:
  case LAYER_LINEAR: ok = check_linear(c, s, &a, l); break;
  case LAYER_BINCONV2D:
  case LAYER_CONV2D: ok = check_conv(c, s, &a, l); break;
  case LAYER_MAXPOOL:
  case LAYER_AVGPOOL: ok = check_pool(c, s, &a, l); break;
  case LAYER_BATCHNORM: ok = check_batchnorm(c, s, &a, l); break;
  case LAYER_DROPOUT: ok = check_dropout(c, s, &a, l); break;
  case LAYER_SIGN:
  case LAYER_HTANH:
  case LAYER_RELU:
  case LAYER_SIGMOID:
  case LAYER_SOFTMAX:
  case LAYER_FLATTEN: ok = check_simple(c, s, l); break;
  case LAYER_KIND_COUNT: BNNC_BUG("bad layer kind");
  }
  finish_args(c, &a);
  c->shape = l->out_shape;
  c->shape_known = ok;
  c->prev = l;
}

/* ---- train block ---------------------------------------------------------------- */

static const Syntax adam_syntax = {"optimizer adam [lr=X] [betas=B1,B2] [eps=E] [weight_decay=W]", {0},
                                   {"lr", "betas", "eps", "weight_decay"}};
static const Syntax sgd_syntax = {"optimizer sgd [lr=X] [momentum=M] [weight_decay=W]", {0},
                                  {"lr", "momentum", "weight_decay"}};
static const Syntax step_syntax = {"schedule step every=N [gamma=G]", {0}, {"every", "gamma"}};
static const Syntax exp_syntax = {"schedule exp to=X", {0}, {"to"}};

/* A word argument that must be one of choices; returns its index or -1. */
static int take_choice(Checker *c, const Stmt *s, Args *a, const char *what,
                       const char *const *choices, int n, const char *listing) {
  const Arg *arg = take(a, 0, ARG_WORD);
  if (!arg) {
    if (peek(a, 0))
      ERROR(c, &peek(a, 0)->loc, "expected %s (%s), not %s", what, listing,
            ast_describe_arg(c->arena, peek(a, 0)));
    else
      ERROR(c, &s->loc, "'%s' needs %s: %s", s->keyword, what, listing);
    use_all(a);
    return -1;
  }
  int i = find_name(arg->word, choices, n);
  if (i < 0) {
    const char *near = closest(arg->word, choices, n);
    if (near)
      ERROR(c, &arg->loc, "unknown %s '%s'; did you mean '%s'?", what, arg->word, near);
    else
      ERROR(c, &arg->loc, "unknown %s '%s' (expected %s)", what, arg->word, listing);
    use_all(a);
  }
  return i;
}

/* A setting with one integer value: batch N, epochs N, seed N */
static bool take_int_setting(Checker *c, const Stmt *s, Args *a, int64_t lo, int64_t hi,
                             const char *limit, int64_t *out) {
  const Arg *arg = take(a, 0, ARG_NUMBER);
  if (arg) return get_int(c, &arg->num, s->keyword, lo, hi, limit, out);
  if (peek(a, 0))
    ERROR(c, &peek(a, 0)->loc, "'%s' needs an integer, not %s", s->keyword,
          ast_describe_arg(c->arena, peek(a, 0)));
  else
    ERROR(c, &s->loc, "'%s' needs a value: %s N", s->keyword, s->keyword);
  use_all(a);
  return false;
}

/* optimizer adam [lr=X] [betas=B1,B2] [eps=E] [weight_decay=W] | sgd [lr=X] [momentum=M] [weight_decay=W] */
static void check_optimizer(Checker *c, const Stmt *s, TrainConfig *t) {
  static const char *const names[] = {"adam", "sgd"};
  const Arg *first = s->args;
  const Syntax *syntax = &adam_syntax;
  if (first && first->kind == ARG_WORD && strcmp(first->word, "sgd") == 0) syntax = &sgd_syntax;
  Args a;
  collect_args(c, s, syntax, &a);
  int which = take_choice(c, s, &a, "optimizer", names, 2, "adam or sgd");
  if (which >= 0) {
    t->optimizer = which == 0 ? OPT_ADAM : OPT_SGD;
    option_real(c, &a, "lr", "lr", 0, true, INFINITY, false, &t->lr);
    option_real(c, &a, "weight_decay", "weight_decay", 0, false, INFINITY, false, &t->weight_decay);
    if (which == 0) {
      option_real(c, &a, "eps", "eps", 0, true, INFINITY, false, &t->adam_eps);
      const Arg *betas = get_option(&a, "betas");
      if (betas && betas->n_values != 2)
        ERROR(c, &betas->loc, "betas takes two values: betas=B1,B2");
      else if (betas) {
        get_real(c, &betas->values[0], "beta1", 0, false, 1, true, &t->beta1);
        get_real(c, &betas->values[1], "beta2", 0, false, 1, true, &t->beta2);
      }
    } else {
      option_real(c, &a, "momentum", "momentum", 0, false, 1, true, &t->sgd_momentum);
    }
  }
  finish_args(c, &a);
}

/* schedule step every=N [gamma=G] | exp to=X | none */
static void check_schedule(Checker *c, const Stmt *s, TrainConfig *t) {
  static const char *const names[] = {"step", "exp", "none"};
  const Arg *first = s->args;
  const Syntax *syntax = &step_syntax;
  if (first && first->kind == ARG_WORD && strcmp(first->word, "exp") == 0) syntax = &exp_syntax;
  if (first && first->kind == ARG_WORD && strcmp(first->word, "none") == 0) syntax = &(Syntax){"schedule none", {0}, {0}};
  Args a;
  collect_args(c, s, syntax, &a);
  int which = take_choice(c, s, &a, "schedule", names, 3, "step, exp or none");
  if (which == 0) {
    t->schedule = SCHED_STEP;
    if (!get_option(&a, "every")) ERROR(c, &s->loc, "'schedule step' needs every=N (in epochs)");
    option_int(c, &a, "every", "every", 1, INT_MAX, NULL, &t->step_every);
    option_real(c, &a, "gamma", "gamma", 0, true, 1, false, &t->step_gamma);
  } else if (which == 1) {
    t->schedule = SCHED_EXP;
    if (!get_option(&a, "to")) ERROR(c, &s->loc, "'schedule exp' needs to=X, the final learning rate");
    option_real(c, &a, "to", "to", 0, true, INFINITY, false, &t->exp_to);
  } else if (which == 2) {
    t->schedule = SCHED_NONE;
  }
  finish_args(c, &a);
}

/* train { setting... } */
static void check_train(Checker *c, const Stmt *block) {
  if (!check_once(c, block, &c->train_stmt)) return;
  TrainConfig *t = &c->model->train;
  t->present = true;
  t->loc = block->loc;
  const Stmt *seen[SET_COUNT] = {0};
  for (const Stmt *s = block->body; s; s = s->next) {
    int which = find_name(s->keyword, setting_names, SET_COUNT);
    if (which < 0) {
      const char *near = closest(s->keyword, setting_names, SET_COUNT);
      if (near)
        ERROR(c, &s->loc, "unknown train setting '%s'; did you mean '%s'?", s->keyword, near);
      else
        ERROR(c, &s->loc, "unknown train setting '%s' (the settings are loss, optimizer, schedule, "
              "batch, epochs, clip_weights, lr_scale, seed)", s->keyword);
      continue;
    }
    if (seen[which]) {
      ERROR(c, &s->loc, "'%s' is given twice in the train block", s->keyword);
      note_first(c, &seen[which]->loc);
      continue;
    }
    seen[which] = s;
    Syntax plain = {setting_usage[which], {0}, {0}};
    Args a;
    int64_t v;
    switch ((TrainSetting)which) {
    case SET_OPTIMIZER: check_optimizer(c, s, t); continue;
    case SET_SCHEDULE: check_schedule(c, s, t); continue;
    case SET_LOSS: {
      static const char *const names[] = {"cross_entropy", "sq_hinge"};
      collect_args(c, s, &plain, &a);
      int loss = take_choice(c, s, &a, "loss", names, 2, "cross_entropy or sq_hinge");
      if (loss >= 0) t->loss = loss == 0 ? LOSS_CROSS_ENTROPY : LOSS_SQ_HINGE;
      break;
    }
    case SET_BATCH:
      collect_args(c, s, &plain, &a);
      if (take_int_setting(c, s, &a, 1, BNNC_MAX_DIM, "BNNC_MAX_DIM", &v)) t->batch = (int)v;
      break;
    case SET_EPOCHS:
      collect_args(c, s, &plain, &a);
      if (take_int_setting(c, s, &a, 1, INT_MAX, NULL, &v)) t->epochs = (int)v;
      break;
    case SET_SEED:
      collect_args(c, s, &plain, &a);
      if (take_int_setting(c, s, &a, 0, INT64_MAX, NULL, &v)) t->seed = (uint64_t)v;
      break;
    case SET_CLIP_WEIGHTS:
      collect_args(c, s, &plain, &a);
      t->clip_weights = true;
      break;
    case SET_LR_SCALE: {
      static const char *const names[] = {"glorot"};
      collect_args(c, s, &plain, &a);
      if (take_choice(c, s, &a, "lr_scale", names, 1, "glorot") == 0) t->lr_scale_glorot = true;
      break;
    }
    case SET_COUNT: BNNC_BUG("bad train setting");
    }
    finish_args(c, &a);
  }
}

/* ---- the program ------------------------------------------------------------------ */

static void set_train_defaults(TrainConfig *t) {
  *t = (TrainConfig){
      .loss = LOSS_CROSS_ENTROPY,
      .optimizer = OPT_ADAM,
      .lr = 1e-3f,
      .beta1 = 0.9f,
      .beta2 = 0.999f,
      .adam_eps = 1e-8f,
      .schedule = SCHED_NONE,
      .step_gamma = 0.1f,
      .batch = 100,
      .epochs = 10,
      .seed = 1,
  };
}

static const char *const statement_names[] = {
    "model", "input", "train",
#define X(e, kw, p, t) kw,
    BNNC_LAYER_KINDS(X)
#undef X
};

Model *check_program(Arena *arena, Diagnostics *diag, const Program *program, const char *path) {
  Checker c = {.arena = arena, .diag = diag, .program = program};
  Model *m = c.model = ARENA_NEW(arena, Model);
  m->path = path;
  m->name = "";
  set_train_defaults(&m->train);

  int n_layers = 0;
  LayerKind kind;
  for (const Stmt *s = program->stmts; s; s = s->next)
    if (s->kind == STMT_PLAIN && lookup_layer_kind(s->keyword, &kind)) n_layers++;
  c.n_layers_max = n_layers < BNNC_MAX_LAYERS ? n_layers : BNNC_MAX_LAYERS;
  m->layers = ARENA_ARRAY(arena, Layer, c.n_layers_max);

  for (const Stmt *s = program->stmts; s; s = s->next) {
    if (s->kind == STMT_ERROR) {
      c.shape_known = false;  /* the dropped line may have been a layer */
      continue;
    }
    if (!c.first_stmt) c.first_stmt = s;
    if (s->label && (s->kind != STMT_PLAIN || !lookup_layer_kind(s->keyword, &kind)))
      ERROR(&c, &s->label_loc, "only a layer can have a label");
    if (s->kind == STMT_TRAIN)
      check_train(&c, s);
    else if (strcmp(s->keyword, "model") == 0)
      check_model(&c, s);
    else if (strcmp(s->keyword, "input") == 0)
      check_input(&c, s);
    else if (lookup_layer_kind(s->keyword, &kind))
      check_layer(&c, s, kind);
    else {
      const char *near = closest(s->keyword, statement_names,
                                 (int)(sizeof statement_names / sizeof *statement_names));
      if (find_name(s->keyword, setting_names, SET_COUNT) >= 0)
        ERROR(&c, &s->loc, "'%s' is a train setting: it goes inside 'train { ... }'", s->keyword);
      else if (near)
        ERROR(&c, &s->loc, "unknown statement '%s'; did you mean '%s'?", s->keyword, near);
      else
        ERROR(&c, &s->loc, "unknown statement '%s'", s->keyword);
      c.shape_known = false;
      c.unknown_stmts = true;
    }
  }

  if (!program->syntax_errors && !c.unknown_stmts) {
    if (!c.first_stmt)
      ERROR(&c, NULL, "empty file: a model needs 'model NAME', 'input SHAPE' and at least one layer");
    else if (!c.model_stmt)
      ERROR(&c, &c.first_stmt->loc, "a model must start with 'model NAME'");
    else if (m->n_layers == 0)
      ERROR(&c, &c.model_stmt->loc, "the model has no layers");
    if (c.first_stmt && !c.input_stmt && m->n_layers == 0)
      ERROR(&c, &c.first_stmt->loc, "missing 'input SHAPE'");
  }

  if (m->n_layers > 0 && m->layers[m->n_layers - 1].kind == LAYER_DROPOUT)
    diag_warning(diag, &m->layers[m->n_layers - 1].loc,
                 "a dropout as the last layer does nothing: no layer after it learns from it");
  m->out_shape = c.shape;
  return m;
}
