/* Log output (TVMLogf, sent to the host by the RPC server) and check macros. */
#ifndef TVM_RUNTIME_CRT_LOGGING_H_
#define TVM_RUNTIME_CRT_LOGGING_H_

#include <tvm/runtime/crt/error_codes.h>
#include <tvm/runtime/crt/platform.h>

#define TVM_CRT_LOG_LEVEL_ERROR 0
#define TVM_CRT_LOG_LEVEL_WARN 1
#define TVM_CRT_LOG_LEVEL_INFO 2
#define TVM_CRT_LOG_LEVEL_DEBUG 3

#ifndef TVM_CRT_LOG_LEVEL
#define TVM_CRT_LOG_LEVEL TVM_CRT_LOG_LEVEL_ERROR
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Formats (at most 255 bytes) and sends a log message. Defined by the RPC server library; a
 * firmware without it must define TVMLogf itself. */
void TVMLogf(const char* fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

#ifdef __cplusplus
}
#endif

#define TVM_CRT_LOG_AT(level, ...)        \
  do {                                    \
    if ((level) <= TVM_CRT_LOG_LEVEL) {   \
      TVMLogf(__VA_ARGS__);               \
    }                                     \
  } while (0)

#define LOG_ERROR(...) TVM_CRT_LOG_AT(TVM_CRT_LOG_LEVEL_ERROR, __VA_ARGS__)
#define LOG_WARN(...) TVM_CRT_LOG_AT(TVM_CRT_LOG_LEVEL_WARN, __VA_ARGS__)
#define LOG_INFO(...) TVM_CRT_LOG_AT(TVM_CRT_LOG_LEVEL_INFO, __VA_ARGS__)
#define LOG_DEBUG(...) TVM_CRT_LOG_AT(TVM_CRT_LOG_LEVEL_DEBUG, __VA_ARGS__)

/* Internal invariant: logs and aborts the device when false. */
#define CHECK(x)                                                  \
  do {                                                            \
    if (!(x)) {                                                   \
      TVMLogf("%s:%d: Check failed: %s", __FILE__, __LINE__, #x); \
      TVMPlatformAbort(kTvmErrorPlatformCheckFailure);            \
    }                                                             \
  } while (0)

#endif /* TVM_RUNTIME_CRT_LOGGING_H_ */
