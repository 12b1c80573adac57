/* Device memory entry points of the C runtime API (CPU only) and the no-op stream calls. */
#include <string.h>
#include <tvm/runtime/c_runtime_api.h>
#include <tvm/runtime/crt/ndarray.h>
#include <tvm/runtime/crt/platform.h>

int TVMDeviceAllocDataSpace(DLDevice dev, size_t nbytes, size_t alignment,
                            DLDataType type_hint, void** out_data) {
  tvm_crt_error_t err;
  void* ptr = NULL;
  (void)type_hint;
  if (alignment > 1 && nbytes % alignment != 0) {
    nbytes += alignment - (nbytes % alignment);
  }
  if (nbytes == 0) nbytes = 1; /* distinct pointers for empty arrays */
  err = TVMPlatformMemoryAllocate(nbytes, dev, &ptr);
  if (err != kTvmErrorNoError) {
    return TVMAPIErrorf("cannot allocate %lu bytes on the device (error 0x%x)",
                        (unsigned long)nbytes, (unsigned)err);
  }
  *out_data = ptr;
  return 0;
}

int TVMDeviceAllocDataSpaceWithScope(DLDevice dev, int ndim, const int64_t* shape,
                                     DLDataType dtype, const char* mem_scope,
                                     void** out_data) {
  int64_t n = 1;
  int i;
  size_t elem = ((size_t)dtype.bits * (dtype.lanes ? dtype.lanes : 1) + 7) / 8;
  size_t align = elem > 64 ? elem : 64;
  (void)mem_scope;
  for (i = 0; i < ndim; i++) {
    if (shape[i] < 0) return TVMAPIErrorf("negative dimension %ld", (long)shape[i]);
    n *= shape[i];
  }
  return TVMDeviceAllocDataSpace(dev, (size_t)n * elem, align, dtype, out_data);
}

int TVMDeviceFreeDataSpace(DLDevice dev, void* ptr) {
  tvm_crt_error_t err = TVMPlatformMemoryFree(ptr, dev);
  if (err != kTvmErrorNoError) {
    return TVMAPIErrorf("cannot free device memory %p (error 0x%x)", ptr, (unsigned)err);
  }
  return 0;
}

int TVMDeviceCopyDataFromTo(DLTensor* from, DLTensor* to, TVMStreamHandle stream) {
  int64_t from_size = TVMNDArray_DataSizeBytes(from);
  int64_t to_size = TVMNDArray_DataSizeBytes(to);
  (void)stream;
  if (from_size != to_size) {
    return TVMAPIErrorf("copy between arrays of different sizes (%ld vs %ld bytes)",
                        (long)from_size, (long)to_size);
  }
  memmove((char*)to->data + to->byte_offset, (const char*)from->data + from->byte_offset,
          (size_t)from_size);
  return 0;
}

int TVMStreamCreate(int device_type, int device_id, TVMStreamHandle* out) {
  (void)device_type;
  (void)device_id;
  *out = NULL; /* the CPU has only the default stream */
  return 0;
}

int TVMStreamFree(int device_type, int device_id, TVMStreamHandle stream) {
  (void)device_type;
  (void)device_id;
  (void)stream;
  return 0;
}

int TVMSetStream(int device_type, int device_id, TVMStreamHandle handle) {
  (void)device_type;
  (void)device_id;
  (void)handle;
  return 0;
}

int TVMSynchronize(int device_type, int device_id, TVMStreamHandle stream) {
  (void)device_type;
  (void)device_id;
  (void)stream;
  return 0;
}
