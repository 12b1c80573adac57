/*
 * TVMPlatform* for POSIX hosts. Memory comes from a static pool of TVM_WORKSPACE_SIZE_BYTES
 * managed by the page allocator (so the host behaves like a device with a fixed heap); define
 * TVM_PLATFORM_POSIX_USE_MALLOC to use malloc instead (so AddressSanitizer sees each allocation),
 * still refusing any single allocation the pool could never hold. Timer: CLOCK_MONOTONIC. Random bytes:
 * /dev/urandom, falling back to a time-seeded generator.
 */
#if !defined(_POSIX_C_SOURCE) || _POSIX_C_SOURCE < 200112L
#undef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200112L
#endif

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <tvm/runtime/crt/internal/config.h>
#include <tvm/runtime/crt/page_allocator.h>
#include <tvm/runtime/crt/platform.h>

#ifndef TVM_WORKSPACE_SIZE_BYTES
#define TVM_WORKSPACE_SIZE_BYTES (2 * 1024 * 1024) /* the host template's default */
#endif

/* 256-byte pages, as TVM's templates use. */
#define TVM_PLATFORM_POSIX_PAGE_SIZE_LOG2 8

void TVMPlatformAbort(tvm_crt_error_t code) {
  fprintf(stderr, "TVMPlatformAbort: error 0x%x\n", (unsigned)code);
  fflush(stderr);
  exit(code == 0 ? 0 : 1);
}

size_t TVMPlatformFormatMessage(char* out_buf, size_t out_buf_size_bytes, const char* fmt,
                                va_list args) {
  int n;
  if (out_buf_size_bytes == 0) return 0;
  n = vsnprintf(out_buf, out_buf_size_bytes, fmt, args);
  if (n < 0) {
    out_buf[0] = '\0';
    return 0;
  }
  /* Clamp to what was stored: vsnprintf returns the untruncated length. */
  if ((size_t)n >= out_buf_size_bytes) return out_buf_size_bytes - 1;
  return (size_t)n;
}

#ifndef TVM_PLATFORM_POSIX_USE_MALLOC
static union {
  uint8_t bytes[TVM_WORKSPACE_SIZE_BYTES];
  long double align; /* at least the platform's max alignment */
} g_pool __attribute__((aligned(64)));
static MemoryManagerInterface* g_memory_manager;

static tvm_crt_error_t EnsureMemoryManager(void) {
  if (g_memory_manager != NULL) return kTvmErrorNoError;
  return PageMemoryManagerCreate(&g_memory_manager, g_pool.bytes, sizeof(g_pool.bytes),
                                 TVM_PLATFORM_POSIX_PAGE_SIZE_LOG2);
}
#endif

tvm_crt_error_t TVMPlatformMemoryAllocate(size_t num_bytes, DLDevice dev, void** out_ptr) {
#ifdef TVM_PLATFORM_POSIX_USE_MALLOC
  void* p;
  (void)dev;
  if (num_bytes > TVM_WORKSPACE_SIZE_BYTES) return kTvmErrorPlatformNoMemory;
  p = malloc(num_bytes ? num_bytes : 1);
  if (p == NULL) return kTvmErrorPlatformNoMemory;
  *out_ptr = p;
  return kTvmErrorNoError;
#else
  tvm_crt_error_t err = EnsureMemoryManager();
  if (err != kTvmErrorNoError) return err;
  return g_memory_manager->Allocate(g_memory_manager, num_bytes, dev, out_ptr);
#endif
}

tvm_crt_error_t TVMPlatformMemoryFree(void* ptr, DLDevice dev) {
#ifdef TVM_PLATFORM_POSIX_USE_MALLOC
  (void)dev;
  free(ptr);
  return kTvmErrorNoError;
#else
  tvm_crt_error_t err = EnsureMemoryManager();
  if (err != kTvmErrorNoError) return err;
  return g_memory_manager->Free(g_memory_manager, ptr, dev);
#endif
}

static struct timespec g_timer_start;
static int g_timer_running;

tvm_crt_error_t TVMPlatformTimerStart(void) {
  if (g_timer_running) return kTvmErrorPlatformTimerBadState;
  if (clock_gettime(CLOCK_MONOTONIC, &g_timer_start) != 0) return kTvmErrorPlatformCheckFailure;
  g_timer_running = 1;
  return kTvmErrorNoError;
}

tvm_crt_error_t TVMPlatformTimerStop(double* elapsed_time_seconds) {
  struct timespec now;
  if (!g_timer_running) return kTvmErrorPlatformTimerBadState;
  if (clock_gettime(CLOCK_MONOTONIC, &now) != 0) return kTvmErrorPlatformCheckFailure;
  g_timer_running = 0;
  *elapsed_time_seconds = (double)(now.tv_sec - g_timer_start.tv_sec) +
                          (double)(now.tv_nsec - g_timer_start.tv_nsec) * 1e-9;
  return kTvmErrorNoError;
}

tvm_crt_error_t TVMPlatformBeforeMeasurement(void) { return kTvmErrorNoError; }

tvm_crt_error_t TVMPlatformAfterMeasurement(void) { return kTvmErrorNoError; }

tvm_crt_error_t TVMPlatformGenerateRandom(uint8_t* buffer, size_t num_bytes) {
  static uint32_t state;
  size_t got = 0;
  FILE* f = fopen("/dev/urandom", "rb");
  if (f != NULL) {
    got = fread(buffer, 1, num_bytes, f);
    fclose(f);
  }
  if (got < num_bytes) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (state == 0) state = (uint32_t)ts.tv_nsec ^ (uint32_t)ts.tv_sec ^ 0x9e3779b9u;
    for (; got < num_bytes; got++) {
      state = state * 1664525u + 1013904223u; /* LCG, only a fallback */
      buffer[got] = (uint8_t)(state >> 24);
    }
  }
  return kTvmErrorNoError;
}

tvm_crt_error_t TVMPlatformInitialize(void) {
#ifndef TVM_PLATFORM_POSIX_USE_MALLOC
  return EnsureMemoryManager();
#else
  return kTvmErrorNoError;
#endif
}
