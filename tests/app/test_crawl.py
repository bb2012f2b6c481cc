"""Follow every link on the site from the home page: nothing answers 5xx and no link is broken."""

from __future__ import annotations

from collections import deque
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup

MAX_PAGES = 3000


def crawl(client, start: str = "/") -> dict[str, int]:
    """Status of every same-site URL reachable from ``start`` through <a href> and <form method=get>."""
    seen: dict[str, int] = {}
    queue = deque([start])
    while queue and len(seen) < MAX_PAGES:
        url = queue.popleft()
        if url in seen:
            continue
        response = client.get(url)
        seen[url] = response.status_code
        if not response.mimetype == "text/html":
            response.close()
            continue
        page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
        for anchor in page.find_all("a", href=True):
            target = urljoin(url, anchor["href"])
            parts = urlsplit(target)
            if parts.scheme in ("", "http") and parts.netloc in ("", "localhost") and parts.path.startswith("/"):
                link = parts.path + (f"?{parts.query}" if parts.query else "")
                if link not in seen:
                    queue.append(link)
    return seen


def test_no_link_on_the_site_answers_5xx_or_is_broken(content_client):
    statuses = crawl(content_client)
    assert len(statuses) > 150  # home, every entry, site, theme, and the browse pages they link to
    failures = {url: status for url, status in statuses.items() if status != 200}
    assert failures == {}
    assert any(url.startswith("/entries/") for url in statuses)
    assert any(url.startswith("/search?") and "page=2" in url for url in statuses)
