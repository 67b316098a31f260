/* CZstd: the system libzstd headers, one module for Swift. */
#include <zstd.h>
