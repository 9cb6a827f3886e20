/* model.c - helpers over the checked Model: shapes and the layer-kind table. */
#include "model.h"

#include <stdio.h>

static const struct {
  const char *name;
  bool has_params;
  bool train_only;
} layer_kind_info[] = {
#define X(e, kw, p, t) [e] = {kw, p, t},
    BNNC_LAYER_KINDS(X)
#undef X
};
_Static_assert(sizeof layer_kind_info / sizeof layer_kind_info[0] == LAYER_KIND_COUNT,
               "layer_kind_info must cover every LayerKind");

const char *layer_kind_name(LayerKind k) { return layer_kind_info[k].name; }
bool layer_kind_has_params(LayerKind k) { return layer_kind_info[k].has_params; }
bool layer_kind_is_train_only(LayerKind k) { return layer_kind_info[k].train_only; }

int64_t shape_numel(const Shape *s) {
  int64_t n = 1;
  for (int i = 0; i < s->rank; i++) n *= s->dims[i];
  return n;
}

bool shape_equal(const Shape *a, const Shape *b) {
  if (a->rank != b->rank) return false;
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i]) return false;
  return true;
}

char *shape_format(const Shape *s, char *buf, int size) {
  int n = 0;
  buf[0] = '\0';
  for (int i = 0; i < s->rank && n < size; i++)
    n += snprintf(buf + n, (size_t)(size - n), i ? "x%lld" : "%lld", (long long)s->dims[i]);
  if (s->rank == 0) snprintf(buf, (size_t)size, "scalar");
  return buf;
}
