"""/glossary: the acronyms and terms search treats as the same thing."""

from __future__ import annotations

from flask import Blueprint, render_template

from kb.services import glossary

bp = Blueprint("glossary", __name__)


@bp.get("/glossary")
def index():
    """Every glossary term with its expansion, other forms and definition, A to Z."""
    return render_template("glossary/index.html", groups=glossary.by_letter())
