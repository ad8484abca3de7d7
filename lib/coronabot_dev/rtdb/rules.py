"""The database rules this project deploys (database.rules.json): ``.read``/``.write`` as ``true`` or
``false``, cascading down the tree, and the ``.indexOn`` declarations a query needs. An expression rule is
refused when the rules load: nothing of this project uses one."""

from __future__ import annotations

import json

from .values import BadRequest


class PermissionDenied(Exception):
    """A request the rules do not allow (401 "Permission denied", as production answers)."""




class Rules:
    """A rules document: its ``.indexOn`` declarations and its ``.read``/``.write`` rules.
    ``document`` None (no --rules) means ad hoc queries are allowed and every request may read and write."""

    def __init__(self, document: dict | None):
        self.document = document
        self.tree = document.get("rules", {}) if isinstance(document, dict) else None
        self.unsupported: list[str] = []
        if isinstance(self.tree, dict):
            self._check(self.tree, "")

    def _check(self, node: dict, where: str) -> None:
        """Note every rule that is not ``true`` or ``false`` (such a rule denies)."""
        for kind in (".read", ".write"):
            if kind in node and not isinstance(node[kind], bool):
                self.unsupported.append(f"{where or '/'}{kind}: {node[kind]!r} (this emulator evaluates only "
                                        "true or false, what database.rules.json uses)")
        for key, child in node.items():
            if not key.startswith(".") and isinstance(child, dict):
                self._check(child, f"{where}/{key}")

    @classmethod
    def load(cls, path: str | None) -> Rules:
        if not path:
            return cls(None)
        with open(path, encoding="utf-8") as fh:
            return cls(json.load(fh))

    def _walk(self, path: list[str]):
        """The rules' nodes from the root down the path (a ``$name`` matches any key), as far as they go."""
        node = self.tree
        yield node
        for part in path:
            if not isinstance(node, dict):
                return
            wildcard = next((key for key in node if key.startswith("$")), None)
            node = node.get(part, node.get(wildcard)) if wildcard or part in node else None
            if node is None:
                return
            yield node

    def allows(self, kind: str, path: list[str]) -> bool:
        """Whether a rule on the path or above it grants ``kind`` (``.read`` or ``.write``): rules cascade
        down, and a child can never take back what a parent granted."""
        if self.tree is None:
            return True
        return any(isinstance(node, dict) and node.get(kind) is True for node in self._walk(path))

    def require_index(self, path: list[str], order_by: str) -> None:
        """Refuse an unindexed query with the production server's message."""
        if self.tree is None or order_by in ("$key", "$priority"):
            return
        wanted = ".value" if order_by == "$value" else order_by.strip("/")
        nodes = list(self._walk(path))
        node = nodes[-1] if len(nodes) == len(path) + 1 else None
        declared = node.get(".indexOn", []) if isinstance(node, dict) else []
        if wanted not in ([declared] if isinstance(declared, str) else declared):
            raise BadRequest(f'Index not defined, add ".indexOn": "{wanted}", '
                             f'for path "/{"/".join(path)}", to the rules')
