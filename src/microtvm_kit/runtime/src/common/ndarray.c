/* Reference-counted arrays and the array entry points of the C runtime API. */
#include <string.h>
#include <tvm/runtime/c_runtime_api.h>
#include <tvm/runtime/crt/internal/config.h>
#include <tvm/runtime/crt/ndarray.h>
#include <tvm/runtime/crt/platform.h>

static const DLDevice kCPU = {kDLCPU, 0};

int64_t TVMNDArray_DataSizeBytes(const DLTensor* t) {
  int64_t n = 1;
  int32_t i;
  int64_t lanes = t->dtype.lanes ? t->dtype.lanes : 1;
  for (i = 0; i < t->ndim; i++) n *= t->shape[i];
  return (n * t->dtype.bits * lanes + 7) / 8;
}

/* Allocates the struct with a copy of the shape right behind it, in one allocation (a page of
 * the page allocator holds both); data left NULL. */
static int CreateShell(int32_t ndim, const int64_t* shape, DLDataType dtype, DLDevice dev,
                       TVMNDArray** out) {
  TVMNDArray* arr = NULL;
  int64_t* shape_copy = NULL;
  int32_t i;
  if (ndim < 0 || ndim > TVM_CRT_MAX_NDIM) {
    return TVMAPIErrorf("array rank %d outside 0..%d", (int)ndim, TVM_CRT_MAX_NDIM);
  }
  for (i = 0; i < ndim; i++) {
    if (shape[i] < 0) return TVMAPIErrorf("negative array dimension %ld", (long)shape[i]);
  }
  if (TVMPlatformMemoryAllocate(sizeof(TVMNDArray) + sizeof(int64_t) * (size_t)ndim, kCPU,
                                (void**)&arr) != kTvmErrorNoError) {
    return TVMAPIErrorf("out of memory allocating an array");
  }
  memset(arr, 0, sizeof(*arr));
  if (ndim > 0) {
    shape_copy = (int64_t*)(arr + 1); /* TVMNDArray holds 64-bit members: aligned for int64_t */
    memcpy(shape_copy, shape, sizeof(int64_t) * (size_t)ndim);
  }
  arr->dl_tensor.device = dev;
  arr->dl_tensor.ndim = ndim;
  arr->dl_tensor.dtype = dtype;
  arr->dl_tensor.shape = shape_copy;
  arr->dl_tensor.strides = NULL;
  arr->dl_tensor.byte_offset = 0;
  arr->reference_count = 1;
  *out = arr;
  return 0;
}

int TVMNDArray_Create(int32_t ndim, const int64_t* shape, DLDataType dtype, DLDevice dev,
                      TVMNDArray** out) {
  TVMNDArray* arr = NULL;
  int64_t nbytes;
  void* data = NULL;
  int err = CreateShell(ndim, shape, dtype, dev, &arr);
  if (err != 0) return err;
  nbytes = TVMNDArray_DataSizeBytes(&arr->dl_tensor);
  /* Allocate at least one byte so every array has a distinct data pointer. */
  if (TVMPlatformMemoryAllocate((size_t)(nbytes > 0 ? nbytes : 1), kCPU, &data) !=
      kTvmErrorNoError) {
    TVMPlatformMemoryFree(arr, kCPU);
    return TVMAPIErrorf("out of memory allocating %ld bytes of array data", (long)nbytes);
  }
  memset(data, 0, (size_t)nbytes);
  arr->dl_tensor.data = data;
  *out = arr;
  return 0;
}

int TVMNDArray_CreateView(int32_t ndim, const int64_t* shape, DLDataType dtype, DLDevice dev,
                          void* data, TVMNDArray** out) {
  TVMNDArray* arr = NULL;
  int err = CreateShell(ndim, shape, dtype, dev, &arr);
  if (err != 0) return err;
  arr->dl_tensor.data = data;
  arr->flags |= TVM_NDARRAY_FLAG_VIEW;
  *out = arr;
  return 0;
}

void TVMNDArray_IncrementReference(TVMNDArray* arr) { arr->reference_count++; }

int TVMNDArray_Release(TVMNDArray* arr) {
  if (arr->reference_count > 1) {
    arr->reference_count--;
    return 0;
  }
  arr->reference_count = 0;
  if (!(arr->flags & TVM_NDARRAY_FLAG_VIEW) && arr->dl_tensor.data) {
    TVMPlatformMemoryFree(arr->dl_tensor.data, kCPU);
  }
  TVMPlatformMemoryFree(arr, kCPU); /* the shape copy lives in the same allocation */
  return 0;
}

int TVMArrayAlloc(const tvm_index_t* shape, int ndim, int dtype_code, int dtype_bits,
                  int dtype_lanes, int device_type, int device_id, TVMArrayHandle* out) {
  DLDataType dtype;
  DLDevice dev;
  TVMNDArray* arr = NULL;
  int err;
  dtype.code = (uint8_t)dtype_code;
  dtype.bits = (uint8_t)dtype_bits;
  dtype.lanes = (uint16_t)dtype_lanes;
  dev.device_type = (DLDeviceType)device_type;
  dev.device_id = device_id;
  err = TVMNDArray_Create(ndim, shape, dtype, dev, &arr);
  if (err != 0) return err;
  *out = &arr->dl_tensor;
  return 0;
}

int TVMArrayFree(TVMArrayHandle handle) {
  if (handle == NULL) return TVMAPIErrorf("TVMArrayFree: NULL array");
  return TVMNDArray_Release((TVMNDArray*)handle);
}

int TVMByteArrayFree(TVMByteArray* arr) {
  if (arr == NULL) return 0;
  if (arr->data) TVMPlatformMemoryFree((void*)arr->data, kCPU);
  TVMPlatformMemoryFree(arr, kCPU);
  return 0;
}
