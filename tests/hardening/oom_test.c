/* oom_test.c - out of memory in the runtime is an error returned to the
 * caller: creating a net too big for the address space gives BNN_ERR_NOMEM
 * and a message, never an abort, and the library keeps working afterwards.
 *
 * The address space is limited with setrlimit(RLIMIT_AS) to what the process
 * uses now plus 1 GB. AddressSanitizer reserves terabytes of shadow memory, so
 * under ASan the limit is its own max_allocation_size_mb instead (set below;
 * allocator_may_return_null makes malloc return NULL as libc does). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bnn/bnn.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#ifdef UNDER_ASAN
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1:max_allocation_size_mb=1024"; }
#endif

static int failures;
#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);      \
      failures++;                                                                    \
    }                                                                                \
  } while (0)

#ifndef UNDER_ASAN
/* VmSize of this process in bytes, 0 if unknown. */
static unsigned long long address_space_in_use(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  unsigned long long kb = 0;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmSize: %llu kB", &kb) == 1) break;
  if (f) fclose(f);
  return kb * 1024;
}
#endif

/* input 784 -> binlinear OUT (real input) -> linear OUT -> 10 */
static bnn_status make_net(int64_t out, bnn_net **net, bnn_error *err) {
  bnn_layer_desc L[2];
  bnn_layer_desc_init(&L[0], BNN_LAYER_BINLINEAR);
  L[0].in_features = 784, L[0].out_features = out, L[0].real_input = true;
  bnn_layer_desc_init(&L[1], BNN_LAYER_LINEAR);
  L[1].in_features = out, L[1].out_features = 10;
  bnn_net_desc d = {.input = {.ndim = 1, .shape = {784}, .type = BNN_INPUT_U8}, .layers = L, .n_layers = 2};
  return bnn_net_create(net, &d, 1, err);
}

int main(void) {
#ifndef UNDER_ASAN
  unsigned long long used = address_space_in_use();
  struct rlimit lim = {.rlim_cur = used + (1ull << 30), .rlim_max = RLIM_INFINITY};
  if (used == 0 || setrlimit(RLIMIT_AS, &lim) != 0) {
    fprintf(stderr, "cannot limit the address space: skipped\n");
    return 77;
  }
#endif
  /* 784 x 1048576 weights: 3.3 GB of floats, 6.6 GB with gradients. */
  bnn_error err = {0};
  bnn_net *net = NULL;
  bnn_status s = make_net(1048576, &net, &err);
  CHECK(s == BNN_ERR_NOMEM);
  CHECK(net == NULL);
  CHECK(strstr(err.msg, "out of memory") != NULL);
  CHECK(strstr(err.msg, "parameter floats") != NULL);
  printf("too big: %s: %s\n", bnn_status_str(s), err.msg);

  /* The library still works: a small net is created, trained and freed. */
  err = (bnn_error){0};
  s = make_net(32, &net, &err);
  CHECK(s == BNN_OK);
  if (s == BNN_OK) {
    bnn_optim *opt = NULL;
    bnn_optim_desc od;
    bnn_optim_desc_init(&od, BNN_OPTIM_ADAM, 0.01f);
    CHECK(bnn_optim_create(&opt, net, &od, &err) == BNN_OK);
    uint8_t x[4 * 784] = {0}, y[4] = {1, 2, 3, 4};
    float loss = 0;
    int64_t correct = 0;
    CHECK(opt && bnn_net_train_batch(net, opt, x, y, 4, &loss, &correct, &err) == BNN_OK);
    bnn_optim_free(opt);
    bnn_net_free(net);
  }
  printf("%s\n", failures ? "FAILED" : "ok");
  return failures != 0;
}
