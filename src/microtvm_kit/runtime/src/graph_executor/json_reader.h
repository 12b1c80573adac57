/* A small bounded JSON reader for graph files: no allocation, explicit errors, depth-limited. */
#ifndef TVM_RUNTIME_CRT_GRAPH_EXECUTOR_JSON_READER_H_
#define TVM_RUNTIME_CRT_GRAPH_EXECUTOR_JSON_READER_H_

#include <stddef.h>
#include <stdint.h>

typedef struct {
  const char* begin;
  const char* p;
  const char* end;
  int failed;
} TVMJsonReader;

void TVMJson_Init(TVMJsonReader* r, const char* text, size_t len);
/* Consumes `c` after whitespace; 0 on success. */
int TVMJson_Expect(TVMJsonReader* r, char c);
/* 1 if the next non-space character is `c` (not consumed). */
int TVMJson_Peek(TVMJsonReader* r, char c);
/* Reads a string into out (cap bytes incl. terminator; NULL to skip), \u escapes as UTF-8.
 * A longer string, a bad escape, a control byte or NUL is an error. */
int TVMJson_String(TVMJsonReader* r, char* out, size_t cap);
int TVMJson_Int(TVMJsonReader* r, int64_t* out);
/* Skips any value (nesting limited). */
int TVMJson_Skip(TVMJsonReader* r);
/* Array iteration: call TVMJson_ArrayBegin, then while (TVMJson_ArrayNext(r, &first)) read element. */
int TVMJson_ArrayBegin(TVMJsonReader* r);
int TVMJson_ArrayNext(TVMJsonReader* r, int* first);
/* Object iteration: key into `key` (cap bytes); returns 1 while there is a member. */
int TVMJson_ObjectBegin(TVMJsonReader* r);
int TVMJson_ObjectNext(TVMJsonReader* r, int* first, char* key, size_t cap);
/* Number of elements of the array starting at the cursor (cursor unchanged); -1 on error. */
long TVMJson_CountArray(const TVMJsonReader* r);

#endif /* TVM_RUNTIME_CRT_GRAPH_EXECUTOR_JSON_READER_H_ */
