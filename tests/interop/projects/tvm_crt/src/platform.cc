// TVMPlatform* for the TVM-style template's program: a fixed memory pool under the runtime's
// page allocator, a steady clock, and std::minstd_rand for random bytes.
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <chrono>
#include <random>

#include <tvm/runtime/crt/page_allocator.h>
#include <tvm/runtime/crt/platform.h>

namespace {

alignas(64) uint8_t memory_pool[TVM_WORKSPACE_SIZE_BYTES];
MemoryManagerInterface* memory_manager = nullptr;
bool timer_running = false;
std::chrono::steady_clock::time_point timer_start;
std::minstd_rand random_engine;

}  // namespace

extern "C" {

void TVMPlatformAbort(tvm_crt_error_t code) {
  fprintf(stderr, "TVMPlatformAbort: 0x%x\n", static_cast<unsigned>(code));
  exit(1);
}

size_t TVMPlatformFormatMessage(char* out_buf, size_t out_buf_size_bytes, const char* fmt,
                                va_list args) {
  int length = vsnprintf(out_buf, out_buf_size_bytes, fmt, args);
  if (length < 0) return 0;
  size_t stored = static_cast<size_t>(length);
  return stored < out_buf_size_bytes ? stored : out_buf_size_bytes - 1;
}

tvm_crt_error_t TVMPlatformInitialize() {
  return PageMemoryManagerCreate(&memory_manager, memory_pool, sizeof(memory_pool), 8);
}

tvm_crt_error_t TVMPlatformMemoryAllocate(size_t num_bytes, DLDevice dev, void** out_ptr) {
  return memory_manager->Allocate(memory_manager, num_bytes, dev, out_ptr);
}

tvm_crt_error_t TVMPlatformMemoryFree(void* ptr, DLDevice dev) {
  return memory_manager->Free(memory_manager, ptr, dev);
}

tvm_crt_error_t TVMPlatformTimerStart() {
  if (timer_running) return kTvmErrorPlatformTimerBadState;
  timer_running = true;
  timer_start = std::chrono::steady_clock::now();
  return kTvmErrorNoError;
}

tvm_crt_error_t TVMPlatformTimerStop(double* elapsed_time_seconds) {
  if (!timer_running) return kTvmErrorPlatformTimerBadState;
  timer_running = false;
  std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - timer_start;
  *elapsed_time_seconds = elapsed.count();
  return kTvmErrorNoError;
}

tvm_crt_error_t TVMPlatformBeforeMeasurement() { return kTvmErrorNoError; }

tvm_crt_error_t TVMPlatformAfterMeasurement() { return kTvmErrorNoError; }

tvm_crt_error_t TVMPlatformGenerateRandom(uint8_t* buffer, size_t num_bytes) {
  for (size_t i = 0; i < num_bytes; ++i) buffer[i] = static_cast<uint8_t>(random_engine());
  return kTvmErrorNoError;
}

}  // extern "C"
