"""The unit tree (city -> district/county -> station) and the subtree a person sees."""

from __future__ import annotations

from collections.abc import Iterable

LEVELS = ("city", "district", "station")


def subtree(parents: Iterable[tuple[str, str | None]], root: str) -> frozenset[str]:
    """`root` and every unit below it, from (code, parent_code) pairs."""
    children: dict[str | None, list[str]] = {}
    for code, parent in parents:
        children.setdefault(parent, []).append(code)
    found, stack = {root}, [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return frozenset(found)


def child_level(parent_level: str | None) -> str | None:
    """The level a unit under `parent_level` has (None when nothing may go below it)."""
    if parent_level is None:
        return LEVELS[0]
    index = LEVELS.index(parent_level)
    return LEVELS[index + 1] if index + 1 < len(LEVELS) else None


def depths_below(parents: Iterable[tuple[str, str | None]], root: str) -> dict[str, int]:
    """Every unit of `root`'s subtree with how many levels below `root` it lies (root itself: 0)."""
    children: dict[str | None, list[str]] = {}
    for code, parent in parents:
        children.setdefault(parent, []).append(code)
    depths, stack = {root: 0}, [root]
    while stack:
        code = stack.pop()
        for child in children.get(code, []):
            if child not in depths:
                depths[child] = depths[code] + 1
                stack.append(child)
    return depths
