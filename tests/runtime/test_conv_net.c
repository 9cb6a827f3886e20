/* test_conv_net.c: convolutional nets from descriptors: state_dict names and
 * shapes ([out,in,kh,kw]), nn.Conv2d init, per-channel input normalization
 * through a conv and flatten in (C,H,W) order, shape errors naming the
 * layer, and a small XNOR-Net style conv BNN learning generated images. */
#include <stdlib.h>
#include <string.h>

#include "check.h"

enum { IMG = 12, CLASSES = 4 };

/* conv2d 8 3x3 pad=1, bn, maxpool 2x2, binconv2d 16 3x3 pad=1 scale, bn,
 * maxpool 2x2, flatten, binlinear 144 -> 32 scale, bn, linear 32 -> 4 */
static bnn_net *make_conv_bnn(uint64_t seed) {
  bnn_layer_desc L[10];
  bnn_layer_desc_init(&L[0], BNN_LAYER_CONV2D);
  L[0].out_channels = 8, L[0].kernel = 3, L[0].pad = 1;
  bnn_layer_desc_init(&L[1], BNN_LAYER_BATCHNORM);
  bnn_layer_desc_init(&L[2], BNN_LAYER_MAXPOOL);
  L[2].kernel = 2;
  bnn_layer_desc_init(&L[3], BNN_LAYER_BINCONV2D);
  L[3].out_channels = 16, L[3].kernel = 3, L[3].pad = 1, L[3].has_scale = true;
  bnn_layer_desc_init(&L[4], BNN_LAYER_BATCHNORM);
  bnn_layer_desc_init(&L[5], BNN_LAYER_MAXPOOL);
  L[5].kernel = 2;
  bnn_layer_desc_init(&L[6], BNN_LAYER_FLATTEN);
  bnn_layer_desc_init(&L[7], BNN_LAYER_BINLINEAR);
  L[7].in_features = 16 * 3 * 3, L[7].out_features = 32, L[7].has_scale = true;
  bnn_layer_desc_init(&L[8], BNN_LAYER_BATCHNORM);
  bnn_layer_desc_init(&L[9], BNN_LAYER_LINEAR);
  L[9].in_features = 32, L[9].out_features = CLASSES;
  bnn_net_desc d = {.input = {.ndim = 3, .shape = {1, IMG, IMG}, .type = BNN_INPUT_U8,
                              .normalize = true, .n_norm = 1, .mean = {0.5f}, .std = {0.5f}},
                    .layers = L, .n_layers = 10, .loss = BNN_LOSS_CROSS_ENTROPY};
  bnn_net *net = NULL;
  CHECK_OK(bnn_net_create(&net, &d, seed, &err));
  return net;
}

static void test_names_and_init(void) {
  bnn_net *net = make_conv_bnn(1);
  if (!net) return;
  static const struct { const char *name; int ndim; int64_t shape[4]; } want[] = {
    {"0.weight", 4, {8, 1, 3, 3}},   {"0.bias", 1, {8}},        {"1.weight", 1, {8}},
    {"1.bias", 1, {8}},              {"1.running_mean", 1, {8}}, {"1.running_var", 1, {8}},
    {"3.weight", 4, {16, 8, 3, 3}},  {"4.weight", 1, {16}},     {"4.bias", 1, {16}},
    {"4.running_mean", 1, {16}},     {"4.running_var", 1, {16}}, {"7.weight", 2, {32, 144}},
    {"8.weight", 1, {32}},           {"8.bias", 1, {32}},       {"8.running_mean", 1, {32}},
    {"8.running_var", 1, {32}},      {"9.weight", 2, {4, 32}},  {"9.bias", 1, {4}},
  };
  int n = (int)(sizeof want / sizeof want[0]);
  CHECK(bnn_net_num_tensors(net) == n);
  for (int i = 0; i < n && i < bnn_net_num_tensors(net); i++) {
    bnn_named_tensor t;
    CHECK_OK(bnn_net_tensor(net, i, &t, &err));
    CHECK(strcmp(t.name, want[i].name) == 0 && t.ndim == want[i].ndim);
    for (int dd = 0; dd < t.ndim; dd++) CHECK(t.shape[dd] == want[i].shape[dd]);
  }
  CHECK(bnn_net_input_size(net) == IMG * IMG && bnn_net_output_size(net) == CLASSES);
  /* nn.Conv2d init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = C*kh*kw = 72 */
  bnn_named_tensor w;
  CHECK_OK(bnn_net_find_tensor(net, "3.weight", &w, &err));
  float bound = 1.0f / sqrtf(72.0f), mx = 0;
  for (int64_t k = 0; k < w.numel; k++) mx = fmaxf(mx, fabsf(w.data[k]));
  CHECK(mx <= bound && mx > 0.98f * bound);
  bnn_net_free(net);
}

/* u8 [2,2,3] -> x/255, (x - mean[c]) / std[c] -> 1x1 identity conv ->
 * flatten: the output is the normalized input in (C,H,W) order. */
static void test_normalize_through_conv(void) {
  bnn_layer_desc L[2];
  bnn_layer_desc_init(&L[0], BNN_LAYER_CONV2D);
  L[0].out_channels = 2, L[0].kernel = 1;
  bnn_layer_desc_init(&L[1], BNN_LAYER_FLATTEN);
  bnn_net_desc d = {.input = {.ndim = 3, .shape = {2, 2, 3}, .type = BNN_INPUT_U8, .normalize = true,
                              .n_norm = 2, .mean = {0.5f, 0.25f}, .std = {0.5f, 2.0f}},
                    .layers = L, .n_layers = 2};
  bnn_net *net;
  CHECK_OK(bnn_net_create(&net, &d, 1, &err));
  if (!net) return;
  bnn_named_tensor w, b;
  CHECK_OK(bnn_net_find_tensor(net, "0.weight", &w, &err));
  CHECK_OK(bnn_net_find_tensor(net, "0.bias", &b, &err));
  CHECK(w.ndim == 4 && w.shape[0] == 2 && w.shape[1] == 2 && w.shape[2] == 1 && w.shape[3] == 1);
  w.data[0] = 1, w.data[1] = 0, w.data[2] = 0, w.data[3] = 1;
  b.data[0] = b.data[1] = 0;
  const uint8_t x[12] = {0, 51, 102, 153, 204, 255, 255, 0, 10, 20, 30, 40};
  float y[12];
  CHECK_OK(bnn_net_forward_eval(net, x, 1, y, &err));
  for (int i = 0; i < 12; i++) {
    int c = i / 6;
    double want = ((double)(x[i] / 255.0f) - d.input.mean[c]) / d.input.std[c];
    CHECK_CLOSE(y[i], want, 1e-6, 1e-6);
  }
  bnn_net_free(net);
}

static bnn_status create_err(bnn_layer_desc *L, int n, int64_t C, int64_t H, int64_t W) {
  bnn_net_desc d = {.input = {.ndim = 3, .shape = {C, H, W}}, .layers = L, .n_layers = n};
  bnn_net *net = NULL;
  bnn_status s = bnn_net_create(&net, &d, 1, &err);
  bnn_net_free(net);
  return s;
}

static void test_shape_errors(void) {
  bnn_layer_desc L[3];
  /* a linear layer straight after a conv */
  bnn_layer_desc_init(&L[0], BNN_LAYER_CONV2D);
  L[0].out_channels = 4, L[0].kernel = 3;
  bnn_layer_desc_init(&L[1], BNN_LAYER_LINEAR);
  L[1].in_features = 144, L[1].out_features = 2;
  CHECK(create_err(L, 2, 1, 8, 8) == BNN_ERR_SHAPE);
  CHECK(strstr(err.msg, "layer 1 (linear '1'): input is 4x6x6, add a flatten first") != NULL);
  /* wrong feature count after flatten */
  bnn_layer_desc_init(&L[1], BNN_LAYER_FLATTEN);
  bnn_layer_desc_init(&L[2], BNN_LAYER_LINEAR);
  L[2].in_features = 100, L[2].out_features = 2;
  CHECK(create_err(L, 3, 1, 8, 8) == BNN_ERR_SHAPE);
  CHECK(strstr(err.msg, "layer 2 (linear '2'): declared 100 -> 2 but the previous layer gives 144 features") != NULL);
  /* a conv after flatten */
  bnn_layer_desc_init(&L[0], BNN_LAYER_FLATTEN);
  bnn_layer_desc_init(&L[1], BNN_LAYER_BINCONV2D);
  L[1].out_channels = 4, L[1].kernel = 3;
  CHECK(create_err(L, 2, 1, 8, 8) == BNN_ERR_SHAPE);
  CHECK(strstr(err.msg, "layer 1 (binconv2d '1'): needs an image [C,H,W] but the previous layer gives 64 features") != NULL);
  /* kernel larger than the (padded) image */
  bnn_layer_desc_init(&L[0], BNN_LAYER_MAXPOOL);
  L[0].kernel = 2;
  bnn_layer_desc_init(&L[1], BNN_LAYER_CONV2D);
  L[1].out_channels = 4, L[1].kernel = 5, L[1].pad = 0;
  CHECK(create_err(L, 2, 3, 7, 7) == BNN_ERR_SHAPE);
  CHECK(strstr(err.msg, "layer 1 (conv2d '1'): a 5x5 kernel (stride 1, pad 0) does not fit the 3x3x3 input") != NULL);
  /* pools: default stride = kernel; no padding */
  bnn_layer_desc_init(&L[0], BNN_LAYER_AVGPOOL);
  L[0].kernel = 2, L[0].pad = 1;
  CHECK(create_err(L, 1, 3, 8, 8) == BNN_ERR_UNSUPPORTED);
  CHECK(strstr(err.msg, "layer 0 (avgpool '0'): pools take no padding") != NULL);
  /* a net must end in [classes] */
  bnn_layer_desc_init(&L[0], BNN_LAYER_CONV2D);
  L[0].out_channels = 4, L[0].kernel = 3;
  CHECK(create_err(L, 1, 1, 8, 8) == BNN_ERR_SHAPE);
  CHECK(strstr(err.msg, "the last layer must produce [classes]") != NULL);
  /* input channels inferred; the declared ones cannot disagree, but zero output channels can */
  L[0].out_channels = 0;
  CHECK(create_err(L, 1, 1, 8, 8) == BNN_ERR_ARG);
  CHECK(strstr(err.msg, "layer 0 (conv2d '0'): 0 output channels") != NULL);
}

/* 12x12 u8 images of one bar (class 0 horizontal, 1 vertical, 2 diagonal,
 * 3 anti-diagonal) of length 5 at a random position, on uniform noise. */
static void make_bars(bnn_rng *r, uint8_t *x, uint8_t *y, int n) {
  static const int dh[CLASSES] = {0, 1, 1, 1}, dw[CLASSES] = {1, 0, 1, -1};
  for (int i = 0; i < n; i++) {
    int k = (int)bnn_rng_below(r, CLASSES);
    y[i] = (uint8_t)k;
    uint8_t *img = x + i * IMG * IMG;
    for (int p = 0; p < IMG * IMG; p++) img[p] = (uint8_t)bnn_rng_below(r, 100);
    int h0 = 2 + (int)bnn_rng_below(r, IMG - 8), w0 = 2 + (int)bnn_rng_below(r, IMG - 8);
    if (dw[k] < 0) w0 += 4;
    for (int t = 0; t < 5; t++) img[(h0 + t * dh[k]) * IMG + w0 + t * dw[k]] = 255;
  }
}

static void test_learns_bars(void) {
  enum { NTR = 2000, NTE = 500, B = 50 };
  bnn_rng r;
  bnn_rng_seed(&r, 7);
  uint8_t *xtr = malloc(NTR * IMG * IMG), *xte = malloc(NTE * IMG * IMG), ytr[NTR], yte[NTE];
  float *logits = malloc(NTE * CLASSES * sizeof *logits);
  make_bars(&r, xtr, ytr, NTR);
  make_bars(&r, xte, yte, NTE);
  bnn_net *net = make_conv_bnn(3);
  bnn_optim_desc od;
  bnn_optim_desc_init(&od, BNN_OPTIM_ADAM, 0.01f);
  bnn_optim *opt = NULL;
  CHECK_OK(bnn_optim_create(&opt, net, &od, &err));
  float first = 0, last = 0;
  for (int epoch = 0; epoch < 3 && opt; epoch++) {
    bnn_optim_set_epoch(opt, epoch);
    for (int i = 0; i + B <= NTR; i += B) {
      float l;
      CHECK_OK(bnn_net_train_batch(net, opt, xtr + i * IMG * IMG, ytr + i, B, &l, NULL, &err));
      if (epoch == 0 && i == 0) first = l;
      last = l;
    }
  }
  CHECK_OK(bnn_net_forward_eval(net, xte, NTE, logits, &err));
  int correct = 0;
  for (int i = 0; i < NTE; i++) correct += bnn_argmax(logits + CLASSES * i, CLASSES) == yte[i];
  double acc = correct / (double)NTE;
  printf("  conv BNN on 12x12 bars (4 orientations): loss %.3f -> %.3f, test accuracy %.1f%% (need >= 90%%)\n",
         first, last, 100 * acc);
  CHECK(acc >= 0.90);
  CHECK(last < first);
  bnn_optim_free(opt);
  bnn_net_free(net);
  free(xtr), free(xte), free(logits);
}

/* clip_weights applies to binconv2d weights (binary) but not to conv2d's */
static void test_clip_binary_conv(void) {
  bnn_net *net = make_conv_bnn(5);
  if (!net) return;
  bnn_optim_desc od;
  bnn_optim_desc_init(&od, BNN_OPTIM_SGD, 1e-6f);
  od.clip_weights = true;
  bnn_optim *opt = NULL;
  CHECK_OK(bnn_optim_create(&opt, net, &od, &err));
  bnn_named_tensor bw, fw;
  CHECK_OK(bnn_net_find_tensor(net, "3.weight", &bw, &err));
  CHECK_OK(bnn_net_find_tensor(net, "0.weight", &fw, &err));
  bw.data[0] = 5.0f, fw.data[0] = 5.0f;
  uint8_t x[2 * IMG * IMG] = {0}, y[2] = {0, 1};
  x[5] = 200, x[IMG * IMG + 77] = 90;
  CHECK_OK(bnn_net_train_batch(net, opt, x, y, 2, NULL, NULL, &err));
  CHECK(bw.data[0] == 1.0f);
  CHECK(fw.data[0] > 4.9f);
  bnn_optim_free(opt);
  bnn_net_free(net);
}

int main(void) {
  bnn_set_num_threads(1);
  test_names_and_init();
  test_normalize_through_conv();
  test_shape_errors();
  test_clip_binary_conv();
  test_learns_bars();
  return CHECK_REPORT("runtime_test_conv_net");
}
