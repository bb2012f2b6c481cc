"""Helpers for reading pages in app tests."""

from __future__ import annotations

from bs4 import BeautifulSoup


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
