/* TVMPlatform* for a library on bare metal: a static memory pool under the runtime's page
 * allocator, no timer, a small pseudo-random generator. Every function is weak, so firmware
 * that has its own platform layer (a real timer, a reset on abort) simply defines it. */
#include <stdio.h>

#include "crt_config.h" /* may define TVM_WORKSPACE_SIZE_BYTES (Arduino layouts) */
#include <tvm/runtime/crt/page_allocator.h>
#include <tvm/runtime/crt/platform.h>

#ifndef TVM_WORKSPACE_SIZE_BYTES
#error "define TVM_WORKSPACE_SIZE_BYTES (the library's workspace_size_bytes option)"
#endif
#define PAGE_SIZE_LOG2 8 /* 256-byte pages */

static uint8_t memory_pool[TVM_WORKSPACE_SIZE_BYTES] __attribute__((aligned(16)));
static MemoryManagerInterface* memory_manager;
static uint32_t random_state = 0x6d2b79f5u;

__attribute__((weak)) void TVMPlatformAbort(tvm_crt_error_t code) {
  (void)code;
  for (;;) { /* nothing to return to: stop here */
  }
}

__attribute__((weak)) size_t TVMPlatformFormatMessage(char* out_buf, size_t out_buf_size_bytes,
                                                      const char* fmt, va_list args) {
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

__attribute__((weak)) tvm_crt_error_t TVMPlatformMemoryAllocate(size_t num_bytes, DLDevice dev,
                                                                void** out_ptr) {
  return memory_manager->Allocate(memory_manager, num_bytes, dev, out_ptr);
}

__attribute__((weak)) tvm_crt_error_t TVMPlatformMemoryFree(void* ptr, DLDevice dev) {
  return memory_manager->Free(memory_manager, ptr, dev);
}

__attribute__((weak)) tvm_crt_error_t TVMPlatformTimerStart(void) {
  return kTvmErrorFunctionCallNotImplemented;
}

__attribute__((weak)) tvm_crt_error_t TVMPlatformTimerStop(double* elapsed_time_seconds) {
  (void)elapsed_time_seconds;
  return kTvmErrorFunctionCallNotImplemented;
}

__attribute__((weak)) tvm_crt_error_t TVMPlatformBeforeMeasurement(void) {
  return kTvmErrorNoError;
}

__attribute__((weak)) tvm_crt_error_t TVMPlatformAfterMeasurement(void) {
  return kTvmErrorNoError;
}

__attribute__((weak)) tvm_crt_error_t TVMPlatformGenerateRandom(uint8_t* buffer,
                                                                size_t num_bytes) {
  size_t i;
  for (i = 0; i < num_bytes; ++i) { /* xorshift32: not for secrets */
    random_state ^= random_state << 13;
    random_state ^= random_state >> 17;
    random_state ^= random_state << 5;
    buffer[i] = (uint8_t)(random_state >> 24);
  }
  return kTvmErrorNoError;
}

__attribute__((weak)) tvm_crt_error_t TVMPlatformInitialize(void) {
  return PageMemoryManagerCreate(&memory_manager, memory_pool, sizeof(memory_pool),
                                 PAGE_SIZE_LOG2);
}
