/*
 * Runtime configuration: the project's crt_config.h (found through the include path given by
 * CRT_CONFIG_PATH) plus defaults for every macro it leaves out. Only runtime sources include it.
 */
#ifndef TVM_RUNTIME_CRT_INTERNAL_CONFIG_H_
#define TVM_RUNTIME_CRT_INTERNAL_CONFIG_H_

#include "crt_config.h"

/* Receive buffer for one session message; the host is told this minus 11. */
#ifndef TVM_CRT_MAX_PACKET_SIZE_BYTES
#define TVM_CRT_MAX_PACKET_SIZE_BYTES 2048
#endif
/* Tensors per AOT run call and per graph operator call (argument-array capacity). */
#ifndef TVM_CRT_MAX_ARGS
#define TVM_CRT_MAX_ARGS 10
#endif
#ifndef TVM_CRT_MAX_NDIM
#define TVM_CRT_MAX_NDIM 6
#endif
#ifndef TVM_CRT_GLOBAL_FUNC_REGISTRY_SIZE_BYTES
#define TVM_CRT_GLOBAL_FUNC_REGISTRY_SIZE_BYTES 512
#endif
/* Module slots: system library plus executors. */
#ifndef TVM_CRT_MAX_REGISTERED_MODULES
#define TVM_CRT_MAX_REGISTERED_MODULES 2
#endif
#ifndef TVM_CRT_MAX_STRLEN_DLTYPE
#define TVM_CRT_MAX_STRLEN_DLTYPE 10
#endif
#ifndef TVM_CRT_MAX_STRLEN_FUNCTION_NAME
#define TVM_CRT_MAX_STRLEN_FUNCTION_NAME 120
#endif
#ifndef TVM_CRT_MAX_STRLEN_PARAM_NAME
#define TVM_CRT_MAX_STRLEN_PARAM_NAME 80
#endif

#if TVM_CRT_MAX_ARGS < 4
#error "TVM_CRT_MAX_ARGS must be at least 4"
#endif
#if TVM_CRT_MAX_PACKET_SIZE_BYTES < 128
#error "TVM_CRT_MAX_PACKET_SIZE_BYTES must be at least 128"
#endif
#if TVM_CRT_MAX_REGISTERED_MODULES < 1 || TVM_CRT_MAX_REGISTERED_MODULES > 0x7ffe
#error "TVM_CRT_MAX_REGISTERED_MODULES out of range"
#endif

#endif /* TVM_RUNTIME_CRT_INTERNAL_CONFIG_H_ */
