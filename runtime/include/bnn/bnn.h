/* bnn/bnn.h: the bnn runtime, all public headers. See docs/runtime.md. */
#ifndef BNN_BNN_H
#define BNN_BNN_H

#include "bnn/status.h"
#include "bnn/rng.h"
#include "bnn/tensor.h"
#include "bnn/ops.h"
#include "bnn/net.h"
#include "bnn/optim.h"
#include "bnn/io.h"

#define BNN_VERSION_STRING "0.1.0"

#endif /* BNN_BNN_H */
