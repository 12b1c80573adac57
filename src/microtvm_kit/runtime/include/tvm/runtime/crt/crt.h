/* Runtime initialisation: the global registry and the built-in global functions. */
#ifndef TVM_RUNTIME_CRT_CRT_H_
#define TVM_RUNTIME_CRT_CRT_H_

#include <tvm/runtime/c_backend_api.h>
#include <tvm/runtime/crt/error_codes.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Idempotent: a second call does nothing and returns 0. */
tvm_crt_error_t TVMInitializeRuntime(void);

/* Adds a global function (fails with kTvmErrorFunctionAlreadyDefined unless override). */
tvm_crt_error_t TVMFuncRegisterGlobal(const char* name, TVMBackendPackedCFunc func,
                                      int override);

#ifdef __cplusplus
}
#endif
#endif /* TVM_RUNTIME_CRT_CRT_H_ */
