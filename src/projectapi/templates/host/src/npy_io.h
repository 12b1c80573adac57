/* Reading and writing tensors as raw bytes or .npy files for the standalone program. */
#ifndef PROJECTAPI_NPY_IO_H_
#define PROJECTAPI_NPY_IO_H_

#include "model_glue.h"

/* Reads `path` (raw bytes, or .npy of the tensor's dtype) into data; on failure prints a
 * message naming the file and returns non-zero. */
int projectapi_read_tensor(const char* path, const projectapi_tensor_desc_t* desc, void* data);

/* Writes data to `path`: a .npy file if the name ends in ".npy", else raw bytes. */
int projectapi_write_tensor(const char* path, const projectapi_tensor_desc_t* desc,
                            const void* data);

#endif /* PROJECTAPI_NPY_IO_H_ */
