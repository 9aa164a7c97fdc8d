"""Vocabulary and helpers shared by the domains' fake databases."""

from __future__ import annotations

import random
from typing import Any

# (city, country, UTC offset in hours, latitude, longitude)
CITIES = [
    ("Lisbon", "Portugal", 0, 38.7, -9.1), ("Madrid", "Spain", 1, 40.4, -3.7), ("Paris", "France", 1, 48.9, 2.35),
    ("Berlin", "Germany", 1, 52.5, 13.4), ("Rome", "Italy", 1, 41.9, 12.5), ("Vienna", "Austria", 1, 48.2, 16.4),
    ("Warsaw", "Poland", 1, 52.2, 21.0), ("Athens", "Greece", 2, 38.0, 23.7), ("Cairo", "Egypt", 2, 30.0, 31.2),
    ("Nairobi", "Kenya", 3, -1.3, 36.8), ("Dubai", "United Arab Emirates", 4, 25.2, 55.3),
    ("Mumbai", "India", 5.5, 19.1, 72.9), ("Bangkok", "Thailand", 7, 13.8, 100.5),
    ("Singapore", "Singapore", 8, 1.35, 103.8), ("Tokyo", "Japan", 9, 35.7, 139.7), ("Seoul", "South Korea", 9, 37.6, 127.0),
    ("Sydney", "Australia", 10, -33.9, 151.2), ("Auckland", "New Zealand", 12, -36.8, 174.8),
    ("Toronto", "Canada", -5, 43.7, -79.4), ("Chicago", "United States", -6, 41.9, -87.6),
    ("Denver", "United States", -7, 39.7, -105.0), ("Seattle", "United States", -8, 47.6, -122.3),
    ("Mexico City", "Mexico", -6, 19.4, -99.1), ("Lima", "Peru", -5, -12.0, -77.0),
    ("Santiago", "Chile", -4, -33.4, -70.7), ("Oslo", "Norway", 1, 59.9, 10.8),
]
FIRST_NAMES = ["Ana", "Ben", "Chen", "Dara", "Elif", "Femi", "Grace", "Hiro", "Ines", "Jonas", "Kofi", "Lena",
               "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Viktor", "Wen", "Yara"]
LAST_NAMES = ["Silva", "Novak", "Okafor", "Tanaka", "Garcia", "Kowalski", "Haddad", "Lindqvist", "Mehta", "Rossi",
              "Nguyen", "Schmidt", "Abebe", "Moreau", "Kim", "Costa", "Petrov", "Jensen", "Alvarez", "Sato"]
TOPICS = ["graph neural networks", "protein folding", "reinforcement learning", "quantum error correction",
          "climate modeling", "speech recognition", "tool use", "code generation", "federated learning",
          "image segmentation", "causal inference", "robot navigation", "machine translation", "drug discovery"]
ADJECTIVES = ["Silent", "Golden", "Broken", "Hidden", "Electric", "Crimson", "Distant", "Frozen", "Wild", "Last",
              "Midnight", "Paper", "Iron", "Velvet", "Hollow", "Bright"]
NOUNS = ["River", "Garden", "Empire", "Signal", "Harbor", "Mirror", "Orchard", "Horizon", "Lantern", "Canyon",
         "Echo", "Voyage", "Station", "Forest", "Compass", "Tide"]
DATES = [f"2026-{m:02d}-{d:02d}" for m in (3, 4, 5, 6) for d in (2, 5, 9, 12, 16, 19, 23, 27)]


def random_person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def random_title(rng: random.Random) -> str:
    return f"The {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"


def distinct(rng: random.Random, make, count: int) -> list:
    """``count`` distinct values drawn with ``make(rng)``."""
    seen: dict = {}
    while len(seen) < count:
        seen.setdefault(make(rng), None)
    return list(seen)


def find(rows: list[dict], key: str, value: Any, what: str) -> dict:
    """The row whose ``key`` equals ``value`` (strings compare case-insensitively), or ValueError."""
    wanted = value.casefold() if isinstance(value, str) else value
    for row in rows:
        have = row[key].casefold() if isinstance(row[key], str) else row[key]
        if have == wanted:
            return row
    raise ValueError(f"{what} {value!r} not found")


def pick(rows: list[dict], key: str):
    """A sampler drawing ``key`` from a random row of ``rows`` (named by table)."""
    return lambda db, rng: rng.choice(db[rows])[key]


def brief(row: dict, *keys: str) -> dict:
    return {k: row[k] for k in keys}
