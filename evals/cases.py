"""Eval cases and datasets: versioned JSON lines under ``evals/datasets``.

A dataset is ``evals/datasets/<name>.v<N>.jsonl``, one case per line; the highest version on
disk is the current one, and a results file names the version and content hash it measured,
so two runs are only compared on the same cases. ``name`` is an agent (``scheduler``) or a
graph run end to end (``content_creation``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

DATASETS_DIR = Path(__file__).parent / "datasets"
Split = Literal["dev", "test"]
SPLITS: tuple[str, ...] = ("dev", "test")
_FILE = re.compile(r"^(?P<name>[a-z_]+)\.v(?P<version>\d+)\.jsonl$")


class Case(BaseModel):
    """One input, the data it runs on, and what a good answer must satisfy."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, description="Unique within its dataset, stable across versions.")
    split: Split = Field(description="dev: for tuning prompts; test: only for measuring.")
    fixture: str = Field(
        default="lumen", description="The named fixture organization (evals/fixtures/<name>.py)."
    )
    inputs: dict[str, Any] = Field(description="The agent's or graph's input, as on the wire.")
    data: dict[str, Any] = Field(
        default_factory=dict, description="Inline data the suite applies before the case runs."
    )
    expect: dict[str, Any] = Field(
        default_factory=dict, description="Labels, reference values, required properties."
    )
    tags: list[str] = Field(default_factory=list, description="Hard-case labels, e.g. sarcasm.")
    note: str | None = Field(default=None, description="Why this case is here.")


class DatasetError(ValueError):
    """A dataset file that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class Dataset:
    name: str
    version: int
    sha256: str
    cases: tuple[Case, ...]

    def split(self, split: str | None) -> list[Case]:
        return [c for c in self.cases if split in (None, c.split)]


def dataset_files(directory: Path = DATASETS_DIR) -> dict[str, Path]:
    """The current (highest-version) file of every dataset in ``directory``."""
    best: dict[str, tuple[int, Path]] = {}
    for path in directory.glob("*.jsonl"):
        match = _FILE.match(path.name)
        if match is None:
            continue
        version = int(match["version"])
        if match["name"] not in best or version > best[match["name"]][0]:
            best[match["name"]] = (version, path)
    return {name: path for name, (_, path) in sorted(best.items())}


def load_dataset(name: str, directory: Path = DATASETS_DIR) -> Dataset:
    files = dataset_files(directory)
    if name not in files:
        known = ", ".join(files) or "none"
        raise DatasetError(f"no dataset {name!r} in {directory} (found: {known})")
    return read_dataset(files[name])


def render_cases(cases: Sequence[Case]) -> str:
    """A dataset file's exact text: one case per line, in order (what ``read_dataset`` reads)."""
    lines = [json.dumps(c.model_dump(mode="json"), ensure_ascii=False) for c in cases]
    return "\n".join(lines) + "\n"


def render_rows(rows: Iterable[Mapping[str, Any]], *, sort_keys: bool = False) -> str:
    """A dataset file's exact text from plain case dicts (the generator scripts' form)."""
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=sort_keys) + "\n" for r in rows)


def write_or_check(path: Path, text: str, argv: Sequence[str]) -> int:
    """A generator script's main: write ``text`` to ``path``, or with ``--check`` only say
    whether the file already holds it (exit status 1 when it does not)."""
    if "--check" in argv:
        same = path.exists() and path.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{path.name} differs from the generator's output")
        return 0 if same else 1
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path} ({text.count(chr(10))} cases)")
    return 0


def read_dataset(path: Path) -> Dataset:
    match = _FILE.match(path.name)
    if match is None:
        raise DatasetError(f"{path.name}: dataset files are named <name>.v<N>.jsonl")
    raw = path.read_bytes()
    cases: list[Case] = []
    seen: set[str] = set()
    for number, line in enumerate(raw.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            case = Case.model_validate_json(line)
        except ValidationError as exc:
            raise DatasetError(f"{path.name} line {number}: {exc}") from exc
        if case.id in seen:
            raise DatasetError(f"{path.name} line {number}: duplicate case id {case.id!r}")
        seen.add(case.id)
        cases.append(case)
    return Dataset(
        name=match["name"],
        version=int(match["version"]),
        sha256=hashlib.sha256(raw).hexdigest(),
        cases=tuple(cases),
    )
