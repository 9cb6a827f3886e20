/* test_net.c: networks from descriptors: state_dict names, PyTorch init,
 * input preprocessing, dropout, determinism, and end-to-end training of a
 * small BNN on separable Gaussian blobs. */
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* binlinear D->H real, bn, binlinear H->H, dropout, bn, linear H->K */
static bnn_net *make_bnn(int64_t D, int64_t H, int64_t K, bnn_loss_kind loss, uint64_t seed, float p) {
  bnn_layer_desc L[6];
  bnn_layer_desc_init(&L[0], BNN_LAYER_BINLINEAR);
  L[0].in_features = D, L[0].out_features = H, L[0].real_input = true;
  bnn_layer_desc_init(&L[1], BNN_LAYER_BATCHNORM);
  bnn_layer_desc_init(&L[2], BNN_LAYER_BINLINEAR);
  L[2].in_features = H, L[2].out_features = H, L[2].has_scale = true;
  bnn_layer_desc_init(&L[3], BNN_LAYER_DROPOUT);
  L[3].p = p;
  bnn_layer_desc_init(&L[4], BNN_LAYER_BATCHNORM);
  bnn_layer_desc_init(&L[5], BNN_LAYER_LINEAR);
  L[5].in_features = H, L[5].out_features = K;
  bnn_net_desc d = {.input = {.ndim = 1, .shape = {D}, .type = BNN_INPUT_F32}, .layers = L,
                    .n_layers = 6, .loss = loss};
  bnn_net *net = NULL;
  CHECK_OK(bnn_net_create(&net, &d, seed, &err));
  return net;
}

static void test_names_and_init(void) {
  bnn_net *net = make_bnn(784, 256, 10, BNN_LOSS_CROSS_ENTROPY, 1, 0.5f);
  static const char *const names[] = {"0.weight", "1.weight", "1.bias", "1.running_mean",
                                      "1.running_var", "2.weight", "4.weight", "4.bias",
                                      "4.running_mean", "4.running_var", "5.weight", "5.bias"};
  CHECK(bnn_net_num_tensors(net) == 12);
  for (int i = 0; i < 12 && i < bnn_net_num_tensors(net); i++) {
    bnn_named_tensor t;
    CHECK_OK(bnn_net_tensor(net, i, &t, &err));
    CHECK(strcmp(t.name, names[i]) == 0);
  }
  bnn_named_tensor w, b, g, rv;
  CHECK_OK(bnn_net_find_tensor(net, "0.weight", &w, &err));
  CHECK(w.ndim == 2 && w.shape[0] == 256 && w.shape[1] == 784 && w.trainable);
  float bound = 1.0f / sqrtf(784.0f), mx = 0;
  double mean = 0;
  for (int64_t k = 0; k < w.numel; k++) {
    CHECK(fabsf(w.data[k]) <= bound);
    mx = fmaxf(mx, fabsf(w.data[k]));
    mean += w.data[k];
  }
  CHECK(mx > 0.99f * bound);                  /* fills the interval */
  CHECK(fabs(mean / (double)w.numel) < 0.01 * bound);
  CHECK_OK(bnn_net_find_tensor(net, "5.bias", &b, &err));
  for (int64_t k = 0; k < b.numel; k++) CHECK(fabsf(b.data[k]) <= 1.0f / 16.0f);
  CHECK_OK(bnn_net_find_tensor(net, "4.weight", &g, &err));
  CHECK_OK(bnn_net_find_tensor(net, "4.running_var", &rv, &err));
  CHECK(g.data[0] == 1.0f && g.data[255] == 1.0f && rv.data[7] == 1.0f && !rv.trainable);
  CHECK(bnn_net_find_tensor(net, "9.weight", &g, &err) == BNN_ERR_NOT_FOUND);
  bnn_net_free(net);

  /* a shape error names the layer and the numbers */
  bnn_layer_desc L[2];
  bnn_layer_desc_init(&L[0], BNN_LAYER_LINEAR);
  L[0].in_features = 4, L[0].out_features = 8;
  bnn_layer_desc_init(&L[1], BNN_LAYER_LINEAR);
  L[1].in_features = 9, L[1].out_features = 2;
  bnn_net_desc d = {.input = {.ndim = 1, .shape = {4}}, .layers = L, .n_layers = 2};
  CHECK(bnn_net_create(&net, &d, 1, &err) == BNN_ERR_SHAPE);
  CHECK(strstr(err.msg, "layer 1 (linear '1'): declared 9 -> 2 but the previous layer gives 8") != NULL);
}

/* u8 input: x/255 then (x - mean)/std, seen through an identity linear layer */
static void test_input_preprocessing(void) {
  bnn_layer_desc L[1];
  bnn_layer_desc_init(&L[0], BNN_LAYER_LINEAR);
  L[0].in_features = 3, L[0].out_features = 3;
  bnn_net_desc d = {.input = {.ndim = 1, .shape = {3}, .type = BNN_INPUT_U8, .normalize = true,
                              .n_norm = 1, .mean = {0.5f}, .std = {0.5f}},
                    .layers = L, .n_layers = 1};
  bnn_net *net;
  CHECK_OK(bnn_net_create(&net, &d, 1, &err));
  bnn_named_tensor w, b;
  bnn_net_find_tensor(net, "0.weight", &w, &err);
  bnn_net_find_tensor(net, "0.bias", &b, &err);
  for (int i = 0; i < 9; i++) w.data[i] = i % 4 == 0;
  for (int i = 0; i < 3; i++) b.data[i] = 0;
  const uint8_t x[3] = {0, 255, 51};
  float y[3];
  CHECK_OK(bnn_net_forward_eval(net, x, 1, y, &err));
  CHECK_CLOSE(y[0], -1.0, 1e-6, 0);
  CHECK_CLOSE(y[1], 1.0, 1e-6, 0);
  CHECK_CLOSE(y[2], (51 / 255.0 - 0.5) / 0.5, 1e-6, 0);
  bnn_net_free(net);
}

static void test_dropout(void) {
  bnn_ctx ctx;
  bnn_rng r;
  bnn_rng_seed(&r, 5);
  CHECK_OK(bnn_ctx_init(&ctx, 0, 0, &err));
  ctx.rng = &r;
  ctx.training = true;
  enum { N = 100000 };
  bnn_tensor *x = bnn_new_tensor_2d(&ctx, 1, N);
  for (int i = 0; i < N; i++) x->data[i] = 2.0f;
  x->flags |= BNN_TF_REQUIRES_GRAD;
  bnn_tensor *y = bnn_dropout(&ctx, x, 0.25f);
  int zeros = 0;
  for (int i = 0; i < N; i++) {
    CHECK(y->data[i] == 0.0f || y->data[i] == 2.0f / 0.75f); /* inverted: survivors scaled */
    zeros += y->data[i] == 0.0f;
  }
  CHECK(abs(zeros - N / 4) < 600); /* ~4.4 sigma */
  ctx.training = false;
  CHECK(bnn_dropout(&ctx, x, 0.25f) == x); /* eval: identity, no copy */
  bnn_ctx_free(&ctx);
}

/* 4 Gaussian blobs in 64-d: class k has mean mu_k (entries ±1.0), noise sd 1. */
static void make_blobs(bnn_rng *r, float *mu, float *x, uint8_t *y, int n, int D) {
  for (int i = 0; i < n; i++) {
    int k = (int)bnn_rng_below(r, 4);
    y[i] = (uint8_t)k;
    for (int j = 0; j < D; j++) x[i * D + j] = mu[k * D + j] + bnn_rng_normal(r);
  }
}

static double train_blobs(bnn_loss_kind loss, bnn_optim_kind ok, float lr, bool paper, uint64_t seed,
                          float *losses, int n_losses) {
  enum { D = 64, NTR = 2000, NTE = 1000, B = 50 };
  bnn_rng r;
  bnn_rng_seed(&r, 42);
  float *mu = malloc(4 * D * sizeof *mu), *xtr = malloc(NTR * D * sizeof *xtr),
        *xte = malloc(NTE * D * sizeof *xte), *logits = malloc(NTE * 4 * sizeof *logits);
  uint8_t *ytr = malloc(NTR), *yte = malloc(NTE);
  for (int i = 0; i < 4 * D; i++) mu[i] = bnn_rng_uniform(&r) < 0.5f ? -0.5f : 0.5f;
  make_blobs(&r, mu, xtr, ytr, NTR, D);
  make_blobs(&r, mu, xte, yte, NTE, D);
  bnn_net *net = make_bnn(D, 128, 4, loss, seed, 0.2f);
  bnn_optim_desc od;
  bnn_optim_desc_init(&od, ok, lr);
  if (paper) od.clip_weights = true, od.lr_scale_glorot = true;
  od.momentum = 0.9f;
  bnn_optim *opt;
  CHECK_OK(bnn_optim_create(&opt, net, &od, &err));
  int step = 0;
  for (int epoch = 0; epoch < 3; epoch++) {
    bnn_optim_set_epoch(opt, epoch);
    for (int i = 0; i + B <= NTR; i += B, step++) {
      float l;
      int64_t correct;
      CHECK_OK(bnn_net_train_batch(net, opt, xtr + i * D, ytr + i, B, &l, &correct, &err));
      if (step < n_losses) losses[step] = l;
    }
  }
  CHECK_OK(bnn_net_forward_eval(net, xte, NTE, logits, &err));
  int correct = 0;
  for (int i = 0; i < NTE; i++) correct += bnn_argmax(logits + 4 * i, 4) == yte[i];
  bnn_optim_free(opt);
  bnn_net_free(net);
  free(mu), free(xtr), free(xte), free(logits), free(ytr), free(yte);
  return correct / (double)NTE;
}

int main(void) {
  bnn_set_num_threads(1);
  test_names_and_init();
  test_input_preprocessing();
  test_dropout();

  /* determinism: same seed, same loss sequence, bit for bit */
  float l1[40], l2[40], l3[40];
  double acc = train_blobs(BNN_LOSS_CROSS_ENTROPY, BNN_OPTIM_ADAM, 0.01f, false, 3, l1, 40);
  train_blobs(BNN_LOSS_CROSS_ENTROPY, BNN_OPTIM_ADAM, 0.01f, false, 3, l2, 40);
  train_blobs(BNN_LOSS_CROSS_ENTROPY, BNN_OPTIM_ADAM, 0.01f, false, 4, l3, 40);
  CHECK(memcmp(l1, l2, sizeof l1) == 0);
  CHECK(memcmp(l1, l3, sizeof l1) != 0);
  CHECK(l1[39] < l1[0]);
  printf("  blobs BNN, cross entropy + Adam: test accuracy %.1f%% (need >= 95%%)\n", 100 * acc);
  CHECK(acc >= 0.95);
  acc = train_blobs(BNN_LOSS_SQ_HINGE, BNN_OPTIM_ADAM, 0.003f, true, 3, l3, 40);
  printf("  blobs BNN, squared hinge + Adam + clip + glorot: test accuracy %.1f%% (need >= 95%%)\n", 100 * acc);
  CHECK(acc >= 0.95);
  acc = train_blobs(BNN_LOSS_CROSS_ENTROPY, BNN_OPTIM_SGD, 0.05f, false, 3, l3, 40);
  printf("  blobs BNN, cross entropy + SGD momentum: test accuracy %.1f%% (need >= 95%%)\n", 100 * acc);
  CHECK(acc >= 0.95);
  return CHECK_REPORT("runtime_test_net");
}
