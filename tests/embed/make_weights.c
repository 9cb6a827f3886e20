/* make_weights.c - writes a safetensors file of weights for a .bnn model, for
 * the embedding tests. The runtime net of the model is created (so the keys
 * and shapes are the runtime's own), its tensors are overwritten with seeded
 * values and saved with libbnn's writer.
 *
 *   make_weights MODEL.bnn OUT.safetensors SEED [edge] [pytorch]
 *
 * Values: weights U(-1, 1), biases and BatchNorm beta/mean small, gamma
 * +-[0.5, 1.5], running_var [0.5, 2].
 * `edge` adds the cases the threshold pass must get right: zero, negative
 * and tiny gamma, tiny running_var, large running_mean, large biases, and a
 * weight row of zeros (its alpha scale is 0).
 * `pytorch` adds what a PyTorch state_dict has and bnnc ignores: an I64
 * scalar "N.num_batches_tracked" per BatchNorm, written into the file's
 * header and data by hand (libbnn's writer only writes F32).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bnn/io.h"
#include "bnn/rng.h"
#include "diag.h"
#include "frontend.h"
#include "runtime_bridge.h"

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Which layer kind owns a tensor "LABEL.what". */
static const Layer *layer_of(const Model *m, const char *name) {
  for (int i = 0; i < m->n_layers; i++) {
    size_t n = strlen(m->layers[i].label);
    if (strncmp(name, m->layers[i].label, n) == 0 && name[n] == '.') return &m->layers[i];
  }
  return NULL;
}

static void fill(const Model *m, const bnn_named_tensor *t, bnn_rng *rng, bool edge) {
  const Layer *l = layer_of(m, t->name);
  bool bn = l && l->kind == LAYER_BATCHNORM;
  for (int64_t i = 0; i < t->numel; i++) {
    float *v = &t->data[i];
    int64_t pick = (int64_t)bnn_rng_below(rng, 8);
    if (bn && ends_with(t->name, ".weight")) {
      *v = bnn_rng_uniform_range(rng, 0.5f, 1.5f) * (bnn_rng_below(rng, 4) == 0 ? -1.0f : 1.0f);
      if (edge && pick == 0) *v = 0.0f;
      if (edge && pick == 1) *v = 1e-7f * (bnn_rng_below(rng, 2) ? 1.0f : -1.0f);
    } else if (bn && ends_with(t->name, ".running_var")) {
      *v = bnn_rng_uniform_range(rng, 0.5f, 2.0f);
      if (edge && pick == 2) *v = 1e-7f;
    } else if (bn && ends_with(t->name, ".running_mean")) {
      *v = bnn_rng_uniform_range(rng, -0.2f, 0.2f) * (edge && pick == 3 ? 1000.0f : 1.0f);
    } else if (ends_with(t->name, ".weight")) {
      *v = bnn_rng_uniform_range(rng, -1.0f, 1.0f);
    } else {   /* biases, beta */
      *v = bnn_rng_uniform_range(rng, -0.2f, 0.2f) * (edge && pick == 4 ? 100.0f : 1.0f);
    }
  }
  /* A zero row: alpha 0 for a `scale` layer, all +1 bits otherwise. */
  if (edge && l && (l->kind == LAYER_BINLINEAR) && ends_with(t->name, ".weight") && t->ndim == 2)
    memset(t->data + t->shape[1] * (t->shape[0] / 2), 0, sizeof(float) * (size_t)t->shape[1]);
}

/* Appends an I64 scalar "LABEL.num_batches_tracked" per BatchNorm layer to a
 * safetensors file: the JSON header gains the entries, the data 8 bytes each. */
static int add_num_batches_tracked(const Model *m, const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return 1;
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *bytes = malloc((size_t)size);
  if (!bytes || fread(bytes, 1, (size_t)size, f) != (size_t)size) return 1;
  fclose(f);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; i--) header_len = header_len << 8 | bytes[i];
  const unsigned char *data = bytes + 8 + header_len;
  size_t data_len = (size_t)size - 8 - header_len;

  /* The old header without its padding and closing brace, then the entries. */
  size_t cap = header_len + 128 * (size_t)m->n_layers + 16, len = header_len;
  char *json = malloc(cap);
  memcpy(json, bytes + 8, header_len);
  while (len > 0 && json[len - 1] == ' ') len--;
  if (len == 0 || json[len - 1] != '}') return 1;
  len--;
  size_t offset = data_len;
  int n_added = 0;
  for (int i = 0; i < m->n_layers; i++) {
    if (m->layers[i].kind != LAYER_BATCHNORM) continue;
    len += (size_t)snprintf(json + len, cap - len,
                            ",\"%s.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[%zu,%zu]}",
                            m->layers[i].label, offset, offset + 8);
    offset += 8;
    n_added++;
  }
  json[len++] = '}';
  while (len % 8) json[len++] = ' ';

  f = fopen(path, "wb");
  if (!f) return 1;
  unsigned char len_bytes[8];
  for (int i = 0; i < 8; i++) len_bytes[i] = (unsigned char)((uint64_t)len >> (8 * i));
  unsigned char count[8] = {0xe8, 0x03};   /* 1000 batches, little-endian */
  bool ok = fwrite(len_bytes, 1, 8, f) == 8 && fwrite(json, 1, len, f) == len &&
            fwrite(data, 1, data_len, f) == data_len;
  for (int i = 0; ok && i < n_added; i++) ok = fwrite(count, 1, 8, f) == 8;
  ok = fclose(f) == 0 && ok;
  free(json);
  free(bytes);
  return ok ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: make_weights MODEL.bnn OUT.safetensors SEED [edge] [pytorch]\n");
    return 2;
  }
  bool edge = false, pytorch = false;
  for (int i = 4; i < argc; i++) {
    edge |= strcmp(argv[i], "edge") == 0;
    pytorch |= strcmp(argv[i], "pytorch") == 0;
  }
  Arena arena;
  arena_init(&arena);
  Diagnostics diag;
  diag_init(&diag, argv[1], NULL, 0);
  const Model *m = frontend_parse_file(&arena, &diag, argv[1]);
  if (!m) return 1;
  bnn_net *net = bridge_create_net(m, 1);
  if (!net) return 1;
  bnn_rng rng;
  bnn_rng_seed(&rng, (uint64_t)atoll(argv[3]));
  bnn_error err = {0};
  bnn_st_writer *w = NULL;
  int rc = bnn_st_writer_new(&w, &err) != BNN_OK;
  for (int i = 0; !rc && i < bnn_net_num_tensors(net); i++) {
    bnn_named_tensor t;
    rc = bnn_net_tensor(net, i, &t, &err) != BNN_OK;
    if (!rc) fill(m, &t, &rng, edge);
  }
  rc = rc || !bridge_add_tensors(w, net, NULL) || bnn_st_writer_write(w, argv[2], &err) != BNN_OK;
  if (rc) fprintf(stderr, "make_weights: %s\n", err.msg);
  if (!rc && pytorch) rc = add_num_batches_tracked(m, argv[2]);
  bnn_st_writer_free(w);
  bnn_net_free(net);
  arena_free(&arena);
  return rc;
}
