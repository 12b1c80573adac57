/*
 * Functions the firmware (board port) provides to the runtime. src/platform/posix implements
 * them for POSIX hosts; a bare-metal port writes its own.
 */
#ifndef TVM_RUNTIME_CRT_PLATFORM_H_
#define TVM_RUNTIME_CRT_PLATFORM_H_

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dlpack/dlpack.h>
#include <tvm/runtime/crt/error_codes.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Never returns: reset or hang. */
void TVMPlatformAbort(tvm_crt_error_t code)
#if defined(__GNUC__)
    __attribute__((noreturn))
#endif
    ;

/* vsnprintf-like; returns the number of bytes actually stored (< out_size), never more. */
size_t TVMPlatformFormatMessage(char* out_buf, size_t out_buf_size_bytes, const char* fmt,
                                va_list args);

/* Allocates num_bytes; on failure returns an error and leaves *out_ptr untouched. */
tvm_crt_error_t TVMPlatformMemoryAllocate(size_t num_bytes, DLDevice dev, void** out_ptr);
tvm_crt_error_t TVMPlatformMemoryFree(void* ptr, DLDevice dev);

/* A single device timer; Stop stores the elapsed time in seconds. */
tvm_crt_error_t TVMPlatformTimerStart(void);
tvm_crt_error_t TVMPlatformTimerStop(double* elapsed_time_seconds);

/* Hooks around each timed batch of the time evaluator. */
tvm_crt_error_t TVMPlatformBeforeMeasurement(void);
tvm_crt_error_t TVMPlatformAfterMeasurement(void);

/* Fills buffer with random bytes (session nonce, random_fill). */
tvm_crt_error_t TVMPlatformGenerateRandom(uint8_t* buffer, size_t num_bytes);

/* Board/memory setup; called by firmware main, never by the runtime. */
tvm_crt_error_t TVMPlatformInitialize(void);

#ifdef __cplusplus
}
#endif
#endif /* TVM_RUNTIME_CRT_PLATFORM_H_ */
