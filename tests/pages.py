"""Helpers for reading pages in app tests."""

from __future__ import annotations

from bs4 import BeautifulSoup
from werkzeug.datastructures import MultiDict


def get_page(client, url: str, status: int = 200) -> BeautifulSoup:
    """GET ``url``, assert the status, and return the parsed page."""
    response = client.get(url)
    assert response.status_code == status, f"{url} answered {response.status_code}"
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def text_of(node) -> str:  # noqa: ANN001
    """An element's visible text with whitespace collapsed."""
    return " ".join(node.get_text(" ").split())


def main_text(page: BeautifulSoup) -> str:
    return text_of(page.find("main"))


def entry_links(page: BeautifulSoup) -> list[str]:
    """Slugs of the entries a page links to, in order, within <main>."""
    return [a["href"].rsplit("/", 1)[1] for a in page.find("main").select('a[href^="/entries/"]')]


def form_values(html: str, selector: str = "form.kb-editor") -> MultiDict:
    """The name/value pairs a browser would send for the form (without any button)."""
    form = BeautifulSoup(html, "html.parser").select_one(selector)
    assert form is not None, f"no {selector} on the page"
    values = MultiDict()
    for field in form.select("input, textarea, select"):
        name = field.get("name")
        if not name or field.name == "button":
            continue
        if field.name == "textarea":
            text = field.string or ""
            values.add(name, text[1:] if text.startswith("\n") else text)  # as HTML drops it
        elif field.name == "select":
            chosen = field.select_one("option[selected]") or field.select_one("option")
            values.add(name, chosen.get("value", "") if chosen else "")
        elif field.get("type") in ("checkbox", "radio"):
            if field.has_attr("checked"):
                values.add(name, field.get("value", "on"))
        else:
            values.add(name, field.get("value", ""))
    return values
