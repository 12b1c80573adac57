/* Reference-counted arrays (a DLTensor first, so both pointers are the same address). */
#ifndef TVM_RUNTIME_CRT_NDARRAY_H_
#define TVM_RUNTIME_CRT_NDARRAY_H_

#include <stdint.h>
#include <tvm/runtime/c_runtime_api.h>
#include <tvm/runtime/crt/error_codes.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct TVMNDArray {
  DLTensor dl_tensor;
  uint32_t reference_count;
  uint32_t flags; /* TVM_NDARRAY_FLAG_*; fits in the struct's tail padding */
} TVMNDArray;

/* Data is borrowed (not freed when the last reference goes). */
#define TVM_NDARRAY_FLAG_VIEW 1u

/* Creates an array with its own shape copy and zero-filled data; reference count 1. */
int TVMNDArray_Create(int32_t ndim, const int64_t* shape, DLDataType dtype, DLDevice dev,
                      TVMNDArray** out);
/* Creates an array sharing `data` (not owned; not freed on release). */
int TVMNDArray_CreateView(int32_t ndim, const int64_t* shape, DLDataType dtype, DLDevice dev,
                          void* data, TVMNDArray** out);
/* Bytes of data: ceil(prod(shape) * bits * lanes / 8). */
int64_t TVMNDArray_DataSizeBytes(const DLTensor* t);
void TVMNDArray_IncrementReference(TVMNDArray* arr);
/* Decrements; frees shape, data (if owned) and the struct at zero. */
int TVMNDArray_Release(TVMNDArray* arr);

#ifdef __cplusplus
}
#endif
#endif /* TVM_RUNTIME_CRT_NDARRAY_H_ */
