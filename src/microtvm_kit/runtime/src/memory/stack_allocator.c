/*
 * Stack (LIFO) allocator over a caller-owned buffer. Unlike TVM's, Free checks that the pointer
 * lies inside the used region, so a stray free cannot move the stack past its end.
 */
#include <tvm/runtime/crt/stack_allocator.h>

#define ALIGN_MASK ((uintptr_t)TVM_RUNTIME_ALLOC_ALIGNMENT_BYTES - 1)

tvm_crt_error_t StackMemoryManager_Init(tvm_workspace_t* tvm_runtime_workspace,
                                        uint8_t* g_aot_memory, size_t workspace_size) {
  uintptr_t start = (uintptr_t)g_aot_memory;
  uintptr_t aligned = (start + ALIGN_MASK) & ~ALIGN_MASK;
  size_t skip = (size_t)(aligned - start);
  tvm_runtime_workspace->workspace = (uint8_t*)aligned;
  tvm_runtime_workspace->next_alloc = (uint8_t*)aligned;
  tvm_runtime_workspace->workspace_size = workspace_size > skip ? workspace_size - skip : 0;
  return kTvmErrorNoError;
}

tvm_crt_error_t StackMemoryManager_Allocate(tvm_workspace_t* tvm_runtime_workspace,
                                            int32_t nbytes, void** current_alloc) {
  uint8_t* end = tvm_runtime_workspace->workspace + tvm_runtime_workspace->workspace_size;
  size_t rounded;
  if (nbytes < 0) return kTvmErrorFunctionCallInvalidArg;
  rounded = ((size_t)nbytes + ALIGN_MASK) & ~(size_t)ALIGN_MASK;
  if (rounded > (size_t)(end - tvm_runtime_workspace->next_alloc)) {
    return kTvmErrorPlatformNoMemory;
  }
  *current_alloc = tvm_runtime_workspace->next_alloc;
  tvm_runtime_workspace->next_alloc += rounded;
  return kTvmErrorNoError;
}

tvm_crt_error_t StackMemoryManager_Free(tvm_workspace_t* tvm_runtime_workspace, void* ptr) {
  uint8_t* p = (uint8_t*)ptr;
  if (p < tvm_runtime_workspace->workspace || p > tvm_runtime_workspace->next_alloc) {
    return kTvmErrorPlatformStackAllocBadFree;
  }
  tvm_runtime_workspace->next_alloc = p;
  return kTvmErrorNoError;
}
