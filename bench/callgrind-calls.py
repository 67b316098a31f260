#!/usr/bin/env python3
"""Calls to named functions in a callgrind output file, summed over every caller.

    bench/callgrind-calls.py cg.out malloc free [CALLS]

Prints each name with its call count, divided by CALLS when given (per request). callgrind
compresses names: `cfn=(12) malloc` names id 12 once, later lines say only `cfn=(12)`; the
`calls=N` line after a `cfn=` line counts the calls to that function from the current one.
"""
import collections
import re
import sys

NAME = re.compile(r'c?fn=\((\d+)\)(?: (.*))?')


def calls_by_name(path):
    names, counts, callee = {}, collections.Counter(), None
    with open(path, errors='replace') as f:
        for line in f:
            if line.startswith(('fn=', 'cfn=')):
                m = NAME.match(line.rstrip('\n'))
                if not m:
                    continue
                if m.group(2):
                    names[m.group(1)] = m.group(2)
                if line.startswith('cfn='):
                    callee = names.get(m.group(1))
            elif line.startswith('calls=') and callee is not None:
                counts[callee] += int(line.split()[0][len('calls='):])
                callee = None
    return counts


def main():
    path, wanted = sys.argv[1], sys.argv[2:]
    per = None
    if wanted and wanted[-1].isdigit():
        per = int(wanted.pop())
    counts = calls_by_name(path)
    for name in wanted:
        n = counts.get(name, 0)
        print(f'{name}: {n / per:.2f} per call' if per else f'{name}: {n}')


if __name__ == '__main__':
    main()
