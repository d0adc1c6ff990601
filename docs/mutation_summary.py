"""The kill rates of docs/mutation-testing.md, from mutmut 3's results in mutants/.

A mutant that only changes a string literal (a message's wording) is counted apart:
a floor that counted them would freeze every message. Run from the checkout after
``mutmut run``: ``python docs/mutation_summary.py [module ...] [--strings]``.
"""

from __future__ import annotations

import ast
import difflib
import io
import json
import sys
import tokenize
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code  # killed, survived, timeout, ...

ROOT = Path("mutants/src")
LAYOUT = (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT)


def functions(path: Path) -> dict[str, str]:
    """Each original and mutated function of a mutated module, as code."""
    found = {}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef) and "__mutmut_" in node.name:
            name, node.name = node.name, "f"  # only the name differs in the def line
            found[name] = ast.unparse(node)
    return found


def tokens(code: str) -> list[tuple[int, str]]:
    return [
        (t.type, t.string)
        for t in tokenize.generate_tokens(io.StringIO(code).readline)
        if t.type not in LAYOUT
    ]


def change(orig: str, mutant: str) -> tuple[bool, str]:
    """(whether only string literals changed, the changed lines)."""
    a, b = tokens(orig), tokens(mutant)
    ops = difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes()
    changed = [(a[i1:i2], b[j1:j2]) for op, i1, i2, j1, j2 in ops if op != "equal"]
    strings = bool(changed) and all(
        len(x) == len(y) == 1 and x[0][0] == y[0][0] == tokenize.STRING
        for x, y in changed
    )
    lines = difflib.unified_diff(orig.splitlines(), mutant.splitlines(), n=0)
    diff = [x.strip() for x in lines if x[:1] in "+-" and x[:3] not in ("+++", "---")]
    return strings, " | ".join(diff)


def main(args: list[str]) -> None:
    wanted = [a for a in args if not a.startswith("-")]
    print(
        "| module | mutants | killed | survived | timeout | not run | non-string killed"
        " | kill rate | string killed | mutant time |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    survivors = []
    for meta in sorted(ROOT.rglob("*.py.meta")):
        module = ".".join(meta.relative_to(ROOT).with_suffix("").with_suffix("").parts)
        if wanted and not any(w in module for w in wanted):
            continue
        data = json.loads(meta.read_text())
        codes = data["exit_code_by_key"]
        code_of = functions(meta.with_suffix(""))
        count = Counter()
        tally = {True: [0, 0], False: [0, 0]}  # strings?: [killed, tested]
        for key, exit_code in codes.items():
            name = key.rsplit(".", 1)[1]
            orig = name.rsplit("__mutmut_", 1)[0] + "__mutmut_orig"
            strings, diff = change(code_of[orig], code_of[name])
            status = status_by_exit_code[exit_code]
            count[status] += 1
            if status in ("survived", "no tests"):
                tally[strings][1] += 1
                if not strings or "--strings" in args:
                    note = " (no test)" if status == "no tests" else ""
                    survivors.append(f"- {name}{note}: {diff}")
            elif status in ("killed", "timeout"):  # the tests did not pass
                tally[strings][0] += 1
                tally[strings][1] += 1
        survived = count["survived"] + count["no tests"]
        killed, tested = tally[False]
        rate = f"{100 * killed / tested:.1f} %" if tested else "-"
        # Each mutant's test run, summed (mutmut runs --max-children at once).
        seconds = sum(data.get("durations_by_key", {}).values())
        print(
            f"| {module} | {len(codes)} | {count['killed']} | {survived} | "
            f"{count['timeout']} | "
            f"{len(codes) - count['killed'] - count['timeout'] - survived} | "
            f"{killed} / {tested} | {rate} | "
            f"{tally[True][0]} / {tally[True][1]} | {seconds:.0f} s |"
        )
    print("\nSurvivors:\n" + "\n".join(survivors))


if __name__ == "__main__":
    main(sys.argv[1:])
