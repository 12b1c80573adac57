/* RPC-visible AOT executor module (tvm.aot_executor.create). */
#ifndef TVM_RUNTIME_CRT_AOT_EXECUTOR_MODULE_H_
#define TVM_RUNTIME_CRT_AOT_EXECUTOR_MODULE_H_

#include <tvm/runtime/crt/error_codes.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Registers the global `tvm.aot_executor.create`. */
tvm_crt_error_t TVMAotExecutorModule_Register(void);

#ifdef __cplusplus
}
#endif
#endif /* TVM_RUNTIME_CRT_AOT_EXECUTOR_MODULE_H_ */
