#!/usr/bin/env python3
"""Prints echo arguments holding BYTES of random URL-safe text: {"text": "..."}.

Usage: bench/random-args.py BYTES > args.json   (for switchyard-bench run --args-file)
"""
import base64
import json
import os
import sys

n = int(sys.argv[1])
text = base64.b64encode(os.urandom(n)).decode()[:n].replace("/", "_").replace("+", "-")
print(json.dumps({"text": text}))
