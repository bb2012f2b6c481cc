"""Reading and checking ``content/`` before anything is written: the first half of an import.

:class:`Reader` finds the files, has them read and validated by :mod:`.reading` (in worker
processes for a large import) and checks entries' references; each problem goes into its
:class:`~.report.ImportReport` as ``path:line: what is wrong``. A file that passes becomes a
:class:`Candidate`, which :mod:`.importer` then decides about and writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, TypeVar

from kb.services.content_io import frontmatter, reading
from kb.services.content_io.report import ImportReport
from kb.services.content_io.schema import Problem, ThemeRecord, validate

T = TypeVar("T")
Progress = Callable[[list[T], str], Iterable[T]]


def no_progress(items: list[T], label: str) -> Iterable[T]:
    """The default progress reporter: none."""
    return items


@dataclass
class Candidate:
    """A file (or a theme in ``themes.yml``) that passed the schema, waiting to be written."""

    path: Path
    slug: str
    record: dict[str, Any]
    parsed: frontmatter.ParsedYaml | frontmatter.LineMap  # anything with line_for(loc)
    line: int = 1
    position: int = 0
    body_text: str | None = None  # an entry's to_plain_text(body), derived when its file was read


class Reader:
    """The files under ``root``, read and checked; problems are collected in ``self.report``.

    ``self.pool`` is the :class:`.reading.Workers` the importer opens for the length of a run.
    """

    def __init__(self, root: Path, progress: Progress):
        self.root = root
        self.pool = reading.Workers(0)
        self.paths: dict[str, list[Path]] = {}
        self.progress = progress
        self.report = ImportReport()

    # -- reading ---------------------------------------------------------------------------

    def fail(self, path: Path, line: int, message: str) -> None:
        self.report.errors.append(f"{path}:{line}: {message}")

    def fail_all(self, path: Path, parsed: frontmatter.ParsedYaml | frontmatter.LineMap,
                 problems: list[Problem]) -> None:
        for problem in problems:
            self.fail(path, parsed.line_for(problem.loc), problem.message)

    def read_markdown(self, folder: str, label: str) -> list[Candidate]:
        """The valid files of ``folder`` (``sites`` or ``entries``), read by :mod:`.reading`; the
        others are reported."""
        paths = self.paths[folder]
        candidates = []
        # The progress bar moves as each file's result arrives (in order) from the readers.
        results = self.pool.read(paths, self.root, folder)
        try:
            for _ in self.progress(paths, label):
                read = next(results)
                for line, message in read.errors:
                    self.fail(read.path, line, message)
                if read.record is not None:
                    candidates.append(Candidate(read.path, read.slug, read.record, read.lines,
                                                 body_text=read.body_text))
        finally:
            results.close()
        return candidates

    def read_themes(self) -> list[Candidate]:
        path = self.root / "themes.yml"
        if not (path.exists() or path.is_symlink()):
            return []
        try:
            parsed = frontmatter.parse_yaml(frontmatter.read_text(path, self.root))
        except frontmatter.ContentFileError as exc:
            self.fail(path, exc.line, exc.message)
            return []
        if not isinstance(parsed.data, list):
            self.fail(path, 1, "themes.yml must be a list of themes ('- slug: …')")
            return []
        candidates, problems, seen = [], [], set()
        for index, item in enumerate(parsed.data):
            validated, item_problems = validate(ThemeRecord, item)
            problems += [Problem((index, *p.loc), f"theme {index + 1}: {p.message}") for p in item_problems]
            if validated is not None:
                if validated.slug in seen:
                    problems.append(Problem((index, "slug"), f"theme {index + 1}: slug {validated.slug!r} is used twice"))
                seen.add(validated.slug)
                candidates.append(Candidate(path, validated.slug, validated.model_dump(mode="json", exclude_none=True), parsed,
                                             line=parsed.line_for((index,)), position=index))
        if problems:
            self.fail_all(path, parsed, problems)
            return []
        return candidates

    def markdown_files(self, folder: str) -> list[Path]:
        directory = self.root / folder
        if not directory.is_dir():
            return []
        if not directory.resolve().is_relative_to(self.root.resolve()):
            self.fail(directory, 1, f"resolves to {directory.resolve()}, outside {self.root}: refused")
            return []
        # Links and other non-regular files are kept here, to be refused with a message when read.
        try:
            return sorted(p for p in directory.iterdir() if p.suffix == ".md" and not p.is_dir())
        except OSError as exc:
            self.fail(directory, 1, f"cannot be read: {exc.strerror}")
            return []

    # -- checking references ---------------------------------------------------------------

    def entry_reference_problems(
        self, candidate: Candidate, sites: set[str], themes: set[str], entries: set[str]
    ) -> list[Problem]:
        record, problems = candidate.record, []
        if record.get("site") and record["site"] not in sites:
            problems.append(Problem(("site",), f"site: there is no site {record['site']!r}"))
        for i, slug in enumerate(record.get("other_sites", [])):
            if slug not in sites:
                problems.append(Problem(("other_sites", i), f"other_sites.{i}: there is no site {slug!r}"))
        for i, tag in enumerate(record["themes"]):
            if tag["theme"] not in themes:
                problems.append(Problem(("themes", i, "theme"), f"themes.{i}.theme: there is no theme {tag['theme']!r}"))
        for i, link in enumerate(record.get("links", [])):
            if link["entry"] == candidate.slug:
                problems.append(Problem(("links", i, "entry"), f"links.{i}.entry: an entry cannot link to itself"))
            elif link["entry"] not in entries:
                problems.append(Problem(("links", i, "entry"), f"links.{i}.entry: there is no entry {link['entry']!r}"))
        return problems
