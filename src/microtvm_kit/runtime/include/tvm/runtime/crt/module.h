/* Modules: a module is one function registry. The system library is a module. */
#ifndef TVM_RUNTIME_CRT_MODULE_H_
#define TVM_RUNTIME_CRT_MODULE_H_

#include <stdint.h>
#include <tvm/runtime/c_backend_api.h>
#include <tvm/runtime/crt/func_registry.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct TVMModule {
  const TVMFuncRegistry* registry;
} TVMModule;

/* Provided by generated code built with the system-lib runtime option. */
const TVMModule* TVMSystemLibEntryPoint(void);

/* Registers `mod` in the first free module slot; *out_handle = 0x8000 | slot. */
int TVMModCreateFromCModule(const TVMModule* mod, TVMModuleHandle* out_handle);

#ifdef __cplusplus
}
#endif
#endif /* TVM_RUNTIME_CRT_MODULE_H_ */
