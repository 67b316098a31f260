/* CLibUV: the system libuv headers, one module for Swift. */
#include <uv.h>
