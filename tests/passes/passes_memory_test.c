/* passes_memory_test.c - plan_memory: every activation has an aligned offset,
 * no two simultaneously live values overlap (checked pairwise here from the
 * execution order, independently of the pass), and the arena is no larger
 * than the naive sum of the values. */
#include "passes_test_util.h"

static void check_plan(IrGraph *g, const char *model) {
  int count = 0;
  for (IrNode *n = g->first; n; n = n->next) count++;
  IrNode **nodes = calloc((size_t)count, sizeof *nodes);
  int *end = calloc((size_t)count, sizeof *end);
  int i = 0;
  for (IrNode *n = g->first; n; n = n->next) nodes[i++] = n;
  for (i = 0; i < count; i++) {
    end[i] = i;
    for (int j = i + 1; j < count; j++)
      for (int k = 0; k < nodes[j]->n_inputs; k++)
        if (nodes[j]->inputs[k] == nodes[i]) end[i] = j;
  }
  int64_t naive = 0;
  for (i = 0; i < count; i++) {
    const IrNode *n = nodes[i];
    bool activation = n->op != IR_PARAM && n->op != IR_INPUT && n->op != IR_OUTPUT;
    CHECK(activation == (n->scratch_offset >= 0), "%s: %%%d has offset %lld", model, n->id,
          (long long)n->scratch_offset);
    if (!activation) continue;
    int64_t bytes = ir_type_bytes(&n->type);
    naive += (bytes + 63) / 64 * 64;
    CHECK(n->scratch_offset % 64 == 0, "%s: %%%d is not 64-byte aligned", model, n->id);
    CHECK(n->scratch_offset + bytes <= (int64_t)g->scratch_bytes, "%s: %%%d overruns the arena", model, n->id);
    for (int j = i + 1; j < count && j <= end[i]; j++) {   /* j is defined while i is live */
      const IrNode *m = nodes[j];
      if (m->scratch_offset < 0) continue;
      int64_t mb = ir_type_bytes(&m->type);
      bool disjoint = n->scratch_offset + bytes <= m->scratch_offset || m->scratch_offset + mb <= n->scratch_offset;
      CHECK(disjoint, "%s: %%%d and %%%d are live together and overlap", model, n->id, m->id);
    }
  }
  CHECK((int64_t)g->scratch_bytes <= naive, "%s: %zu bytes > naive %lld", model, g->scratch_bytes, (long long)naive);
  printf("  %-12s scratch %zu bytes (naive sum %lld)\n", model, g->scratch_bytes, (long long)naive);
  free(nodes);
  free(end);
}

static void plan(Arena *arena, TestModel *t) {
  IrGraph *g = lower_model(arena, &t->m);
  bind_random(g, 5);
  PassOptions o = passes_default_options();
  passes_run_inference(g, &o);
  check_verify(g, "plan_memory");
  check_plan(g, t->m.name);
  /* The plan also works on a graph no other pass touched. */
  IrGraph *raw = lower_model(arena, &t->m);
  pass_plan_memory(raw);
  check_plan(raw, "lowered");
}

int main(void) {
  Arena arena;
  arena_init(&arena);
  TestModel t;
  tm_init(&t, "mlp", (Shape){1, {784}}, INPUT_U8, true, 0.5f, 0.5f);
  tm_binlinear(&t, 1000, true, true, true);
  tm_batchnorm(&t, 1e-5f);
  tm_binlinear(&t, 37, false, false, false);
  tm_batchnorm(&t, 1e-5f);
  tm_binlinear(&t, 100, false, false, false);
  tm_batchnorm(&t, 1e-5f);
  tm_linear(&t, 10, true);
  tm_simple(&t, LAYER_SOFTMAX);
  plan(&arena, &t);

  tm_init(&t, "lenet", (Shape){3, {1, 28, 28}}, INPUT_F32, false, 0, 1);
  tm_conv(&t, LAYER_CONV2D, 6, 5, 1, 2, false, true, false);
  tm_batchnorm(&t, 1e-5f);
  tm_simple(&t, LAYER_SIGMOID);
  tm_pool(&t, LAYER_MAXPOOL, 2);
  tm_conv(&t, LAYER_BINCONV2D, 16, 5, 1, 0, false, false, true);
  tm_pool(&t, LAYER_AVGPOOL, 2);
  tm_simple(&t, LAYER_FLATTEN);
  tm_linear(&t, 10, true);
  plan(&arena, &t);

  arena_free(&arena);
  printf("%s: %d failure(s)\n", __FILE__, test_failures);
  return test_failures ? 1 : 0;
}
