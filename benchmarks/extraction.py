"""Extraction benchmark (issue #12): step 1 over the corpus of real page formats, scored against its truth.

Every page in `tests/fixtures/real/` has a truth file `<id>.truth.json` (format below). Each page is
served, with any extra responses it needs (per-item option payloads...), by an in-memory transport and
run through the real `extract_store` — fetch, decoding, parsing, per-item requests — so the score is the
product's, not a shortcut's. It prints, per source: item precision / recall / F1 (name with entities
decoded + price to the cent), categories found / expected, option groups found / exact, junk items, time
and memory per page, plus a ~3 MB page built by `benchmarks/large_page.py` (target: < 2 s, < 200 MB).

Time and memory are measured honestly, in two passes: the first, untraced, gives the wall time and the
process's RSS high-water mark (VmHWM, reset per page through /proc/self/clear_refs; where that is not
possible, the process's lifetime peak ru_maxrss, said so), which counts what lxml, selectolax and zlib
allocate in C; the second gives the Python-heap peak (tracemalloc), which does not, and slows the run.

    python -m benchmarks.extraction [--only ID ...] [--large-mb 3] [--json]

Truth file (`tests/fixtures/real/SOURCES.md` says where each page's structure and facts come from):

    {
      "page": "deliveroo-menu.html",             # the page's bytes, as served
      "url": "https://deliveroo.co.uk/menu/...",  # the URL it is served at (its canonical URL)
      "content_type": "text/html; charset=utf-8", # optional; served as the Content-Type header
      "content_encoding": "gzip",                 # optional; the page is served compressed so (or deflate)
      "format": "deliveroo", "strategy": "next_data",  # expected MenuSource (optional)
      "categories": ["Mains", "Sides"],           # expected category names (their count is checked)
      "items": [{"name": "Butter Chicken", "price": "12.50", "categories": ["Mains"]}],
                                                  # a dish listed in two categories is expected in both
      "option_groups": [                          # exact: name, min, max (null: no limit), options
        {"name": "Choose a drink", "min": 1, "max": 1, "items": ["Butter Chicken"],
         "options": [{"name": "Coke", "price": "0.00"}]}],
      "responses": {"https://.../item/1": {"file": "x.json", "content_type": "application/json"},
                    "https://.../api": [{"file": "a.json", "json": {"id": "a"}}]},  # by JSON body
      "branding": {"cover_image_url": "https://..."}, "contact": {"phone": "..."}  # optional, exact
      "currency": "EUR"                           # optional, exact: the menu's currency
    }
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import gzip
import json
import re
import resource
import sys
import time
import tracemalloc
import unicodedata
import zlib
from collections import Counter
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from benchmarks.large_page import LARGE_ID, large_page
from yolobatch.domain.extraction import ExtractionResult
from yolobatch.domain.menu import Menu, OptionSet
from yolobatch.integrations.extraction import UrlGuard, extract_store

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "real"


@dataclass
class PageScore:
    id: str
    format: str
    strategy: str
    expected_strategy: str | None
    items_expected: int
    items_found: int
    items_matched: int
    precision: float
    recall: float
    f1: float
    categories_expected: int
    categories_found: int
    categories_matched: int
    option_groups_expected: int
    option_groups_exact: int
    junk_items: list[str]
    missing_items: list[str]
    option_group_errors: list[str]
    field_errors: list[str]
    seconds: float
    peak_mb: float
    page_kb: float
    rss_hwm_mb: float = 0.0  # the process's RSS high-water mark during the page (see the module doc)
    rss_before_mb: float = 0.0  # RSS when the page started: the interpreter and libraries
    warnings: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """The issue's bar: F1 ≥ 0.97, the right categories, option groups exact, no junk."""
        return (
            self.f1 >= 0.97
            and self.categories_found == self.categories_expected
            and self.option_groups_exact == self.option_groups_expected
            and not self.junk_items
            and not self.field_errors
            and (self.expected_strategy is None or self.expected_strategy == self.strategy)
        )


def norm(name: str) -> str:
    """Names compare with Unicode composed, case and inner spaces folded. Entities are not decoded here:
    truth files hold names as a person reads them, so an extractor that leaves `&amp;` in loses the item."""
    text = unicodedata.normalize("NFKC", name)
    return re.sub(r"\s+", " ", text).strip().casefold()


def cents(price: object) -> Decimal:
    return Decimal(str(price)).quantize(Decimal("0.01"))


def load_truths(only: list[str] | None = None) -> list[tuple[str, dict[str, Any]]]:
    truths = []
    for path in sorted(CORPUS.glob("*.truth.json")):
        page_id = path.name.removesuffix(".truth.json")
        if only and page_id not in only:
            continue
        truths.append((page_id, json.loads(path.read_text(encoding="utf-8"))))
    return truths


def _encoded(body: bytes, coding: str | None) -> bytes:
    if coding == "gzip":
        return gzip.compress(body)
    if coding == "deflate":
        return zlib.compress(body)
    return body


def page_bytes(truth: dict[str, Any]) -> bytes:
    """A corpus file, or a page built in memory (the large one: `_body`)."""
    return truth["_body"] if "_body" in truth else (CORPUS / truth["page"]).read_bytes()


def _transport(truth: dict[str, Any]) -> httpx.MockTransport:
    coding = truth.get("content_encoding")
    page = {
        "body": _encoded(page_bytes(truth), coding),
        "content_type": truth.get("content_type", "text/html; charset=utf-8"),
        "content_encoding": coding,
    }
    routes: dict[str, list[dict[str, Any]]] = {truth["url"]: [page]}
    for url, spec in truth.get("responses", {}).items():
        # One spec per URL, or several told apart by what their JSON request body contains.
        routes[url] = spec if isinstance(spec, list) else [spec]

    def handler(request: httpx.Request) -> httpx.Response:
        # Headers the page's own host saw (Host, method) select nothing here: a URL (and body) is a route.
        for spec in routes.get(str(request.url), []):
            if "json" in spec:
                try:
                    body = json.loads(request.content or b"null")
                except ValueError:
                    continue
                if not isinstance(body, dict) or any(body.get(k) != v for k, v in spec["json"].items()):
                    continue
            content = spec["body"] if "body" in spec else (CORPUS / spec["file"]).read_bytes()
            headers = {"content-type": spec.get("content_type", "application/json")}
            if spec.get("content_encoding"):
                headers["content-encoding"] = spec["content_encoding"]
            # A stream, not `content=`: httpx would read and decode that eagerly, skipping the fetch's own
            # bounded decoding that real responses go through.
            return httpx.Response(200, stream=httpx.ByteStream(content), headers=headers)
        return httpx.Response(404, text="not in the corpus")

    return httpx.MockTransport(handler)


async def extract_page(truth: dict[str, Any]) -> ExtractionResult:
    urls = [truth["url"], *truth.get("responses", {})]
    hosts = {urlsplit(url).hostname or "" for url in urls}
    # The corpus is served in memory: its hosts are allowed by name, so no DNS is asked.
    guard = UrlGuard(allowed_hosts=frozenset(hosts))
    async with httpx.AsyncClient(transport=_transport(truth)) as http:
        return await extract_store(truth["url"], http=http, guard=guard)


def _group_signature(group: OptionSet) -> tuple[str, int, int | None, tuple[tuple[str, Decimal], ...]]:
    options = tuple(sorted((norm(o.name), cents(o.price)) for o in group.items))
    return (norm(group.display_name or group.name), group.min_selections, group.max_selections, options)


def _score_option_groups(menu: Menu | None, expected: list[dict[str, Any]]) -> tuple[int, list[str]]:
    if menu is None:
        return 0, [f"no menu: {len(expected)} groups missing"] if expected else []
    by_name = {group.name: group for group in menu.option_sets}
    items_by_name: dict[str, list] = {}
    for item in menu.items():
        items_by_name.setdefault(norm(item.name), []).append(item)
    exact, errors = 0, []
    for want in expected:
        options = tuple(sorted((norm(o["name"]), cents(o.get("price", 0))) for o in want["options"]))
        ok = True
        for item_name in want.get("items") or [None]:
            if item_name is None:
                candidates = list(menu.option_sets)
            else:
                carriers = items_by_name.get(norm(item_name), [])
                if not carriers:
                    errors.append(f"{want['name']!r}: item {item_name!r} not found")
                    ok = False
                    continue
                candidates = [by_name[n] for n in carriers[0].option_sets if n in by_name]
            match = [g for g in candidates if _group_signature(g)[0] == norm(want["name"])]
            if not match:
                errors.append(f"{want['name']!r} not on {item_name!r}")
                ok = False
                continue
            name, low, high, got_options = _group_signature(match[0])
            # "No limit" (a platform's max 0, or none given) is any maximum that allows every option.
            high_ok = high >= len(options) if want.get("max") is None else high == want["max"]
            if low != want.get("min", 0) or not high_ok or got_options != options:
                errors.append(
                    f"{want['name']!r} on {item_name!r}: got min {low} max {high} {len(got_options)} options,"
                    f" want min {want.get('min', 0)} max {want.get('max')} {len(options)} options"
                )
                ok = False
        exact += ok
    return exact, errors


def _field_errors(result: ExtractionResult, truth: dict[str, Any]) -> list[str]:
    errors = []
    for section in ("branding", "contact"):
        for key, want in truth.get(section, {}).items():
            got = getattr(getattr(result, section), key)
            if got != want:
                errors.append(f"{section}.{key}: got {got!r}, want {want!r}")
    # A price read right in the wrong currency is a wrong price: optional, for pages whose state says it.
    if "currency" in truth:
        got_currency = result.menu.currency if result.menu is not None else None
        if got_currency != truth["currency"]:
            errors.append(f"currency: got {got_currency!r}, want {truth['currency']!r}")
    return errors


def score(
    page_id: str, truth: dict[str, Any], result: ExtractionResult, seconds: float, peak: int
) -> PageScore:
    menu = result.menu
    found = Counter((norm(i.name), cents(i.price)) for i in (menu.items() if menu else []))
    expected: Counter[tuple[str, Decimal]] = Counter()
    for i in truth["items"]:
        expected[(norm(i["name"]), cents(i["price"]))] += max(len(i.get("categories") or []), 1)
    matched = sum((found & expected).values())
    n_found, n_expected = sum(found.values()), sum(expected.values())
    precision = matched / n_found if n_found else 0.0
    recall = matched / n_expected if n_expected else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    expected_names = {name for name, _ in expected}
    junk = sorted({name for name, _ in found if name not in expected_names})
    missing = sorted(f"{n} {p}" for (n, p) in (expected - found).elements())
    got_categories = [norm(c.name) for c in (menu.categories if menu else [])]
    want_categories = [norm(c) for c in truth["categories"]]
    groups_exact, group_errors = _score_option_groups(menu, truth.get("option_groups", []))
    return PageScore(
        id=page_id,
        format=truth.get("format", "?"),
        strategy=result.source,
        expected_strategy=truth.get("strategy"),
        items_expected=n_expected,
        items_found=n_found,
        items_matched=matched,
        precision=round(precision, 4),
        recall=round(recall, 4),
        f1=round(f1, 4),
        categories_expected=len(want_categories),
        categories_found=len(got_categories),
        categories_matched=len(set(want_categories) & set(got_categories)),
        option_groups_expected=len(truth.get("option_groups", [])),
        option_groups_exact=groups_exact,
        junk_items=junk,
        missing_items=missing,
        option_group_errors=group_errors,
        field_errors=_field_errors(result, truth),
        seconds=round(seconds, 4),
        peak_mb=round(peak / 1e6, 1),
        page_kb=round(len(page_bytes(truth)) / 1024, 1),
        warnings=result.warning_codes(),
    )


def _status_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _reset_rss_peak() -> bool:
    """Linux: writing 5 to clear_refs resets VmHWM to the current RSS, so each page gets its own peak."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _rss_peak_mb(reset: bool) -> float:
    hwm = _status_mb("VmHWM") if reset else None
    # ru_maxrss is in KiB on Linux: the lifetime peak, an upper bound when VmHWM could not be reset.
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def run_page(page_id: str, truth: dict[str, Any]) -> PageScore:
    gc.collect()
    rss_before = _status_mb("VmRSS") or 0.0
    reset = _reset_rss_peak()
    started = time.perf_counter()
    result = await extract_page(truth)
    seconds = time.perf_counter() - started
    rss_peak = _rss_peak_mb(reset)
    del result
    gc.collect()
    tracemalloc.start()
    try:
        result = await extract_page(truth)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    page = score(page_id, truth, result, seconds, peak)
    page.rss_hwm_mb, page.rss_before_mb = round(rss_peak, 1), round(rss_before, 1)
    return page


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", help="page ids (file names without .truth.json)")
    parser.add_argument("--json", action="store_true", help="one JSON object on the last line")
    parser.add_argument(
        "--large-mb", type=float, default=3.0, help=f"size of the built page {LARGE_ID} (0: leave it out)"
    )
    args = parser.parse_args(argv)
    truths = load_truths(args.only)
    if args.large_mb > 0 and (not args.only or LARGE_ID in args.only):
        body, truth = large_page(int(args.large_mb * 1_000_000))
        truths.append((LARGE_ID, truth | {"_body": body}))
    scores = [asyncio.run(run_page(page_id, truth)) for page_id, truth in truths]
    widths = {"P": 5, "R": 5, "F1": 5, "cats": 7, "opts": 7, "junk": 4, "s": 6, "heapMB": 6, "rssMB": 6}
    print(f"{'source':34} " + " ".join(f"{c:>{w}}" for c, w in widths.items()) + " ok")
    for s in scores:
        print(
            f"{s.id[:34]:34} {s.precision:5.2f} {s.recall:5.2f} {s.f1:5.2f} "
            f"{s.categories_found:>3}/{s.categories_expected:<3} "
            f"{s.option_groups_exact:>3}/{s.option_groups_expected:<3} {len(s.junk_items):4} "
            f"{s.seconds:6.3f} {s.peak_mb:6.1f} {s.rss_hwm_mb:6.1f} {'yes' if s.passed else 'NO'}"
        )
        for problem in s.missing_items[:5] + s.junk_items[:5] + s.option_group_errors[:5] + s.field_errors:
            print(f"    {problem}")
    passed = sum(s.passed for s in scores)
    print(f"{passed} of {len(scores)} sources meet the bar (F1 ≥ 0.97, categories, option groups, no junk)")
    baseline = scores[0].rss_before_mb if scores else 0
    print(
        "s: wall time (untraced); heapMB: Python-heap peak (tracemalloc, misses C allocations); rssMB: the "
        f"process's RSS high-water mark during the page (RSS before: {baseline} MB: interpreter, libraries)"
    )
    if args.json:
        print(json.dumps({"sources": [asdict(s) | {"passed": s.passed} for s in scores]}))
    return 0 if passed == len(scores) else 1


if __name__ == "__main__":
    sys.exit(main())
