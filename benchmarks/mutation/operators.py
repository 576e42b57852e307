"""Mutation operators on the reference adapter's AST: where each applies, the stable id of every
mutant, and applying one mutant to a module's source in memory (no file is ever written)."""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import CodeType

ROOT = Path(__file__).resolve().parents[2]

STATUS_SWAPS: dict[int, int] = {
    200: 204,
    204: 200,
    304: 200,
    400: 401,
    401: 403,
    403: 401,
    408: 400,
    413: 400,
    429: 503,
    500: 503,
    503: 429,
}
"""HTTP statuses the adapter answers or reads, each swapped for a plausible wrong one."""

_CMP: dict[type[ast.cmpop], tuple[type[ast.cmpop], ...]] = {
    ast.Lt: (ast.LtE, ast.GtE),
    ast.LtE: (ast.Lt, ast.Gt),
    ast.Gt: (ast.GtE, ast.LtE),
    ast.GtE: (ast.Gt, ast.Lt),
    ast.Eq: (ast.NotEq,),
    ast.NotEq: (ast.Eq,),
    ast.In: (ast.NotIn,),
    ast.NotIn: (ast.In,),
    ast.Is: (ast.IsNot,),
    ast.IsNot: (ast.Is,),
}
_BIN: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.FloorDiv: ast.Div,
    ast.Pow: ast.Mult,
    ast.BitAnd: ast.BitOr,
    ast.BitOr: ast.BitAnd,
}
_SYMBOL = {
    ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
    ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not",
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Pow: "**",
    ast.BitAnd: "&", ast.BitOr: "|",
}  # fmt: skip
_LOGGERS = {"log", "logger", "logging"}
_SILENT_FUNCTIONS = {"__repr__", "__str__"}

Replace = Callable[[ast.AST], ast.AST]


@dataclass(frozen=True, slots=True)
class Mutant:
    """One mutant: ``id`` is stable across edits elsewhere in the file (file, enclosing
    function, operator, text change, and the index among identical changes in that function);
    ``lines`` are the enclosing statement's lines (for coverage); ``category`` is ``behaviour``
    or ``message`` (text of a deny or error message: free by the contract, counted apart)."""

    id: str
    path: str
    module: str
    line: int
    lines: tuple[int, int]
    scope: str
    operator: str
    original: str
    replacement: str
    category: str
    site: int
    import_time: bool

    def describe(self) -> str:
        return f"{self.path}:{self.line} {self.operator}: {self.original} -> {self.replacement}"


@dataclass(slots=True)
class _Site:
    parent: ast.AST
    field: str
    index: int | None
    node: ast.AST
    stmt: ast.stmt
    scope: str
    operator: str
    category: str
    replace: Replace
    in_function: bool


def _is_message(text: str) -> bool:
    """Natural-language text (a deny or error message), not a name, key or header value."""
    return " " in text.strip() and "=" not in text


def _unparse(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 80 else text[:77] + "..."


class _Finder:
    """Walks one module and lists every mutation site in a fixed order."""

    def __init__(self) -> None:
        self.sites: list[_Site] = []
        self._scope: list[str] = []
        self._function: list[str] = []
        self._stmt: ast.stmt | None = None

    def add(
        self, parent: ast.AST, field: str, index: int | None, node: ast.AST, operator: str,
        replace: Replace, category: str = "behaviour",
    ) -> None:  # fmt: skip
        assert self._stmt is not None
        scope = ".".join(self._scope) or "<module>"
        self.sites.append(
            _Site(
                parent,
                field,
                index,
                node,
                self._stmt,
                scope,
                operator,
                category,
                replace,
                bool(self._function),
            )
        )

    def walk(self, node: ast.AST) -> None:
        for field, value in ast.iter_fields(node):
            if field in ("annotation", "returns", "decorator_list", "type_comment"):
                continue
            if isinstance(value, list):
                for index, child in enumerate(value):
                    if isinstance(child, ast.AST):
                        self.visit(node, field, index, child)
            elif isinstance(value, ast.AST):
                self.visit(node, field, None, value)

    def visit(self, parent: ast.AST, field: str, index: int | None, node: ast.AST) -> None:
        if self._skipped(node):
            return
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            self._scope.append(node.name)
            is_function = not isinstance(node, ast.ClassDef)
            if is_function:
                self._function.append(node.name)
            saved = self._stmt
            self._stmt = node
            self.walk(node)
            self._stmt = saved
            self._scope.pop()
            if is_function:
                self._function.pop()
            return
        if isinstance(node, ast.stmt):
            saved = self._stmt
            self._stmt = node
            self._statement(parent, field, index, node)
            self.walk(node)
            self._stmt = saved
            return
        self._expression(parent, field, index, node)
        self.walk(node)

    def _skipped(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Import | ast.ImportFrom | ast.Raise | ast.Assert | ast.JoinedStr):
            return True
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            return True  # docstrings
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            return self._skipped(node.value)  # a logging call as a statement
        if isinstance(node, ast.FunctionDef) and node.name in _SILENT_FUNCTIONS:
            return True
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__slots__" for t in node.targets
        ):
            return True
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id == "print":
                return True
            if (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id in _LOGGERS
            ):
                return True
        return False

    def _statement(self, parent: ast.AST, field: str, index: int | None, node: ast.stmt) -> None:
        def to_pass(_: ast.AST) -> ast.AST:
            return ast.Pass()

        in_init = bool(self._function) and self._function[-1] == "__init__"
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call | ast.Await):
            self.add(parent, field, index, node, "drop-call", to_pass)
        elif isinstance(node, ast.AugAssign | ast.Delete) or (
            isinstance(node, ast.Assign)
            and self._function
            and not in_init
            and all(isinstance(t, ast.Attribute | ast.Subscript) for t in node.targets)
        ):
            self.add(parent, field, index, node, "drop-update", to_pass)
        value = node.value if isinstance(node, ast.Return) else None
        if value is not None and not (isinstance(value, ast.Constant) and value.value is None):

            def return_none(n: ast.AST) -> ast.AST:
                return ast.Return(value=ast.Constant(None))

            self.add(parent, field, index, node, "return-none", return_none)
        if isinstance(node, ast.If):  # drop the branch; with an else, drop that one too
            self.add(node, "test", None, node.test, "if-false", _const(False))
            if node.orelse:
                self.add(node, "test", None, node.test, "if-true", _const(True))
        if isinstance(node, ast.AugAssign) and type(node.op) in (ast.Add, ast.Sub):
            swapped = ast.Sub if isinstance(node.op, ast.Add) else ast.Add

            def aug(n: ast.AST, op: type[ast.operator] = swapped) -> ast.AST:
                assert isinstance(n, ast.AugAssign)
                return ast.AugAssign(target=n.target, op=op(), value=n.value)

            self.add(parent, field, index, node, "arith", aug)

    def _expression(self, parent: ast.AST, field: str, index: int | None, node: ast.AST) -> None:
        if isinstance(node, ast.Compare):
            for position, op in enumerate(node.ops):
                for new in _CMP.get(type(op), ()):

                    def cmp(n: ast.AST, i: int = position, o: type[ast.cmpop] = new) -> ast.AST:
                        assert isinstance(n, ast.Compare)
                        ops = list(n.ops)
                        ops[i] = o()
                        return ast.Compare(left=n.left, ops=ops, comparators=n.comparators)

                    self.add(parent, field, index, node, "compare", cmp)
        elif isinstance(node, ast.BoolOp):

            def boolop(n: ast.AST) -> ast.AST:
                assert isinstance(n, ast.BoolOp)
                op = ast.Or() if isinstance(n.op, ast.And) else ast.And()
                return ast.BoolOp(op=op, values=n.values)

            self.add(parent, field, index, node, "bool-op", boolop)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.USub):

            def operand(n: ast.AST) -> ast.AST:
                assert isinstance(n, ast.UnaryOp)
                return n.operand

            name = "drop-not" if isinstance(node.op, ast.Not) else "drop-minus"
            self.add(parent, field, index, node, name, operand)
        elif isinstance(node, ast.BinOp) and type(node.op) in _BIN:
            if not any(
                isinstance(side, ast.Constant) and isinstance(side.value, str | bytes)
                for side in (node.left, node.right)
            ):
                swapped = _BIN[type(node.op)]

                def binop(n: ast.AST, op: type[ast.operator] = swapped) -> ast.AST:
                    assert isinstance(n, ast.BinOp)
                    return ast.BinOp(left=n.left, op=op(), right=n.right)

                self.add(parent, field, index, node, "arith", binop)
        elif isinstance(node, ast.IfExp):
            for value in (True, False):
                self.add(node, "test", None, node.test, f"if-{str(value).lower()}",
                         _const(value))  # fmt: skip
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("min", "max")
        ):
            other = "max" if node.func.id == "min" else "min"

            def minmax(n: ast.AST, name: str = other) -> ast.AST:
                assert isinstance(n, ast.Call)
                return ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=n.args,
                                keywords=n.keywords)  # fmt: skip

            self.add(parent, field, index, node, "min-max", minmax)
        elif isinstance(node, ast.Constant):
            self._constant(parent, field, index, node)

    def _constant(self, parent: ast.AST, field: str, index: int | None, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, bool):
            self.add(parent, field, index, node, "constant", _const(not value))
        elif isinstance(value, int):
            if value in STATUS_SWAPS:
                self.add(parent, field, index, node, "status", _const(STATUS_SWAPS[value]))
            else:
                self.add(parent, field, index, node, "off-by-one", _const(value + 1))
        elif isinstance(value, float):
            self.add(parent, field, index, node, "constant", _const(value * 2 if value else 1.0))
        elif isinstance(value, str):
            category = "message" if _is_message(value) else "behaviour"
            self.add(parent, field, index, node, "string", _const(f"XX{value}XX"), category)


def _const(value: bool | int | float | str) -> Replace:
    def replace(_: ast.AST) -> ast.AST:
        return ast.Constant(value)

    return replace


def _sites(tree: ast.Module) -> list[_Site]:
    finder = _Finder()
    for index, stmt in enumerate(tree.body):
        finder.visit(tree, "body", index, stmt)
    return finder.sites


def _module_name(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".").removesuffix(".__init__")


def mutants_of(path: str, source: str | None = None) -> list[Mutant]:
    """Every mutant of one file (``path`` relative to the repository root)."""
    text = source if source is not None else (ROOT / path).read_text()
    tree = ast.parse(text, filename=path)
    found: list[Mutant] = []
    seen: dict[str, int] = {}
    short = path.removeprefix("reference_adapter/")
    for number, site in enumerate(_sites(tree)):
        original = _unparse(site.node)
        replacement = _unparse(site.replace(copy.deepcopy(site.node)))
        key = f"{short}:{site.scope}:{site.operator}:{original} -> {replacement}"
        nth = seen.get(key, 0)
        seen[key] = nth + 1
        stmt = site.stmt
        start = stmt.lineno
        import_time = site.in_function is False or isinstance(
            stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
        )
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            end = stmt.lineno  # a default argument or a base class: evaluated at definition
        else:
            end = getattr(stmt, "end_lineno", None) or stmt.lineno
            if isinstance(stmt, ast.If | ast.For | ast.While | ast.With | ast.Try):
                end = max(start, min(end, getattr(stmt.body[0], "lineno", start) - 1))
        found.append(
            Mutant(
                id=f"{key}#{nth}" if nth else key,
                path=path,
                module=_module_name(path),
                line=getattr(site.node, "lineno", start),
                lines=(start, end),
                scope=site.scope,
                operator=site.operator,
                original=original,
                replacement=replacement,
                category=site.category,
                site=number,
                import_time=import_time,
            )
        )
    return found


def _mutated_tree(path: str, site: int, source: str | None) -> tuple[ast.Module, _Site]:
    text = source if source is not None else (ROOT / path).read_text()
    tree = ast.parse(text, filename=path)
    chosen = _sites(tree)[site]
    new = chosen.replace(chosen.node)
    ast.copy_location(new, chosen.node)
    if chosen.index is None:
        setattr(chosen.parent, chosen.field, new)
    else:
        getattr(chosen.parent, chosen.field)[chosen.index] = new
    return ast.fix_missing_locations(tree), chosen


def mutated_code(path: str, site: int, source: str | None = None) -> CodeType:
    """The compiled code of ``path`` with mutation ``site`` applied (nothing is written)."""
    tree, _ = _mutated_tree(path, site, source)
    return compile(tree, str(ROOT / path), "exec")


def mutated_source(path: str, site: int, source: str | None = None) -> str:
    """The mutated statement, as source text (for people)."""
    _, chosen = _mutated_tree(path, site, source)
    if chosen.node is not chosen.stmt:
        return ast.unparse(chosen.stmt)
    holder = getattr(chosen.parent, chosen.field)
    return ast.unparse(holder[chosen.index] if chosen.index is not None else holder)
