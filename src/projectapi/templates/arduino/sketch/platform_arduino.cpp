// The runtime's timer on Arduino: micros(). The rest of the platform layer (memory pool, abort,
// random numbers) is platform_static.c, whose weak definitions these override.
#include <Arduino.h>

extern "C" {
#include <tvm/runtime/crt/platform.h>
}

static unsigned long timer_start_us;
static bool timer_running;

extern "C" tvm_crt_error_t TVMPlatformTimerStart(void) {
  if (timer_running) {
    return kTvmErrorPlatformTimerBadState;
  }
  timer_running = true;
  timer_start_us = micros();
  return kTvmErrorNoError;
}

extern "C" tvm_crt_error_t TVMPlatformTimerStop(double* elapsed_time_seconds) {
  if (!timer_running) {
    return kTvmErrorPlatformTimerBadState;
  }
  timer_running = false;
  *elapsed_time_seconds = (double)(micros() - timer_start_us) / 1e6;
  return kTvmErrorNoError;
}
