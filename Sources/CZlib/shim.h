#include <zlib.h>

/* deflateInit/inflateInit are macros; Swift needs functions. */
static inline int czlib_deflate_init(z_streamp stream, int level) { return deflateInit(stream, level); }
static inline int czlib_inflate_init(z_streamp stream) { return inflateInit(stream); }
