/* Host-driven program: the process is the device, its stdin/stdout carry the microTVM RPC
 * stream. Diagnostics go to stderr only. */
#include <signal.h>
#include <stdio.h>

#include <tvm/runtime/crt/platform.h>

#include "projectapi_loops.h"

int main(void) {
  signal(SIGPIPE, SIG_IGN); /* a closed transport becomes a write error, not a silent death */
  if (TVMPlatformInitialize() != kTvmErrorNoError) {
    fprintf(stderr, "error: platform initialisation failed\n");
    return 1;
  }
  return projectapi_host_driven_serve();
}
