"""The Python reference executor with tools that declare result-cache TTLs, for the front's
result-cache policy (Tests/Integration/test_result_cache.py): `py_counter` counts its calls and
declares a TTL although it is not read-only (the front must ignore it and say so);
`py_same_counter` does the same but is annotated read-only and idempotent, with a per-principal TTL."""

import itertools
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "proto", "examples"))
import reference_executor as ref  # noqa: E402

counters = {"py_counter": itertools.count(1), "py_same_counter": itertools.count(1)}


def counting(name):
    async def count(args, call):
        return ref.text_result(str(next(counters[name])))
    return count


ref.TOOLS["py_counter"] = (counting("py_counter"), {
    "name": "py_counter", "description": "Counts its calls (not read-only: never cached).",
    "inputSchema": {"type": "object"},
    "annotations": {"readOnlyHint": False, "idempotentHint": True},
    "_meta": {"io.switchyard/cacheTtlMs": 60000},
})
ref.TOOLS["py_same_counter"] = (counting("py_same_counter"), {
    "name": "py_same_counter", "description": "Counts calls too, declared pure: cached per principal.",
    "inputSchema": {"type": "object"},
    "annotations": {"readOnlyHint": True, "idempotentHint": True},
    "_meta": {"io.switchyard/cacheTtlMs": 60000},
})

if __name__ == "__main__":
    sys.exit(ref.main())
