/*
 * Page allocator: a pool split into fixed-size pages; blocks are runs of pages, first fit,
 * adjacent free runs merged. Not thread-safe. Use it to implement TVMPlatformMemoryAllocate.
 */
#ifndef TVM_RUNTIME_CRT_PAGE_ALLOCATOR_H_
#define TVM_RUNTIME_CRT_PAGE_ALLOCATOR_H_

#include <stddef.h>
#include <stdint.h>
#include <dlpack/dlpack.h>
#include <tvm/runtime/crt/error_codes.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct MemoryManagerInterface MemoryManagerInterface;

struct MemoryManagerInterface {
  tvm_crt_error_t (*Allocate)(MemoryManagerInterface* interface, size_t num_bytes, DLDevice dev,
                              void** out_ptr);
  tvm_crt_error_t (*Free)(MemoryManagerInterface* interface, void* ptr, DLDevice dev);
  int vleak_size; /* number of live allocations */
};

/* Places the manager inside memory_pool (its tables live at the pool's end) and returns it.
 * Pages are 1 << page_size_bytes_log2 bytes; page starts keep the pool's alignment. */
tvm_crt_error_t PageMemoryManagerCreate(MemoryManagerInterface** manager, uint8_t* memory_pool,
                                        size_t memory_pool_size_bytes,
                                        size_t page_size_bytes_log2);

/* Free bytes in the largest free run (diagnostics and tests). */
size_t PageMemoryManagerLargestFree(MemoryManagerInterface* manager);

#ifdef __cplusplus
}
#endif
#endif /* TVM_RUNTIME_CRT_PAGE_ALLOCATOR_H_ */
