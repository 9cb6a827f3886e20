/* pending.c - modes whose implementation has not landed yet. Each says so
 * plainly and exits 70, rather than pretending to work. */
#include "diag.h"
#include "driver.h"

static int pending(const char *mode) {
  bnnc_error("%s is not available in this build yet", mode);
  return BNNC_EXIT_INTERNAL;
}

int driver_stats(const DriverOptions *o) { (void)o; return pending("--stats"); }
int driver_verify(const DriverOptions *o) { (void)o; return pending("--verify"); }
