/*
 * Error codes of the device runtime: value = (category << 8) | code. These numbers stay on the
 * device; a failing RPC call reaches the host as an Exception carrying TVMGetLastError() text.
 */
#ifndef TVM_RUNTIME_CRT_ERROR_CODES_H_
#define TVM_RUNTIME_CRT_ERROR_CODES_H_

#ifdef __cplusplus
extern "C" {
#endif

#define DEFINE_TVM_CRT_ERROR(category, code) (((category) << 8) | (code))

typedef enum {
  kTvmErrorCategoryFunctionRegistry = 1,
  kTvmErrorCategoryFraming = 2,
  kTvmErrorCategoryWriteStream = 3,
  kTvmErrorCategorySession = 4,
  kTvmErrorCategoryPlatform = 5,
  kTvmErrorCategoryGenerated = 6,
  kTvmErrorCategoryExecutor = 7,
  kTvmErrorCategoryFunctionCall = 8,
  kTvmErrorCategoryTimeEvaluator = 9,
} tvm_crt_error_category_t;

typedef enum {
  kTvmErrorNoError = 0,

  kTvmErrorFunctionNameNotFound = DEFINE_TVM_CRT_ERROR(1, 0),
  kTvmErrorFunctionIndexInvalid = DEFINE_TVM_CRT_ERROR(1, 1),
  kTvmErrorFunctionRegistryFull = DEFINE_TVM_CRT_ERROR(1, 2),
  kTvmErrorFunctionAlreadyDefined = DEFINE_TVM_CRT_ERROR(1, 3),
  kTvmErrorBufferTooSmall = DEFINE_TVM_CRT_ERROR(1, 4),

  kTvmErrorFramingInvalidState = DEFINE_TVM_CRT_ERROR(2, 0),
  kTvmErrorFramingShortPacket = DEFINE_TVM_CRT_ERROR(2, 1),
  kTvmErrorFramingInvalidEscape = DEFINE_TVM_CRT_ERROR(2, 2),
  kTvmErrorFramingPayloadOverflow = DEFINE_TVM_CRT_ERROR(2, 3),
  kTvmErrorFramingPayloadIncomplete = DEFINE_TVM_CRT_ERROR(2, 4),

  kTvmErrorWriteStreamShortWrite = DEFINE_TVM_CRT_ERROR(3, 0),
  kTvmErrorWriteStreamLongWrite = DEFINE_TVM_CRT_ERROR(3, 1),

  kTvmErrorSessionInvalidState = DEFINE_TVM_CRT_ERROR(4, 0),
  kTvmErrorSessionReceiveBufferBusy = DEFINE_TVM_CRT_ERROR(4, 1),
  kTvmErrorSessionReceiveBufferShortWrite = DEFINE_TVM_CRT_ERROR(4, 2),

  kTvmErrorPlatformCheckFailure = DEFINE_TVM_CRT_ERROR(5, 0),
  kTvmErrorPlatformMemoryManagerInitialized = DEFINE_TVM_CRT_ERROR(5, 1),
  kTvmErrorPlatformShutdown = DEFINE_TVM_CRT_ERROR(5, 2),
  kTvmErrorPlatformNoMemory = DEFINE_TVM_CRT_ERROR(5, 3),
  kTvmErrorPlatformTimerBadState = DEFINE_TVM_CRT_ERROR(5, 4),
  kTvmErrorPlatformStackAllocBadFree = DEFINE_TVM_CRT_ERROR(5, 5),

  kTvmErrorGeneratedInvalidStorageId = DEFINE_TVM_CRT_ERROR(6, 0),

  kTvmErrorExecutorModuleAlreadyCreated = DEFINE_TVM_CRT_ERROR(7, 0),
  kTvmErrorExecutorModuleBadContext = DEFINE_TVM_CRT_ERROR(7, 1),
  kTvmErrorExecutorModuleNoSuchInput = DEFINE_TVM_CRT_ERROR(7, 2),

  kTvmErrorFunctionCallNumArguments = DEFINE_TVM_CRT_ERROR(8, 0),
  kTvmErrorFunctionCallWrongArgType = DEFINE_TVM_CRT_ERROR(8, 1),
  kTvmErrorFunctionCallNotImplemented = DEFINE_TVM_CRT_ERROR(8, 2),
  kTvmErrorFunctionCallInvalidArg = DEFINE_TVM_CRT_ERROR(8, 3),

  kTvmErrorTimeEvaluatorBadHandle = DEFINE_TVM_CRT_ERROR(9, 0),

  /* Platform-specific ("system") errors have this bit set. */
  kTvmErrorSystemErrorMask = (int)0x80000000,
} tvm_crt_error_t;

#ifdef __cplusplus
}
#endif
#endif /* TVM_RUNTIME_CRT_ERROR_CODES_H_ */
