"""Branding: logo candidates ranked by how much each kind of reference tends to really be the logo,
the best readable logo fetched (through the same guard) and turned into colours and a theme.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import httpx
from selectolax.lexbor import LexborNode as Node

from yolobatch.domain.extraction import Branding, ExtractionWarning, LogoCandidate
from yolobatch.integrations.extraction.details import business_node
from yolobatch.integrations.extraction.document import Document, first_text
from yolobatch.integrations.extraction.errors import ExtractionError
from yolobatch.integrations.extraction.fetch import fetch_image
from yolobatch.integrations.extraction.guard import UrlGuard
from yolobatch.integrations.extraction.palette import HEX_PATTERN, Palette, palette_from_image
from yolobatch.integrations.extraction.platforms.facts import platform_facts

# How often each kind of reference is the restaurant's real logo, from experience with store pages.
CONFIDENCE = {
    "platform_logo": 0.95,  # a delivery platform's own logo field for the store
    "jsonld_logo": 0.95,
    "header_logo_img": 0.85,
    "logo_img": 0.8,
    "apple_touch_icon": 0.6,
    "jsonld_image": 0.5,
    "header_img": 0.45,
    "icon": 0.4,
    "platform_icon": 0.1,  # a delivery platform's page: its icons are the platform's, not the store's
    "og_image": 0.3,  # usually a food photo or a cover, only sometimes the logo
}
HEADER_CLASSES = frozenset({"header", "site-header", "page-header", "navbar", "masthead", "topbar"})
# A logo at or below this is a guess (a dish photo, a cover, a generic image): warned about.
LOW_CONFIDENCE = 0.5
MAX_LOGO_ATTEMPTS = 3
IMAGE_MAX_BYTES = 5_000_000


def logo_candidates(doc: Document) -> list[LogoCandidate]:
    found: dict[str, LogoCandidate] = {}

    def add(href: object, source: str) -> None:
        url = doc.absolute(href)
        if url is None:
            return
        candidate = LogoCandidate(url=url, source=source, confidence=CONFIDENCE[source])
        if url not in found or found[url].confidence < candidate.confidence:
            found[url] = candidate

    facts = platform_facts(doc)
    if facts is not None and facts.logo_url:
        add(facts.logo_url, "platform_logo")
    business = business_node(doc)
    if business is not None:
        add(first_text(business.get("logo")), "jsonld_logo")
        add(first_text(business.get("image")), "jsonld_image")
    for node in doc.nodes("Organization"):
        add(first_text(node.get("logo")), "jsonld_logo")
    for img in doc.tree.css("img"):
        attrs = img.attributes
        hint = " ".join(str(attrs.get(k) or "") for k in ("class", "id", "alt", "src")).lower()
        in_header = _in_header(img)
        if not in_header and _links_to_another_site(img, doc):
            # An "order on Takeaway" / "powered by" badge: another company's logo. A header's logo is the
            # site's own even when it links to the brand's main site.
            continue
        if "logo" in hint:
            add(attrs.get("src") or attrs.get("data-src"), "header_logo_img" if in_header else "logo_img")
        elif in_header:
            add(attrs.get("src") or attrs.get("data-src"), "header_img")
    for link in doc.tree.css("link[rel][href]"):
        rel = (link.attributes.get("rel") or "").lower().split()
        if "apple-touch-icon" in rel or "apple-touch-icon-precomposed" in rel:
            add(link.attributes.get("href"), "platform_icon" if facts else "apple_touch_icon")
        elif "icon" in rel:
            add(link.attributes.get("href"), "platform_icon" if facts else "icon")
    add(_meta(doc, "og:image"), "og_image")
    return sorted(found.values(), key=lambda c: c.confidence, reverse=True)


def favicon_url(doc: Document) -> str | None:
    for link in doc.tree.css("link[rel][href]"):
        if "icon" in (link.attributes.get("rel") or "").lower().split():
            return doc.absolute(link.attributes.get("href"))
    return None


def cover_image_url(doc: Document) -> str | None:
    """The platform's hero image, else og:image, else the largest (by declared size) image in a
    header/hero/banner."""
    facts = platform_facts(doc)
    if facts is not None and facts.cover_image_url:
        return facts.cover_image_url
    og = doc.absolute(_meta(doc, "og:image"))
    if og:
        return og
    best: tuple[int, str] | None = None
    for img in doc.tree.css("header img, [class*=hero] img, [class*=banner] img, [class*=cover] img"):
        url = doc.absolute(img.attributes.get("src"))
        if url is None or "logo" in url.lower():
            continue
        area = _int(img.attributes.get("width")) * _int(img.attributes.get("height"))
        if best is None or area > best[0]:
            best = (area, url)
    return best[1] if best else None


def theme_colour(doc: Document) -> str | None:
    meta = doc.tree.css_first('meta[name="theme-color"]')
    value = (meta.attributes.get("content") or "").strip() if meta is not None else ""
    return value.upper() if HEX_PATTERN.match(value) else None


async def extract_branding(
    doc: Document, *, http: httpx.AsyncClient, guard: UrlGuard, timeout: float
) -> tuple[Branding, list[ExtractionWarning]]:
    warnings: list[ExtractionWarning] = []
    candidates = logo_candidates(doc)
    branding = Branding(
        logo_candidates=candidates, favicon_url=favicon_url(doc), cover_image_url=cover_image_url(doc)
    )
    if not candidates:
        warnings.append(ExtractionWarning(code="no_logo", message="No logo candidate on the page"))
    palette: Palette | None = None
    for candidate in candidates[:MAX_LOGO_ATTEMPTS]:
        palette = await _palette_of(candidate.url, http, guard, timeout, warnings)
        if palette is not None:
            branding.logo_url, branding.logo_confidence = candidate.url, candidate.confidence
            break
    if branding.logo_url is None and candidates:
        # Nothing readable: still offer the best guess to the human reviewing the config.
        branding.logo_url, branding.logo_confidence = candidates[0].url, candidates[0].confidence
    if branding.logo_url is not None and branding.logo_confidence <= LOW_CONFIDENCE:
        warnings.append(
            ExtractionWarning(
                code="low_confidence_logo",
                message=f"The logo {branding.logo_url} is a guess (confidence {branding.logo_confidence})",
            )
        )
    if palette is not None:
        branding.primary_color, branding.secondary_color, branding.theme = (
            palette.primary,
            palette.secondary,
            palette.theme,
        )
    else:
        branding.primary_color = theme_colour(doc)
        warnings.append(
            ExtractionWarning(
                code="no_colours",
                message="No brand colours from a logo"
                + (
                    f"; using the page's theme-color {branding.primary_color}"
                    if branding.primary_color
                    else ""
                ),
            )
        )
    return branding, warnings


async def _palette_of(
    url: str, http: httpx.AsyncClient, guard: UrlGuard, timeout: float, warnings: list[ExtractionWarning]
) -> Palette | None:
    try:
        image = await fetch_image(url, http=http, guard=guard, max_bytes=IMAGE_MAX_BYTES, timeout=timeout)
    except ExtractionError as exc:
        warnings.append(ExtractionWarning(code="logo_unreadable", message=f"{exc.code}: {exc.message}"))
        return None
    # Decoding and quantising is CPU work; keep it off the event loop.
    palette = await asyncio.to_thread(palette_from_image, image.body)
    if palette is None:
        warnings.append(ExtractionWarning(code="logo_unreadable", message=f"{url} is not a usable image"))
    return palette


def _meta(doc: Document, prop: str) -> str | None:
    meta = doc.tree.css_first(f'meta[property="{prop}"]') or doc.tree.css_first(f'meta[name="{prop}"]')
    return meta.attributes.get("content") if meta is not None else None


def _links_to_another_site(node: Node, doc: Document) -> bool:
    parent = node.parent
    while parent is not None and parent.tag != "a":
        parent = parent.parent
    target = doc.absolute(parent.attributes.get("href")) if parent is not None else None
    if target is None:
        return False
    return _site(urlsplit(target).hostname) != _site(urlsplit(doc.url).hostname)


def _site(host: str | None) -> str:
    """The registrable part of a host, roughly: "www.tomomons.be" → "tomomons.be", "a.b.co.uk" → "b.co.uk"."""
    labels = (host or "").lower().split(".")
    keep = 3 if len(labels) >= 3 and len(labels[-1]) == 2 and len(labels[-2]) <= 3 else 2
    return ".".join(labels[-keep:])


def _in_header(node: Node) -> bool:
    parent = node.parent
    while parent is not None:
        classes = set((parent.attributes.get("class") or "").lower().split())
        if parent.tag == "header" or classes & HEADER_CLASSES:
            return True
        parent = parent.parent
    return False


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0
