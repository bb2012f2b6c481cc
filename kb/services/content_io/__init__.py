"""Import and export of ``content/`` (Markdown with YAML front matter, and ``themes.yml``).

``content/`` is an import source and an export target; the database is the record: import never
undoes a change made on the web (:mod:`.rule`). See ``docs/content-format.md`` for the format and
the rule, and :mod:`.importer` / :mod:`.exporter` for the contracts.
"""

from kb.services.content_io.exporter import ExportReport, export_content
from kb.services.content_io.importer import ImportReport, import_content

__all__ = ["ExportReport", "ImportReport", "export_content", "import_content"]
