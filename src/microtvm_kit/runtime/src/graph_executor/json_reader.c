/* Bounded JSON reader used by the graph executor (see json_reader.h). */
#include "json_reader.h"

#include <string.h>

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

/* Value of the 4 hex digits at the cursor, or -1. */
static long Hex4(TVMJsonReader* r) {
  long v = 0;
  int i;
  if (r->end - r->p < 4) return -1;
  for (i = 0; i < 4; i++) {
    char c = *r->p++;
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/* Code point of a \u escape (cursor just after "\u"), joining a surrogate pair; -1 if invalid. */
static long UnicodeEscape(TVMJsonReader* r) {
  long high = Hex4(r), low;
  if (high < 0xD800 || high > 0xDFFF) return high;
  if (high > 0xDBFF || r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u') return -1;
  r->p += 2;
  low = Hex4(r);
  if (low < 0xDC00 || low > 0xDFFF) return -1;
  return 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
}

/* Writes code point cp (at most 0x10FFFF) as UTF-8 into buf[4]; returns the byte count. */
static size_t EncodeUtf8(long cp, char* buf) {
  size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  size_t i;
  static const unsigned char kLead[5] = {0, 0x00, 0xC0, 0xE0, 0xF0};
  for (i = n - 1; i > 0; i--) {
    buf[i] = (char)(0x80 | (cp & 0x3F));
    cp >>= 6;
  }
  buf[0] = (char)(kLead[n] | cp);
  return n;
}

/* Decodes the string character at the cursor (a raw byte or an escape) into buf[4]; returns
 * its byte count, 0 when it is invalid JSON or NUL (which would cut the C string). */
static size_t StringChar(TVMJsonReader* r, char* buf) {
  char c = *r->p++;
  long cp;
  if ((unsigned char)c < 0x20) return 0;
  if (c != '\\') {
    buf[0] = c;
    return 1;
  }
  if (r->p >= r->end) return 0;
  c = *r->p++;
  switch (c) {
    case '"': case '\\': case '/': buf[0] = c; return 1;
    case 'n': buf[0] = '\n'; return 1;
    case 't': buf[0] = '\t'; return 1;
    case 'r': buf[0] = '\r'; return 1;
    case 'b': buf[0] = '\b'; return 1;
    case 'f': buf[0] = '\f'; return 1;
    case 'u':
      cp = UnicodeEscape(r);
      return cp > 0 ? EncodeUtf8(cp, buf) : 0;
    default: return 0;
  }
}

int TVMJson_String(TVMJsonReader* r, char* out, size_t cap) {
  size_t n = 0; /* bytes in out; n < cap always holds, leaving room for the terminator */
  if (TVMJson_Expect(r, '"')) return -1;
  if (out && cap == 0) return Fail(r);
  while (r->p < r->end && *r->p != '"') {
    char buf[4];
    size_t k = StringChar(r, buf);
    if (k == 0) return Fail(r);
    if (out) {
      if (k >= cap - n) return Fail(r); /* too long: an error, never a silent cut */
      memcpy(out + n, buf, k);
      n += k;
    }
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
