"""A user pipeline: normalize a name, validate it, fetch and save a user."""

from __future__ import annotations

from typing import Annotated, TypedDict

from flowdsl import From, vertex


class User(TypedDict):
    id: int
    name: str


@vertex
def normalize(name: str) -> str:  # `name` matches no vertex: a flow input
    return name.strip().lower()


@vertex(pure=True)  # pure: results may be cached
def validate(normalize: str) -> bool:  # named after a vertex: its output
    return normalize.isalnum()


@vertex
def fetch_user(normalize: str) -> User:  # TypedDict: fetch_user.id, fetch_user.name
    return {"id": 7, "name": normalize}


@vertex
def save(user_id: Annotated[int, From("fetch_user.id")], validate: bool) -> int:
    return user_id if validate else -1
