/* Firmware entry: platform set-up, then the project type's main loop on the UART (the build
 * defines PROJECTAPI_SERVE as projectapi_standalone_serve or projectapi_host_driven_serve). */
#include <tvm/runtime/crt/platform.h>

#include "projectapi_loops.h"

#ifndef PROJECTAPI_SERVE
#error "define PROJECTAPI_SERVE as the main loop to run"
#endif

int main(void) {
  if (TVMPlatformInitialize() != kTvmErrorNoError) {
    return 1;
  }
  return PROJECTAPI_SERVE();
}
