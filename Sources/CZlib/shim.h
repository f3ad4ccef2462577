#include <zlib.h>

/* deflateInit/inflateInit are macros; Swift needs functions. */
static inline int czlib_deflate_init(z_streamp stream, int level) { return deflateInit(stream, level); }
static inline int czlib_deflate_init2(z_streamp stream, int level, int windowBits, int memLevel) {
    return deflateInit2(stream, level, Z_DEFLATED, windowBits, memLevel, Z_DEFAULT_STRATEGY);
}
static inline int czlib_inflate_init(z_streamp stream) { return inflateInit(stream); }
