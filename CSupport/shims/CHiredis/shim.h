/* CHiredis: the system hiredis headers, one module for Swift. */
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
