/* Bounded JSON reader used by the graph executor (see json_reader.h). */
#include "json_reader.h"

/* Nesting limit of skipped values: graph files nest 4 deep. */
#define JSON_MAX_DEPTH 16

void TVMJson_Init(TVMJsonReader* r, const char* text, size_t len) {
  r->begin = text;
  r->p = text;
  r->end = text + len;
  r->failed = 0;
}

static void SkipWs(TVMJsonReader* r) {
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t')) r->p++;
}

static int Fail(TVMJsonReader* r) {
  r->failed = 1;
  return -1;
}

int TVMJson_Peek(TVMJsonReader* r, char c) {
  SkipWs(r);
  return !r->failed && r->p < r->end && *r->p == c;
}

int TVMJson_Expect(TVMJsonReader* r, char c) {
  if (!TVMJson_Peek(r, c)) return Fail(r);
  r->p++;
  return 0;
}

int TVMJson_String(TVMJsonReader* r, char* out, size_t cap) {
  size_t n = 0;
  if (TVMJson_Expect(r, '"')) return -1;
  while (r->p < r->end && *r->p != '"') {
    char c = *r->p++;
    if (c == '\\') {
      if (r->p >= r->end) return Fail(r);
      c = *r->p++;
      switch (c) {
        case 'n': c = '\n'; break;
        case 't': c = '\t'; break;
        case 'r': c = '\r'; break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'u': /* graph names are ASCII; keep the escape text */
          if (out && n + 1 < cap) out[n] = '?';
          n++;
          if (r->end - r->p < 4) return Fail(r);
          r->p += 4;
          continue;
        default: break; /* \" \\ \/ */
      }
    }
    if (out) {
      if (n + 1 >= cap) return Fail(r); /* too long: an error, never a silent cut */
      out[n] = c;
    }
    n++;
  }
  if (r->p >= r->end) return Fail(r);
  r->p++;
  if (out) out[n] = '\0';
  return 0;
}

int TVMJson_Int(TVMJsonReader* r, int64_t* out) {
  int neg = 0;
  int64_t v = 0;
  int digits = 0;
  SkipWs(r);
  if (r->p < r->end && *r->p == '-') {
    neg = 1;
    r->p++;
  }
  while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
    if (v > (INT64_MAX - 9) / 10) return Fail(r);
    v = v * 10 + (*r->p++ - '0');
    digits++;
  }
  if (!digits) return Fail(r);
  *out = neg ? -v : v;
  return 0;
}

static int SkipDepth(TVMJsonReader* r, int depth) {
  int first;
  if (depth > JSON_MAX_DEPTH) return Fail(r);
  SkipWs(r);
  if (r->p >= r->end) return Fail(r);
  switch (*r->p) {
    case '"':
      return TVMJson_String(r, NULL, 0);
    case '[':
      r->p++;
      first = 1;
      while (!TVMJson_Peek(r, ']')) {
        if (!first && TVMJson_Expect(r, ',')) return -1;
        if (SkipDepth(r, depth + 1)) return -1;
        first = 0;
      }
      r->p++;
      return 0;
    case '{':
      r->p++;
      first = 1;
      while (!TVMJson_Peek(r, '}')) {
        if (!first && TVMJson_Expect(r, ',')) return -1;
        if (TVMJson_String(r, NULL, 0) || TVMJson_Expect(r, ':') || SkipDepth(r, depth + 1)) return -1;
        first = 0;
      }
      r->p++;
      return 0;
    default:
      /* number, true, false, null */
      if (r->failed) return -1;
      {
        const char* start = r->p;
        while (r->p < r->end && *r->p != ',' && *r->p != ']' && *r->p != '}' && *r->p != ' ' &&
               *r->p != '\n' && *r->p != '\r' && *r->p != '\t') {
          r->p++;
        }
        if (r->p == start) return Fail(r);
      }
      return 0;
  }
}

int TVMJson_Skip(TVMJsonReader* r) { return SkipDepth(r, 0); }

int TVMJson_ArrayBegin(TVMJsonReader* r) { return TVMJson_Expect(r, '['); }

int TVMJson_ArrayNext(TVMJsonReader* r, int* first) {
  if (r->failed) return 0;
  if (TVMJson_Peek(r, ']')) {
    r->p++;
    return 0;
  }
  if (!*first && TVMJson_Expect(r, ',')) return 0;
  *first = 0;
  return !r->failed;
}

int TVMJson_ObjectBegin(TVMJsonReader* r) { return TVMJson_Expect(r, '{'); }

int TVMJson_ObjectNext(TVMJsonReader* r, int* first, char* key, size_t cap) {
  if (r->failed) return 0;
  if (TVMJson_Peek(r, '}')) {
    r->p++;
    return 0;
  }
  if (!*first && TVMJson_Expect(r, ',')) return 0;
  *first = 0;
  if (TVMJson_String(r, key, cap) || TVMJson_Expect(r, ':')) return 0;
  return 1;
}

long TVMJson_CountArray(const TVMJsonReader* r) {
  TVMJsonReader copy = *r;
  int first = 1;
  long n = 0;
  if (TVMJson_ArrayBegin(&copy)) return -1;
  while (TVMJson_ArrayNext(&copy, &first)) {
    if (TVMJson_Skip(&copy)) return -1;
    n++;
  }
  return copy.failed ? -1 : n;
}
