/*
 * TVMMetadata: description of an AOT model emitted by the generator (packed interface).
 * Field order and types fix the layout (80 / 32 / 32 bytes on LP64).
 */
#ifndef TVM_RUNTIME_METADATA_TYPES_H_
#define TVM_RUNTIME_METADATA_TYPES_H_

#include <dlpack/dlpack.h>
#include <inttypes.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct TVMTensorInfo {
  const char* name;
  const int64_t* shape;
  int64_t num_shape; /* rank */
  DLDataType dtype;
};

struct TVMConstantInfo {
  const char* name_hint;
  int64_t byte_offset;     /* offset inside the constant pool */
  int64_t data_len;        /* length of data_bytes (NDArray serialisation) */
  const void* data_bytes;  /* NDArray save format */
};

struct TVMMetadata {
  int64_t version;
  const struct TVMTensorInfo* inputs;
  int64_t num_inputs;
  const struct TVMTensorInfo* outputs;
  int64_t num_outputs;
  const struct TVMTensorInfo* workspace_pools;
  int64_t num_workspace_pools;
  const struct TVMConstantInfo* constant_pools;
  int64_t num_constant_pools;
  const char* mod_name;
};

#ifdef __cplusplus
}
#endif
#endif /* TVM_RUNTIME_METADATA_TYPES_H_ */
