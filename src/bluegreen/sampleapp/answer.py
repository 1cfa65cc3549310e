"""What every route of the sample app takes and gives: a request in, an answer out."""

from __future__ import annotations

from typing import NamedTuple


class Request(NamedTuple):
    method: str
    path: str
    query: dict
    headers: dict
    color: str
    release: str


class Answer(NamedTuple):
    status: int
    body: str
    ctype: str = "text/plain; charset=utf-8"
    cache: str = "no-store"
