/* fuzz_frontend.c - bytes -> the .bnn front end (scanner, parser, checker).
 *
 * Any byte string is a possible .bnn file. The front end must not crash,
 * leak, hang or exit; it returns a Model exactly when it reported no error,
 * and a Model it returns is within the documented limits: every shape
 * resolved, every dimension positive, at most BNNC_MAX_NUMEL elements,
 * at most BNNC_MAX_LAYERS layers, each layer's input the previous one's output.
 */
#include <string.h>

#include "frontend.h"
#include "fuzz.h"

static void check_shape(const Shape *s, const char *what, int layer) {
  FUZZ_CHECK(s->rank >= 1 && s->rank <= SHAPE_MAX_RANK, "layer %d %s: rank %d", layer, what, s->rank);
  /* Written sizes are at most BNNC_MAX_DIM, but a derived one need not be:
   * flatten of 96x1024x1024 gives 100663296 features. BNNC_MAX_NUMEL bounds both. */
  for (int i = 0; i < s->rank; i++)
    FUZZ_CHECK(s->dims[i] >= 1 && s->dims[i] <= BNNC_MAX_NUMEL, "layer %d %s: dim %d is %lld", layer, what,
               i, (long long)s->dims[i]);
  int64_t numel = shape_numel(s);
  FUZZ_CHECK(numel >= 1 && numel <= BNNC_MAX_NUMEL, "layer %d %s: %lld elements", layer, what,
             (long long)numel);
}

static void check_model(const Model *m) {
  FUZZ_CHECK(m->name && m->name[0], "a model without a name");
  FUZZ_CHECK(m->n_layers >= 1 && m->n_layers <= BNNC_MAX_LAYERS, "%d layers", m->n_layers);
  check_shape(&m->input.shape, "input", -1);
  if (m->input.normalize)
    FUZZ_CHECK(m->input.mean && m->input.std && m->input.n_channels_norm >= 1, "normalize without values");
  const Shape *prev = &m->input.shape;
  for (int i = 0; i < m->n_layers; i++) {
    const Layer *l = &m->layers[i];
    FUZZ_CHECK(l->kind >= 0 && l->kind < LAYER_KIND_COUNT, "layer %d: kind %d", i, (int)l->kind);
    FUZZ_CHECK(l->label && l->label[0], "layer %d has no label", i);
    FUZZ_CHECK(l->index == i, "layer %d has index %d", i, l->index);
    check_shape(&l->in_shape, "input", i);
    check_shape(&l->out_shape, "output", i);
    FUZZ_CHECK(shape_equal(prev, &l->in_shape), "layer %d: input is not the previous output", i);
    prev = &l->out_shape;
  }
  FUZZ_CHECK(shape_equal(prev, &m->out_shape), "the model's output is not the last layer's");
  /* Labels name the weights, so they must be unique (quadratic: only small models). */
  if (m->n_layers <= 64)
    for (int i = 0; i < m->n_layers; i++)
      for (int j = i + 1; j < m->n_layers; j++)
        FUZZ_CHECK(strcmp(m->layers[i].label, m->layers[j].label) != 0, "layers %d and %d share label '%s'", i,
                   j, m->layers[i].label);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Arena arena;
  arena_init(&arena);
  Diagnostics diag;
  diag_init(&diag, "fuzz.bnn", NULL, 0);
  diag.out = fuzz_diag_stream();

  Model *model = frontend_parse(&arena, &diag, "fuzz.bnn", (const char *)data, size);

  FUZZ_CHECK((model == NULL) == (diag.n_errors > 0), "result %s but %d errors reported",
             model ? "non-NULL" : "NULL", diag.n_errors);
  FUZZ_CHECK(diag.n_errors <= DIAG_MAX_ERRORS + 1, "%d errors, more than DIAG_MAX_ERRORS", diag.n_errors);
  if (model) check_model(model);
  arena_free(&arena);
  return 0;
}
