"""The Python reference executor with two tools that break their own outputSchema, for the
front's output checks (Tests/Integration/test_output_checks.py)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "proto", "examples"))
import reference_executor as ref  # noqa: E402

SCHEMA = {"type": "object", "properties": {"words": {"type": "integer"}}, "required": ["words"]}


async def wrong_type(args, call):
    return ref.text_result("many", structuredContent={"words": "many"})


async def missing(args, call):
    return ref.text_result("no structured content")


for name, func in [("py_bad_structured", wrong_type), ("py_no_structured", missing)]:
    ref.TOOLS[name] = (func, {"name": name, "description": "breaks its outputSchema",
                              "inputSchema": {"type": "object"}, "outputSchema": SCHEMA})

if __name__ == "__main__":
    sys.exit(ref.main())
