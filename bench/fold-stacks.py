#!/usr/bin/env python3
"""Folds `perf script` output into one line per distinct stack: `comm;outer;...;inner count`.

The format every flame-graph renderer reads (FlameGraph's flamegraph.pl, inferno, speedscope).
Reads stdin, writes stdout, heaviest stacks first. Standard library only.
"""
import collections
import re
import sys

FRAME = re.compile(r"^\s*[0-9a-f]+\s+(.+?)(?:\+0x[0-9a-f]+)?\s+\((.*)\)\s*$")


def fold(lines):
    counts = collections.Counter()
    comm, frames = None, []
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            if comm is not None:
                counts[";".join([comm] + frames[::-1])] += 1
            comm, frames = None, []
            continue
        if comm is None:
            # Sample header: "comm pid [cpu] time: period event:"
            comm = line.split()[0] if line.split() else "?"
            continue
        m = FRAME.match(line)
        if m:
            sym = m.group(1)
            dso = m.group(2).rsplit("/", 1)[-1]
            if sym == "[unknown]" and dso != "[unknown]":
                sym = "[" + dso + "]"
            frames.append(sym.replace(";", ":"))
    if comm is not None:
        counts[";".join([comm] + frames[::-1])] += 1
    return counts


def main():
    for stack, n in fold(sys.stdin).most_common():
        print(f"{stack} {n}")


if __name__ == "__main__":
    main()
