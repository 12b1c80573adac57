/* TVMPlatform* for the bare-metal boards: a static memory pool under the runtime's page
 * allocator, the board timer, and a small pseudo-random generator for session nonces. */
#include <stdio.h>
#include <tvm/runtime/crt/page_allocator.h>
#include <tvm/runtime/crt/platform.h>

#include "board.h"

#ifndef TVM_WORKSPACE_SIZE_BYTES
#error "define TVM_WORKSPACE_SIZE_BYTES (the project's workspace_size_bytes option)"
#endif
#define PAGE_SIZE_LOG2 8 /* 256-byte pages */

static uint8_t memory_pool[TVM_WORKSPACE_SIZE_BYTES] __attribute__((aligned(16)));
static MemoryManagerInterface* memory_manager;
static uint64_t timer_start;
static int timer_running;
static uint32_t random_state;

void TVMPlatformAbort(tvm_crt_error_t code) {
  (void)code;
  for (;;) { /* nothing to reset to: stop; the host sees the link go silent */
    board_wait_for_rx();
  }
}

size_t TVMPlatformFormatMessage(char* out_buf, size_t out_buf_size_bytes, const char* fmt,
                                va_list args) {
  int n;
  if (out_buf_size_bytes == 0) {
    return 0;
  }
  n = vsnprintf(out_buf, out_buf_size_bytes, fmt, args);
  if (n < 0) {
    out_buf[0] = '\0';
    return 0;
  }
  return (size_t)n < out_buf_size_bytes ? (size_t)n : out_buf_size_bytes - 1;
}

tvm_crt_error_t TVMPlatformMemoryAllocate(size_t num_bytes, DLDevice dev, void** out_ptr) {
  return memory_manager->Allocate(memory_manager, num_bytes, dev, out_ptr);
}

tvm_crt_error_t TVMPlatformMemoryFree(void* ptr, DLDevice dev) {
  return memory_manager->Free(memory_manager, ptr, dev);
}

tvm_crt_error_t TVMPlatformTimerStart(void) {
  if (timer_running) {
    return kTvmErrorPlatformTimerBadState;
  }
  timer_running = 1;
  timer_start = board_timer_ticks();
  return kTvmErrorNoError;
}

tvm_crt_error_t TVMPlatformTimerStop(double* elapsed_time_seconds) {
  uint64_t now = board_timer_ticks();
  if (!timer_running) {
    return kTvmErrorPlatformTimerBadState;
  }
  timer_running = 0;
  *elapsed_time_seconds = (double)(now - timer_start) / (double)BOARD_TIMER_HZ;
  return kTvmErrorNoError;
}

tvm_crt_error_t TVMPlatformBeforeMeasurement(void) { return kTvmErrorNoError; }

tvm_crt_error_t TVMPlatformAfterMeasurement(void) { return kTvmErrorNoError; }

tvm_crt_error_t TVMPlatformGenerateRandom(uint8_t* buffer, size_t num_bytes) {
  size_t i;
  if (random_state == 0u) {
    random_state = ((uint32_t)board_timer_ticks() ^ 0x6d2b79f5u) | 1u; /* never 0 */
  }
  for (i = 0; i < num_bytes; ++i) { /* xorshift32: enough for session nonces, not for secrets */
    random_state ^= random_state << 13;
    random_state ^= random_state >> 17;
    random_state ^= random_state << 5;
    buffer[i] = (uint8_t)(random_state >> 24);
  }
  return kTvmErrorNoError;
}

tvm_crt_error_t TVMPlatformInitialize(void) {
  return PageMemoryManagerCreate(&memory_manager, memory_pool, sizeof(memory_pool), PAGE_SIZE_LOG2);
}
