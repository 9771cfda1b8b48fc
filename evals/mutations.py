"""Deterministic single-bug injection into a function, found with `ast`.

A mutation replaces one single-line expression of the target function's body with a
slightly wrong one (operator swap, comparison flip, off-by-one constant, and/or swap,
dropped or added negation, wrong variable). Replacements keep the operator's precedence
class (or add parentheses), so the buggy code parses as the mutation says.
"""

from __future__ import annotations

import ast
import random
from dataclasses import dataclass

BINOP_SWAPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.FloorDiv, ast.FloorDiv: ast.Mult,
               ast.Mod: ast.FloorDiv, ast.Div: ast.Mult}
COMPARE_SWAPS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
                 ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}


@dataclass(frozen=True)
class Mutation:
    kind: str
    line: int
    """1-based line in the module source."""
    col: int
    end_col: int
    original: str
    replacement: str

    def apply(self, source: str) -> str:
        lines = source.splitlines(keepends=True)
        text = lines[self.line - 1]
        assert text[self.col : self.end_col] == self.original, "mutation does not match the source"
        lines[self.line - 1] = text[: self.col] + self.replacement + text[self.end_col :]
        return "".join(lines)

    def describe(self) -> str:
        return f"{self.kind} at line {self.line}: {self.original!r} -> {self.replacement!r}"


def _segment(source_lines: list[str], node: ast.AST) -> tuple[int, int, int, str] | None:
    line, end_line = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
    start, end = getattr(node, "col_offset", None), getattr(node, "end_col_offset", None)
    if line is None or line != end_line or start is None or end is None:
        return None
    return line, start, end, source_lines[line - 1][start:end]


def _variants(node: ast.AST, names: list[str]) -> list[tuple[str, ast.AST, bool]]:
    """(kind, replacement node, needs parentheses) for one node."""
    out: list[tuple[str, ast.AST, bool]] = []
    if isinstance(node, ast.BinOp) and type(node.op) in BINOP_SWAPS:
        out.append(("operator swap", ast.BinOp(node.left, BINOP_SWAPS[type(node.op)](), node.right), False))
    elif isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in COMPARE_SWAPS:
        out.append(("comparison flip", ast.Compare(node.left, [COMPARE_SWAPS[type(node.ops[0])]()], node.comparators), False))
    elif isinstance(node, ast.BoolOp):
        other = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        out.append(("and/or swap", ast.BoolOp(other, node.values), True))
    elif isinstance(node, ast.Constant) and type(node.value) is int:
        out.append(("off-by-one", ast.Constant(node.value + 1), False))
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        out.append(("negation dropped", node.operand, True))
    elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in names:
        others = [n for n in names if n != node.id]
        if others:
            out.append(("wrong variable", ast.Name(others[0], ast.Load()), False))
    return out


def _local_names(fn: ast.FunctionDef) -> list[str]:
    names = {a.arg for a in fn.args.args}
    for node in ast.walk(fn):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return sorted(names)


def mutation_sites(source: str, entry_point: str) -> list[Mutation]:
    """Every single-line mutation of `entry_point`'s body (docstring excluded), in source order."""
    tree = ast.parse(source)
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == entry_point)
    body = fn.body[1:] if fn.body and isinstance(fn.body[0], ast.Expr) and isinstance(fn.body[0].value, ast.Constant) else fn.body
    names = _local_names(fn)
    lines = source.splitlines()
    original_dump = ast.dump(tree)
    found: list[Mutation] = []
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.If):
                seg = _segment(lines, node.test)
                if seg:
                    found.append(Mutation("negation added", seg[0], seg[1], seg[2], seg[3], f"not ({seg[3]})"))
            seg = _segment(lines, node)
            if seg is None:
                continue
            for kind, replacement, parens in _variants(node, names):
                text = ast.unparse(replacement)
                found.append(Mutation(kind, seg[0], seg[1], seg[2], seg[3], f"({text})" if parens else text))
    valid = []
    for m in found:
        try:
            mutated = ast.parse(m.apply(source))
        except SyntaxError:
            continue
        if ast.dump(mutated) != original_dump:
            valid.append(m)
    return valid


def pick_mutations(source: str, entry_point: str, seed: str, count: int) -> list[Mutation]:
    """Up to `count` distinct mutations in a seed-fixed order (the first that really breaks
    the hidden tests is the task's bug)."""
    sites = mutation_sites(source, entry_point)
    random.Random(seed).shuffle(sites)
    return sites[:count]
