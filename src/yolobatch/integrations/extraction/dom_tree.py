"""Where a node sits in its tree: containment and document order, by walking parents and siblings.

Split from `menu_dom` (the heuristic) because these are plain tree geometry, free of any menu notion.
"""

from __future__ import annotations

from selectolax.lexbor import LexborNode as Node


def contains(ancestor: Node, node: Node) -> bool:
    return ancestor.mem_id == node.mem_id or is_descendant(node, ancestor)


def before(first: Node, second: Node) -> bool:
    """Whether `first` starts before `second` in document order (neither contains the other)."""
    a, b = path(first), path(second)
    for x, y in zip(a, b, strict=False):
        if x != y:
            return x < y
    return len(a) < len(b)


def path(node: Node) -> list[int]:
    indices: list[int] = []
    while node.parent is not None:
        index, sibling = 0, node.prev
        while sibling is not None:
            index += 1
            sibling = sibling.prev
        indices.append(index)
        node = node.parent
    return indices[::-1]


def is_descendant(node: Node, ancestor: Node) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.mem_id == ancestor.mem_id:
            return True
        parent = parent.parent
    return False
