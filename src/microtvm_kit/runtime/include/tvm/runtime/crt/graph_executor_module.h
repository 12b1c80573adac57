/* RPC-visible graph executor module (tvm.graph_executor.create). */
#ifndef TVM_RUNTIME_CRT_GRAPH_EXECUTOR_MODULE_H_
#define TVM_RUNTIME_CRT_GRAPH_EXECUTOR_MODULE_H_

#include <tvm/runtime/crt/error_codes.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Registers the global `tvm.graph_executor.create`. */
tvm_crt_error_t TVMGraphExecutorModule_Register(void);

#ifdef __cplusplus
}
#endif
#endif /* TVM_RUNTIME_CRT_GRAPH_EXECUTOR_MODULE_H_ */
