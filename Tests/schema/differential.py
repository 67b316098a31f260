#!/usr/bin/env python3
"""Differential cases for Switchyard's JSON Schema validator (Sources/SchemaValidation).

Generates random schemas from the keywords the validator supports and instances near them,
with a fixed seed, and records the verdict of Python's `jsonschema` (Draft202012Validator) for
each pair, one JSON object a line: {"schema": ..., "instance": ..., "valid": true|false}.
Tests/SchemaValidationTests/DifferentialTests.swift reads the file and must agree on every line.

Generated patterns keep to the part of regular-expression syntax where Python's `re` and
ECMA-262 agree (no \\w or \\d, no `$` before a newline), and numbers stay where a double is
exact enough for both sides.

    python Tests/schema/differential.py --seed 2020 --schemas 1500 --out .build/schema-differential/cases.jsonl
"""
import argparse
import json
import os
import random
import sys

from jsonschema import Draft202012Validator

PATTERNS = ["^a", "b$", "^[a-z]+$", "[0-9]", "^x{2,3}$", "a|b", "^(ab)+$", "^[^0-9]*$", "c.d", "^$",
            "^.{2}$", "[A-Z]", "é", "^\\.", "^[a-c]{1,2}[0-9]?$"]
WORDS = ["", "a", "ab", "abc", "b", "ba", "xx", "xxx", "xxxx", "c-d", "cad", "Abc", "a1", "é", "éé", "💩",
         "💩💩", "hello", "HELLO", ".dot", "42", "abab", "c1", "cc9", "zzzzzzzzzz", "a b"]
KEYS = ["a", "b", "c", "name", "count", "tags", "x", "y", "é", "a/b", "~k", ""]
FORMATS = ["email", "date-time", "uri", "ipv4", "uuid", "date"]
TYPES = ["null", "boolean", "object", "array", "number", "integer", "string"]


class Gen:
    def __init__(self, rng):
        self.r = rng
        self.defs = {}

    # ---- schemas -------------------------------------------------------------------------

    def number(self, integral=None):
        r = self.r
        if integral or (integral is None and r.random() < 0.6):
            return r.randint(-20, 20)
        return r.choice([-2.5, -1.5, -0.5, 0.25, 0.5, 1.5, 2.5, 3.75, 10.5, 0.1, 0.3])

    def scalar(self):
        r = self.r
        return r.choice([None, True, False, self.number(), r.choice(WORDS)])

    def value(self, depth=2):
        r = self.r
        k = r.random()
        if depth <= 0 or k < 0.6:
            return self.scalar()
        if k < 0.8:
            return [self.value(depth - 1) for _ in range(r.randint(0, 3))]
        return {r.choice(KEYS): self.value(depth - 1) for _ in range(r.randint(0, 3))}

    def schema(self, depth):
        r = self.r
        if r.random() < 0.06:
            return r.choice([True, False])
        if depth > 0 and self.defs and r.random() < 0.08:
            return {"$ref": "#/$defs/" + r.choice(sorted(self.defs))}
        s = {}
        kind = r.choice(["object", "object", "array", "string", "number", "integer", "boolean", "null", "any",
                         "multi"])
        if kind == "multi":
            s["type"] = r.sample(TYPES, r.randint(1, 3))
        elif kind != "any" and r.random() < 0.85:
            s["type"] = kind
        if kind in ("number", "integer", "any", "multi"):
            for kw in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
                if r.random() < 0.25:
                    s[kw] = self.number()
            if r.random() < 0.2:
                s["multipleOf"] = r.choice([1, 2, 3, 5, 0.5, 0.25, 1.5, 0.1])
        if kind in ("string", "any", "multi"):
            if r.random() < 0.3:
                s["minLength"] = r.randint(0, 4)
            if r.random() < 0.3:
                s["maxLength"] = r.randint(0, 6)
            if r.random() < 0.3:
                s["pattern"] = r.choice(PATTERNS)
            if r.random() < 0.15:
                s["format"] = r.choice(FORMATS)
        if kind in ("object", "any", "multi") and depth > 0:
            if r.random() < 0.8:
                names = r.sample(KEYS, r.randint(0, 4))
                s["properties"] = {k: self.schema(depth - 1) for k in names}
                if names and r.random() < 0.6:
                    s["required"] = r.sample(names, r.randint(1, len(names)))
            if r.random() < 0.15:
                s["required"] = r.sample(KEYS, r.randint(0, 2))
            if r.random() < 0.15:
                s["patternProperties"] = {r.choice(PATTERNS): self.schema(depth - 1)}
            if r.random() < 0.35:
                s["additionalProperties"] = r.choice([False, self.schema(depth - 1)])
            if r.random() < 0.1:
                s["propertyNames"] = {"maxLength": r.randint(0, 3)} if r.random() < 0.5 else {
                    "pattern": r.choice(PATTERNS)}
            if r.random() < 0.1:
                s["minProperties"] = r.randint(0, 3)
            if r.random() < 0.1:
                s["maxProperties"] = r.randint(0, 3)
            if r.random() < 0.1:
                s["dependentRequired"] = {r.choice(KEYS): r.sample(KEYS, r.randint(0, 2))}
            if r.random() < 0.08:
                s["dependentSchemas"] = {r.choice(KEYS): self.schema(depth - 1)}
        if kind in ("array", "any", "multi") and depth > 0:
            if r.random() < 0.3:
                s["prefixItems"] = [self.schema(depth - 1) for _ in range(r.randint(1, 3))]
            if r.random() < 0.6:
                s["items"] = self.schema(depth - 1)
            if r.random() < 0.15:
                s["contains"] = self.schema(depth - 1)
                if r.random() < 0.5:
                    s["minContains"] = r.randint(0, 2)
                if r.random() < 0.4:
                    s["maxContains"] = r.randint(0, 3)
            if r.random() < 0.2:
                s["minItems"] = r.randint(0, 3)
            if r.random() < 0.2:
                s["maxItems"] = r.randint(0, 4)
            if r.random() < 0.2:
                s["uniqueItems"] = r.choice([True, False])
        if r.random() < 0.08:
            s["enum"] = [self.value(1) for _ in range(r.randint(1, 4))]
        if r.random() < 0.05:
            s["const"] = self.value(1)
        if depth > 0:
            for kw in ("allOf", "anyOf", "oneOf"):
                if r.random() < 0.07:
                    s[kw] = [self.schema(depth - 1) for _ in range(r.randint(1, 3))]
            if r.random() < 0.05:
                s["not"] = self.schema(depth - 1)
            if r.random() < 0.07:
                s["if"] = self.schema(depth - 1)
                if r.random() < 0.8:
                    s["then"] = self.schema(depth - 1)
                if r.random() < 0.8:
                    s["else"] = self.schema(depth - 1)
        if r.random() < 0.05:
            s["description"] = "annotation only"
            s["x-unknown-keyword"] = {"type": "integer"}
        return s

    def document(self):
        r = self.r
        self.defs = {}
        if r.random() < 0.25:
            # Definitions hold no $ref themselves (no loops); the document refers to them.
            defs = {name: self.schema(1) for name in r.sample(["pos", "tag", "node", "n/a"], r.randint(1, 2))}
            self.defs = defs
        doc = self.schema(3)
        if self.defs:
            if doc is True or doc is False:
                doc = {"allOf": [doc]}
            doc["$defs"] = self.defs
            # A pointer escapes "/" in a name as "~1".
            doc = json.loads(json.dumps(doc).replace('"#/$defs/n/a"', '"#/$defs/n~1a"'))
        return doc

    # ---- instances near a schema --------------------------------------------------------

    def near(self, s, depth=3):
        r = self.r
        if not isinstance(s, dict) or depth <= 0 or r.random() < 0.15:
            return self.value(2)
        if "$ref" in s:
            name = s["$ref"].split("/")[-1].replace("~1", "/")
            return self.near(self.defs.get(name, {}), depth - 1)
        for kw in ("enum",):
            if kw in s and r.random() < 0.6:
                return r.choice(s[kw])
        if "const" in s and r.random() < 0.6:
            return s["const"]
        for kw in ("anyOf", "oneOf", "allOf"):
            if kw in s and r.random() < 0.4:
                return self.near(r.choice(s[kw]), depth - 1)
        t = s.get("type")
        if isinstance(t, list):
            t = r.choice(t) if t else None
        if t is None:
            if "properties" in s or "required" in s:
                t = "object"
            elif "items" in s or "prefixItems" in s:
                t = "array"
            elif "pattern" in s or "minLength" in s:
                t = "string"
            else:
                t = r.choice(TYPES)
        if t == "object":
            out = {}
            props = s.get("properties", {})
            for k in props:
                if r.random() < 0.75:
                    out[k] = self.near(props[k], depth - 1)
            for k in s.get("required", []):
                if k not in out and r.random() < 0.7:
                    out[k] = self.value(1)
            if r.random() < 0.3:
                out[r.choice(KEYS)] = self.value(1)
            return out
        if t == "array":
            n = r.randint(0, 4)
            pre = s.get("prefixItems", [])
            items = s.get("items", {})
            out = [self.near(pre[i], depth - 1) if i < len(pre) else self.near(items, depth - 1) for i in range(n)]
            if out and r.random() < 0.2:
                out.append(out[0])
            return out
        if t == "string":
            return r.choice(WORDS)
        if t in ("number", "integer"):
            bounds = [s[k] for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum") if k in s]
            if bounds and r.random() < 0.6:
                b = r.choice(bounds)
                return r.choice([b, b + 1, b - 1, b + 0.5, b - 0.5, float(b)])
            if "multipleOf" in s and r.random() < 0.5:
                return s["multipleOf"] * r.randint(-4, 4)
            return self.number()
        if t == "boolean":
            return r.choice([True, False])
        if t == "null":
            return None
        return self.value(2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=2020)
    ap.add_argument("--schemas", type=int, default=1500)
    ap.add_argument("--instances", type=int, default=8, help="instances per schema")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    g = Gen(rng)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    cases = valid = 0
    with open(a.out + ".tmp", "w", encoding="utf-8") as f:
        made = 0
        while made < a.schemas:
            doc = g.document()
            try:
                Draft202012Validator.check_schema(doc)
            except Exception:
                continue
            made += 1
            v = Draft202012Validator(doc)
            for _ in range(a.instances):
                inst = g.near(doc)
                ok = v.is_valid(inst)
                cases += 1
                valid += ok
                f.write(json.dumps({"schema": doc, "instance": inst, "valid": ok}, ensure_ascii=False) + "\n")
    os.replace(a.out + ".tmp", a.out)
    print(f"differential: {cases} cases ({valid} valid, {cases - valid} invalid) from {a.schemas} schemas, "
          f"seed {a.seed} -> {a.out}")


if __name__ == "__main__":
    sys.exit(main())
