"""The editor's preview: the whole entry as its page will show it, rendered by the entry page's
own template (``entries/show.html``, its ``content`` block) so that the two can never differ —
the body goes through the same sanitising function, everything else through autoescaping.

Nothing is saved: the entry is a transient object (:func:`kb.services.preview.preview_entry`).
The entry page's workflow panel and related entries are left out (the preview has none).
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from jinja2 import Environment, nodes
from markupsafe import Markup

from kb.models import BCF_MEASURES, Entry, EntryType
from kb.services import preview
from kb.views.entries import body_html
from kb.views.entry_record import to_record

_TYPES = {member.value for member in EntryType}


def preview_html(form: Any, entry: Entry | None) -> Markup | None:
    """``form`` (an :class:`~kb.views.entry_form.EntryForm`) as the entry page would show it, or
    None while no type of entry is chosen (the page's layout depends on the type)."""
    record = to_record(form).record
    if record.get("type") not in _TYPES:
        return None
    shown = preview.preview_entry(record, slug=entry.slug if entry else form.address)
    template = current_app.jinja_env.get_template("entries/show.html")
    context: dict[str, Any] = {
        "entry": shown, "body_html": body_html(shown.body), "related": [], "similar": [],
        "bcf_measures": BCF_MEASURES, "actions": {}, "note_form": None, "return_form": None, "review": None,
        "preview": True,
    }
    current_app.update_template_context(context)
    context.update(_imported_names(current_app.jinja_env, "entries/show.html", context))
    return Markup("".join(template.blocks["content"](template.new_context(context))))


def _imported_names(env: Environment, name: str, context: dict[str, Any]) -> dict[str, Any]:
    """What the template's top-level ``{% from … import … %}`` and ``{% import … as … %}`` bring
    in: a block rendered on its own does not run them, so the preview runs them here."""
    source = env.loader.get_source(env, name)[0] if env.loader else ""
    found: dict[str, Any] = {}
    for node in env.parse(source).body:
        if isinstance(node, (nodes.FromImport, nodes.Import)) and isinstance(node.template, nodes.Const):
            imported = env.get_template(node.template.value)
            module = imported.make_module(context) if node.with_context else imported.module
            if isinstance(node, nodes.Import):
                found[node.target] = module
            else:
                for item in node.names:
                    original, alias = item if isinstance(item, tuple) else (item, item)
                    found[alias] = getattr(module, original)
    return found
