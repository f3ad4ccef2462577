#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

/// Caps the blocks a streaming context compresses (and so the buffers it keeps for them) at
/// `size` bytes. The parameter is zstd's experimental API: a libzstd without it (older than
/// 1.5.4) leaves the default of 128 KiB, which is only more memory per context.
static inline size_t concord_zstd_limit_block_size(ZSTD_CCtx *context, int size) {
#ifdef ZSTD_c_maxBlockSize
    return ZSTD_CCtx_setParameter(context, ZSTD_c_maxBlockSize, size);
#else
    (void)context; (void)size;
    return 0;
#endif
}
