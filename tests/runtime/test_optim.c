/* test_optim.c: SGD and Adam against hand-computed steps, schedules,
 * lr_scale glorot, clip_weights, and the optimizer's named state. */
#include <string.h>

#include "check.h"

/* A net with one binlinear 3 -> 2 and one linear 2 -> 1 (with bias). */
static bnn_net *tiny_net(void) {
  bnn_layer_desc L[2];
  bnn_layer_desc_init(&L[0], BNN_LAYER_BINLINEAR);
  L[0].in_features = 3, L[0].out_features = 2, L[0].real_input = true;
  bnn_layer_desc_init(&L[1], BNN_LAYER_LINEAR);
  L[1].in_features = 2, L[1].out_features = 1;
  bnn_net_desc d = {.input = {.ndim = 1, .shape = {3}, .type = BNN_INPUT_F32}, .layers = L, .n_layers = 2};
  bnn_net *net = NULL;
  CHECK_OK(bnn_net_create(&net, &d, 7, &err));
  return net;
}

/* Set every parameter to p0 and its gradient to g. */
static void set_all(bnn_net *net, float p0, float g) {
  for (int i = 0; i < bnn_net_num_tensors(net); i++) {
    bnn_named_tensor t;
    CHECK_OK(bnn_net_tensor(net, i, &t, &err));
    if (!t.trainable) continue;
    for (int64_t k = 0; k < t.numel; k++) t.data[k] = p0, t.param->grad[k] = g;
    t.param->flags |= BNN_TF_GRAD_VALID;
  }
}

static float first(bnn_net *net, const char *name) {
  bnn_named_tensor t;
  CHECK_OK(bnn_net_find_tensor(net, name, &t, &err));
  return t.data[0];
}

static void test_sgd(void) {
  bnn_net *net = tiny_net();
  bnn_optim_desc d;
  bnn_optim_desc_init(&d, BNN_OPTIM_SGD, 0.1f);
  d.momentum = 0.9f;
  bnn_optim *opt;
  CHECK_OK(bnn_optim_create(&opt, net, &d, &err));
  set_all(net, 1.0f, 0.5f);
  CHECK_OK(bnn_optim_step(opt, &err)); /* buf = 0.5, p = 1 - 0.1*0.5 */
  CHECK_CLOSE(first(net, "1.weight"), 0.95, 1e-7, 0);
  for (int i = 0; i < bnn_net_num_tensors(net); i++) { /* same gradient again */
    bnn_named_tensor t;
    bnn_net_tensor(net, i, &t, &err);
    if (t.trainable) t.param->grad[0] = 0.5f;
  }
  CHECK_OK(bnn_optim_step(opt, &err)); /* buf = 0.9*0.5 + 0.5 = 0.95, p = 0.95 - 0.095 */
  CHECK_CLOSE(first(net, "1.weight"), 0.855, 1e-7, 0);
  CHECK(bnn_optim_num_tensors(opt) == 3);
  bnn_named_tensor t;
  CHECK_OK(bnn_optim_tensor(opt, 0, &t, &err));
  CHECK(strcmp(t.name, "optim.0.weight.momentum_buffer") == 0 && t.data[0] == 0.95f);
  bnn_optim_free(opt);
  bnn_net_free(net);
}

static void test_adam(void) {
  bnn_net *net = tiny_net();
  bnn_optim_desc d;
  bnn_optim_desc_init(&d, BNN_OPTIM_ADAM, 0.01f);
  bnn_optim *opt;
  CHECK_OK(bnn_optim_create(&opt, net, &d, &err));
  const float gs[3] = {0.2f, -0.1f, 0.05f};
  double p = 0.5, m = 0, v = 0;
  set_all(net, 0.5f, 0.0f);
  for (int t = 1; t <= 3; t++) {
    for (int i = 0; i < bnn_net_num_tensors(net); i++) {
      bnn_named_tensor nt;
      bnn_net_tensor(net, i, &nt, &err);
      if (nt.trainable) nt.param->grad[0] = gs[t - 1], nt.param->flags |= BNN_TF_GRAD_VALID;
    }
    CHECK_OK(bnn_optim_step(opt, &err));
    /* textbook Adam in double: p -= lr * m_hat / (sqrt(v_hat) + eps) */
    m = 0.9 * m + 0.1 * gs[t - 1];
    v = 0.999 * v + 0.001 * gs[t - 1] * gs[t - 1];
    double mh = m / (1 - pow(0.9, t)), vh = v / (1 - pow(0.999, t));
    p -= 0.01 * mh / (sqrt(vh) + 1e-8);
    CHECK_CLOSE(first(net, "1.weight"), p, 1e-6, 1e-6);
    if (t == 1) CHECK_CLOSE(first(net, "1.weight"), 0.49, 1e-6, 0); /* first step moves by lr */
  }
  CHECK(bnn_optim_num_tensors(opt) == 6);
  bnn_named_tensor nt;
  CHECK_OK(bnn_optim_tensor(opt, 1, &nt, &err));
  CHECK(strcmp(nt.name, "optim.0.weight.v") == 0);
  CHECK_OK(bnn_optim_tensor(opt, 4, &nt, &err));
  CHECK(strcmp(nt.name, "optim.1.bias.m") == 0 && nt.numel == 1);
  bnn_train_state st;
  bnn_optim_state_get(opt, &st);
  CHECK(st.step == 3);
  bnn_optim_free(opt);
  bnn_net_free(net);
}

static void test_glorot_and_clip(void) {
  bnn_net *net = tiny_net();
  bnn_optim_desc d;
  bnn_optim_desc_init(&d, BNN_OPTIM_SGD, 0.1f);
  d.lr_scale_glorot = true, d.clip_weights = true;
  bnn_optim *opt;
  CHECK_OK(bnn_optim_create(&opt, net, &d, &err));
  set_all(net, 0.9f, -1.0f);
  CHECK_OK(bnn_optim_step(opt, &err));
  /* binlinear weight: lr * 1/sqrt(1.5/(3+2)) = 0.18257; 0.9 + 0.18257 clipped to 1 */
  CHECK(first(net, "0.weight") == 1.0f);
  CHECK_CLOSE(first(net, "1.weight"), 1.0, 1e-6, 0); /* float layer: scale 1, no clip */
  set_all(net, 0.5f, 1.0f);
  CHECK_OK(bnn_optim_step(opt, &err));
  CHECK_CLOSE(first(net, "0.weight"), 0.5 - 0.1 / sqrt(1.5 / 5.0), 1e-6, 0);
  bnn_optim_free(opt);
  bnn_net_free(net);
}

static void test_schedules(void) {
  bnn_optim_desc d;
  bnn_optim_desc_init(&d, BNN_OPTIM_ADAM, 1.0f);
  d.schedule = BNN_SCHEDULE_STEP, d.step_every = 2, d.gamma = 0.1f;
  CHECK_CLOSE(bnn_optim_schedule_lr(&d, 0), 1.0, 1e-7, 0);
  CHECK_CLOSE(bnn_optim_schedule_lr(&d, 1), 1.0, 1e-7, 0);
  CHECK_CLOSE(bnn_optim_schedule_lr(&d, 2), 0.1, 1e-7, 0);
  CHECK_CLOSE(bnn_optim_schedule_lr(&d, 5), 0.01, 1e-8, 0);
  d.schedule = BNN_SCHEDULE_EXP, d.lr_to = 0.01f, d.epochs = 2;
  CHECK_CLOSE(bnn_optim_schedule_lr(&d, 0), 1.0, 1e-7, 0);
  CHECK_CLOSE(bnn_optim_schedule_lr(&d, 1), 0.1, 1e-7, 0);
  CHECK_CLOSE(bnn_optim_schedule_lr(&d, 2), 0.01, 1e-8, 0);
  d.lr = -1;
  bnn_optim *opt;
  CHECK(bnn_optim_create(&opt, (bnn_net *)&d, &d, &err) == BNN_ERR_ARG); /* rejected before use */
}

int main(void) {
  test_sgd();
  test_adam();
  test_glorot_and_clip();
  test_schedules();
  return CHECK_REPORT("runtime_test_optim");
}
