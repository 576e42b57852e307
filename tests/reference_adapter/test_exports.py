"""The public surface: `__all__` is sorted and names exactly what the package exports."""

from __future__ import annotations

import reference_adapter
import reference_adapter.policies


def test_all_is_sorted_and_importable():
    for module in (reference_adapter, reference_adapter.policies):
        # isort-style, as ruff's RUF022 wants: CONSTANTS, then Classes, then functions
        def kind(n: str) -> tuple[int, str]:
            return (0 if n.isupper() else 1 if n[0].isupper() else 2, n)

        assert module.__all__ == sorted(module.__all__, key=kind)
        for name in module.__all__:
            assert getattr(module, name) is not None, name


def test_core_imports_no_io_modules():
    """The decision core must stay I/O-free so the what-if engine can drive it."""
    import ast
    from pathlib import Path

    root = Path(reference_adapter.__file__).parent
    core = ["engine.py", "model.py", "contracts.py", "schedule.py", "batcher.py", "events.py"]
    core += [
        str(p.relative_to(root))
        for p in (root / "policies").glob("*.py")
        if p.name != "ldap_authentication.py"  # the one policy that needs I/O (is_async)
    ]
    banned = {"httpx", "aiohttp", "grpc", "asyncio", "time", "socket", "redis"}
    for name in core:
        tree = ast.parse((root / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            for module in modules:
                assert module.split(".")[0] not in banned, f"{name} imports {module}"
