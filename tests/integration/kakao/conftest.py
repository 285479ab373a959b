"""Fixtures of the Kakao connector tests (the helpers themselves live in tests.support.kakao)."""

from tests.support.kakao import sim, sink, store

__all__ = ["sim", "sink", "store"]
