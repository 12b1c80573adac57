/* What the RPC modules of the AOT and graph executors share (src/common/executor_module.c): one
 * executor at a time behind a module, freed with the module, and the module functions that only
 * need the executor's inputs and outputs. Runtime-internal. */
#ifndef TVM_RUNTIME_CRT_INTERNAL_EXECUTOR_MODULE_H_
#define TVM_RUNTIME_CRT_INTERNAL_EXECUTOR_MODULE_H_

#include <tvm/runtime/c_backend_api.h>
#include <tvm/runtime/crt/func_registry.h>
#include <tvm/runtime/crt/module.h>
#include <tvm/runtime/crt/ndarray.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The executor calls the shared functions make; `ex` is the executor of the live module. */
typedef struct {
  const char* name;  /* "AOT executor": "the AOT executor module was freed" */
  const char* owner; /* "model": "(model has 2 inputs)" */
  int (*num_inputs)(const void* ex);
  int (*num_outputs)(const void* ex);
  int (*input_index)(const void* ex, const char* name); /* -1 when unknown */
  const char* (*input_name)(const void* ex, int index);
  TVMNDArray* (*input)(void* ex, int index);
  TVMNDArray* (*output)(void* ex, int index); /* NULL when out of range */
  int (*set_input)(void* ex, int index, const DLTensor* tensor);
  int (*run)(void* ex);
  void (*release)(void* ex);
} TVMExecutorOps;

/* Defines `ops`, the TVMExecutorOps of executor type `Type` whose calls are `Type##_GetNumInputs`,
 * `_GetNumOutputs`, `_GetInputIndex`, `_GetInputName`, `_GetInput`, `_GetOutput`, `_SetInput`,
 * `_Run` and `_Release` (the AOT and graph executors share these names and signatures). */
#define TVM_CRT_DEFINE_EXECUTOR_OPS(ops, name, owner, Type)                                    \
  static int ops##NumInputs(const void* ex) { return Type##_GetNumInputs((const Type*)ex); }   \
  static int ops##NumOutputs(const void* ex) { return Type##_GetNumOutputs((const Type*)ex); } \
  static int ops##InputIndex(const void* ex, const char* input) {                              \
    return Type##_GetInputIndex((const Type*)ex, input);                                       \
  }                                                                                            \
  static const char* ops##InputName(const void* ex, int index) {                               \
    return Type##_GetInputName((const Type*)ex, index);                                        \
  }                                                                                            \
  static TVMNDArray* ops##Input(void* ex, int index) {                                         \
    return Type##_GetInput((Type*)ex, index);                                                  \
  }                                                                                            \
  static TVMNDArray* ops##Output(void* ex, int index) {                                        \
    return Type##_GetOutput((Type*)ex, index);                                                 \
  }                                                                                            \
  static int ops##SetInput(void* ex, int index, const DLTensor* tensor) {                      \
    return Type##_SetInput((Type*)ex, index, tensor);                                          \
  }                                                                                            \
  static int ops##Run(void* ex) { return Type##_Run((Type*)ex); }                              \
  static void ops##Release(void* ex) { Type##_Release((Type*)ex); }                            \
  static const TVMExecutorOps ops = {name,           owner,           ops##NumInputs,          \
                                     ops##NumOutputs, ops##InputIndex, ops##InputName,         \
                                     ops##Input,      ops##Output,     ops##SetInput,          \
                                     ops##Run,        ops##Release}

/* One executor module. The registry comes first: module functions receive their registry as
 * resource handle (TVMFuncCall), which is therefore this struct. */
typedef struct {
  TVMFuncRegistry registry;
  TVMModule module; /* {&registry} */
  const TVMExecutorOps* ops;
  void* executor; /* NULL while no module is live */
} TVMExecutorModule;

/* Module functions shared by both executors (TVMBackendPackedCFunc; `res` is the module). */
int TVMExecutorModule_GetInput(TVMValue* args, int* codes, int num_args, TVMValue* ret,
                               int* ret_code, void* res);
int TVMExecutorModule_GetInputIndex(TVMValue* args, int* codes, int num_args, TVMValue* ret,
                                    int* ret_code, void* res);
int TVMExecutorModule_GetInputInfo(TVMValue* args, int* codes, int num_args, TVMValue* ret,
                                   int* ret_code, void* res);
int TVMExecutorModule_GetNumInputs(TVMValue* args, int* codes, int num_args, TVMValue* ret,
                                   int* ret_code, void* res);
int TVMExecutorModule_GetNumOutputs(TVMValue* args, int* codes, int num_args, TVMValue* ret,
                                    int* ret_code, void* res);
int TVMExecutorModule_GetOutput(TVMValue* args, int* codes, int num_args, TVMValue* ret,
                                int* ret_code, void* res);
int TVMExecutorModule_SetInput(TVMValue* args, int* codes, int num_args, TVMValue* ret,
                               int* ret_code, void* res);
int TVMExecutorModule_Run(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                          void* res);
int TVMExecutorModule_ShareParams(TVMValue* args, int* codes, int num_args, TVMValue* ret,
                                  int* ret_code, void* res);

/* The live executor of `res`, or NULL after setting the "module was freed" error. */
void* TVMExecutorModule_Executor(void* res);

/* Checks done before creating an executor: none is live yet, and `num_args` is `expected`.
 * `fn` is the create function's name, for messages. */
int TVMExecutorModule_CheckCreate(const TVMExecutorModule* m, const char* fn, int num_args,
                                  int expected);

/* Registers the module around a newly created executor and returns its handle; on failure the
 * executor is released. */
int TVMExecutorModule_Publish(TVMExecutorModule* m, void* executor, TVMValue* ret, int* ret_code);

#ifdef __cplusplus
}
#endif
#endif /* TVM_RUNTIME_CRT_INTERNAL_EXECUTOR_MODULE_H_ */
