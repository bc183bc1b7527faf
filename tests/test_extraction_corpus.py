"""Step 1 on the corpus of real page formats (tests/fixtures/real, sources in SOURCES.md).

Each page goes through the real `extract_store` (served in memory) and must meet the issue's bar: item F1
≥ 0.97 (name with entities decoded + price to the cent), the right categories, option groups exact where
the source has them, no junk items, and the expected strategy.
"""

from __future__ import annotations

import pytest
from benchmarks.extraction import load_truths, run_page

TRUTHS = load_truths()


@pytest.mark.parametrize(("page_id", "truth"), TRUTHS, ids=[page_id for page_id, _ in TRUTHS])
async def test_real_format_meets_the_bar(page_id: str, truth: dict) -> None:
    score = await run_page(page_id, truth)
    assert score.passed, (
        f"{page_id}: F1 {score.f1} (P {score.precision} R {score.recall}), "
        f"categories {score.categories_found}/{score.categories_expected}, "
        f"option groups {score.option_groups_exact}/{score.option_groups_expected}, "
        f"strategy {score.strategy} (want {score.expected_strategy}); missing {score.missing_items[:8]}; "
        f"junk {score.junk_items[:8]}; {score.option_group_errors[:5]}; {score.field_errors}"
    )


def test_corpus_covers_the_formats_the_issue_names() -> None:
    formats = {truth.get("format") for _, truth in TRUTHS}
    assert len(TRUTHS) >= 9, f"only {len(TRUTHS)} real pages in the corpus"
    assert len(formats) >= 9, formats
