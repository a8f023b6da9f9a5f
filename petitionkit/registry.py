"""Typed slots in ``app.extensions``: each is declared once, by the module that owns what it
holds, and read through ``of()``, so no caller spells a string key or guesses a type."""

from __future__ import annotations

from typing import Generic, TypeVar

from flask import Flask, current_app

T = TypeVar("T")


class Slot(Generic[T]):
    """One thing an app holds for its lifetime (a policy, a cache, the plugins' fan-out)."""

    def __init__(self, key: str, kind: type[T]) -> None:
        self.key = key
        self.kind = kind

    def put(self, app: Flask, value: T) -> T:
        if not isinstance(value, self.kind):
            raise TypeError(f"{self.key} holds a {self.kind.__name__}, not {type(value).__name__}")
        app.extensions[self.key] = value
        return value

    def of(self, app: Flask | None = None) -> T:
        """What ``app`` (by default the current one) holds; a missing slot is a KeyError that
        names it, since every slot is filled when the app is created."""
        value: T = (app if app is not None else current_app).extensions[self.key]
        return value
