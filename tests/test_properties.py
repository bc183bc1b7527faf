"""Property-based tests (hypothesis): the batch input parsers and the step-6 plan.

Parsers: whatever text or bytes arrive, the only failure is `BatchInputError` (anything else is a 500 in
the API and a traceback in the CLI), and valid rows come back exactly as written, in order.
Plan: the dependency graph is acyclic and its order topological; the skip rules only read what the
workflow gives them, never mutate it, and never skip a sub-step because a dependency *succeeded*; the
critical-path priority is a total order consistent with the graph.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import FUZZ_BUDGET
from yolobatch.devtools.demo import demo_batch
from yolobatch.domain.batch_input import (
    CSV_FACTS,
    BatchInput,
    BatchInputError,
    parse_batch,
    parse_csv_batch,
    parse_upload,
)
from yolobatch.domain.config import RegistrationConfig
from yolobatch.domain.plan import (
    PLAN,
    SPECS,
    Outcome,
    SubStep,
    all_dependents,
    dependents,
    priority_key,
    remaining_path_seconds,
    skip_reason,
)

pytestmark = pytest.mark.reliability

# Modest: the whole file runs in well under a minute on the 2-core CI machine (YOLOBATCH_FUZZ_BUDGET
# multiplies it for a longer search).
FEW = settings(max_examples=150 * FUZZ_BUDGET, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MANY = settings(max_examples=300 * FUZZ_BUDGET, deadline=None, suppress_health_check=[HealthCheck.too_slow])

COLUMNS = [
    "name",
    "menu",
    *CSV_FACTS,
    "account.email",
    "account.password",
    "website.primaryColor",
    "website.cuisines",
    "restaurant.openingHours",
    "stepsEnabled.menuImport",
    "bogus",
    "a.b.c",
]


# -- parsers: only the documented error -----------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
restaurant_like = st.dictionaries(
    st.sampled_from(
        ["name", "storeUrl", "city", "email", "phone", "address", "companyNumber", "config", "menu", "x"]
    ),
    json_values | st.sampled_from(["https://a.example/m", "a@b.example", "Jax", "", "\x00"]),
    max_size=6,
)
batch_like = st.one_of(
    st.lists(restaurant_like, max_size=4),
    st.fixed_dictionaries(
        {"restaurants": st.lists(restaurant_like, max_size=4)}, optional={"name": json_values}
    ),
    json_values,
)


READY = demo_batch(1)["restaurants"][0]


def leaf_paths(value: Any, path: tuple = ()) -> list[tuple]:
    if isinstance(value, dict):
        return [path] + [p for k, v in value.items() for p in leaf_paths(v, (*path, k))]
    if isinstance(value, list):
        return [path] + [p for i, v in enumerate(value) for p in leaf_paths(v, (*path, i))]
    return [path]


READY_PATHS = [p for p in leaf_paths(READY) if p]


@st.composite
def mutated_ready(draw) -> list[dict[str, Any]]:
    """A valid ready restaurant (config and menu) with one to three places replaced or removed: reaches the
    checks behind the model's own validation (the menu id, the onboarding user, ...)."""
    row = copy.deepcopy(READY)
    for path in draw(st.lists(st.sampled_from(READY_PATHS), min_size=1, max_size=3)):
        parent = row
        try:
            for part in path[:-1]:
                parent = parent[part]
            if draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = draw(json_values)
        except (KeyError, IndexError, TypeError):
            pass  # an earlier change removed this place
    return [row]


def only_batch_input_error(parse, *args: Any) -> BatchInput | None:
    try:
        return parse(*args)
    except BatchInputError as exc:
        assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)
        return None


@FEW
@given(st.text(max_size=300))
def test_json_parser_raises_only_its_own_error_for_any_text(text: str) -> None:
    only_batch_input_error(parse_batch, text)


@MANY
@given(batch_like | mutated_ready())
def test_json_parser_raises_only_its_own_error_for_any_json_shape(data: Any) -> None:
    result = only_batch_input_error(parse_batch, json.dumps(data))
    if result is not None:
        assert 1 <= len(result.restaurants) <= 4


cells = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=15
) | st.sampled_from(
    [
        '"',
        '""',
        '"a,b"',
        "\r",
        "\n",
        "\r\n",
        ",",
        "https://a.example/x",
        "a@b.example",
        "Monday 11:00-21:30",
        "#FFFFFF",
        "burgers;pizza",
        "=1+1",
    ]
)


@st.composite
def csv_like(draw) -> str:
    """Mostly CSV-shaped text: a header from real and bogus columns, then rows of awkward cells."""
    header = draw(st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=5))
    rows = draw(st.lists(st.lists(cells, min_size=0, max_size=len(header) + 1), max_size=4))
    separator = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    lines = [",".join(header)] + [",".join(row) for row in rows]
    return (
        draw(st.sampled_from(["", "\ufeff"])) + separator.join(lines) + draw(st.sampled_from(["", separator]))
    )


@MANY
@given(st.text(max_size=300) | csv_like())
def test_csv_parser_raises_only_its_own_error_for_any_text(text: str) -> None:
    only_batch_input_error(parse_csv_batch, text)


@FEW
@given(st.binary(max_size=300), st.sampled_from(["b.csv", "b.json", "b", "B.JSON"]))
def test_upload_parser_raises_only_its_own_error_for_any_bytes(raw: bytes, filename: str) -> None:
    only_batch_input_error(parse_upload, raw, filename, "title")


@FEW
@given(st.text(max_size=300).map(lambda t: t.encode("utf-8")), st.text(max_size=300))
def test_upload_parser_raises_only_its_own_error_for_any_utf8_file_and_title(raw: bytes, title: str) -> None:
    result = only_batch_input_error(parse_upload, raw, "b.csv", title)
    if result is not None:
        assert 1 <= len(result.name) <= 200


# -- parsers: valid rows round-trip ---------------------------------------------------------------------

# What staff type: any printable text, already trimmed (the CSV parser trims cells), never NUL.
words = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), min_size=1, max_size=40
)
trimmed = words.map(str.strip).filter(bool)
labels = st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=12)


@st.composite
def plain_rows(draw) -> list[dict[str, str]]:
    """1-8 distinct plain restaurants with valid URLs and emails and some optional facts."""
    count = draw(st.integers(1, 8))
    rows = []
    for index in range(count):
        row = {
            "name": draw(trimmed),
            # The index keeps rows distinct: identical rows are refused as duplicates.
            "storeUrl": f"https://{draw(labels)}.example/menu/{index}",
        }
        for field in ("city", "address", "phone"):
            if draw(st.booleans()):
                row[field] = draw(trimmed)
        if draw(st.booleans()):
            row["email"] = f"{draw(labels)}@{draw(labels)}.example"
        if draw(st.booleans()):
            row["companyNumber"] = draw(st.text(alphabet=string.digits, min_size=1, max_size=13))
        rows.append(row)
    return rows


def as_csv(rows: list[dict[str, str]], columns: list[str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def facts_of(row: dict[str, str]) -> dict[str, str]:
    keys = {"storeUrl": "store_url", "companyNumber": "company_number"}
    return {keys.get(k, k): v for k, v in row.items() if k != "name"}


@MANY
@given(plain_rows(), st.randoms())
def test_valid_csv_rows_come_back_exactly_in_order(rows: list[dict[str, str]], rng) -> None:
    columns = ["name", "storeUrl", "city", "address", "phone", "email", "companyNumber"]
    rng.shuffle(columns)
    batch = parse_csv_batch(as_csv(rows, columns), "round trip")
    assert [r.name for r in batch.restaurants] == [row["name"] for row in rows]
    assert [r.facts() for r in batch.restaurants] == [facts_of(row) for row in rows]


@MANY
@given(
    plain_rows(),
    st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), min_size=1, max_size=200),
)
def test_valid_json_rows_come_back_exactly_in_order(rows: list[dict[str, str]], name: str) -> None:
    batch = parse_batch(json.dumps({"name": name, "restaurants": rows}))
    assert batch.name == name
    assert [r.name for r in batch.restaurants] == [row["name"] for row in rows]
    assert [r.facts() for r in batch.restaurants] == [facts_of(row) for row in rows]


@MANY
@given(plain_rows(), st.data())
def test_every_bad_row_is_reported_and_only_those(rows: list[dict[str, str]], data) -> None:
    # No line breaks inside cells here: a CSV row's number is then its line number.
    rows = [{k: v.replace("\r", " ").replace("\n", " ").strip() or "x" for k, v in r.items()} for r in rows]
    bad = data.draw(st.sets(st.integers(0, len(rows) - 1), min_size=1))
    for index in bad:
        rows[index]["email"] = "not-an-email"
    columns = ["name", "storeUrl", "city", "address", "phone", "email", "companyNumber"]
    with pytest.raises(BatchInputError) as caught:
        parse_csv_batch(as_csv(rows, columns), "bad rows")
    reported = {int(p.split()[1]) for p in caught.value.problems}
    assert reported == {index + 2 for index in bad}  # the header is line 1
    assert all(": email:" in p for p in caught.value.problems)


# -- the step-6 plan ------------------------------------------------------------------------------------

ORDER = {spec.key: index for index, spec in enumerate(PLAN)}


def ancestors(key: SubStep) -> set[SubStep]:
    """Everything `key` needs, directly or not, computed from `needs` alone (independently of the module's
    own traversal). Terminates only if the graph is acyclic: a cycle overflows the stack."""
    found: set[SubStep] = set()
    for need in SPECS[key].needs:
        found |= {need, *ancestors(need)}
    return found


sub_steps = st.sampled_from(list(SubStep))


@MANY
@given(sub_steps)
def test_the_graph_is_acyclic_and_plan_order_is_topological(key: SubStep) -> None:
    above = ancestors(key)
    assert key not in above
    assert all(ORDER[need] < ORDER[key] for need in above)
    assert key not in all_dependents(key)


@MANY
@given(st.sets(sub_steps))
def test_a_failure_blocks_exactly_its_transitive_dependents(failed: set[SubStep]) -> None:
    """A failed sub-step makes only its dependents wait (requirement 6): everything else can still run."""
    blocked = {d for f in failed for d in all_dependents(f)}
    for spec in PLAN:
        waits = bool(ancestors(spec.key) & failed)
        assert (spec.key in blocked) is waits
        if spec.key not in blocked | failed:
            assert not set(spec.needs) & (blocked | failed)  # all it needs can settle
    for f in failed:
        assert all_dependents(f) == sorted(all_dependents(f), key=ORDER.__getitem__)  # plan order
        assert set(dependents(f)) <= set(all_dependents(f))


@MANY
@given(sub_steps, sub_steps)
def test_priority_is_a_total_order_that_follows_the_critical_path(a: SubStep, b: SubStep) -> None:
    assert 1 <= priority_key(a) <= 5
    # Lower key = more urgent: a longer remaining path never gets a less urgent key.
    if remaining_path_seconds(a) > remaining_path_seconds(b):
        assert priority_key(a) <= priority_key(b)
    if b in dependents(a):  # along every edge the remaining path strictly shrinks
        assert remaining_path_seconds(a) > remaining_path_seconds(b)
        assert priority_key(a) <= priority_key(b)
    longest = max(PLAN, key=lambda spec: remaining_path_seconds(spec.key)).key
    assert priority_key(longest) == 1


@st.composite
def configs(draw) -> dict[str, Any]:
    """A valid registration config (validated by the real model), as the wire JSON the workflow holds."""
    create_user = draw(st.booleans())
    data: dict[str, Any] = {
        "account": {
            "email": "owner@a.example",
            "password": "Str0ng-enough!",
            "registerNewUser": draw(st.booleans()),
        },
        "restaurant": {"name": "Jax"},
        "menu": {
            "selectedMenuId": draw(st.none() | st.just("menu-1")),
            "uploadImages": draw(st.booleans()),
            "addOptionSets": draw(st.booleans()),
            "addItemTags": draw(st.booleans()),
        },
        "onboarding": {
            "createOnboardingUser": create_user,
            "syncOnboardingRecord": draw(st.booleans()),
            **(
                {"userName": "Owner", "userEmail": "owner@a.example"}
                if create_user or draw(st.booleans())
                else {}
            ),
        },
        "stepsEnabled": draw(st.dictionaries(st.sampled_from([s.value for s in SubStep]), st.booleans())),
    }
    return RegistrationConfig.model_validate(data).to_wire()


def walk(config: dict[str, Any], decisions: dict[SubStep, str]) -> dict[SubStep, tuple[str, str | None]]:
    """Step 6 as the workflow runs it: sub-steps in plan order, each given the outcomes of exactly its
    needs. A sub-step in `decisions` fails when it runs; a person then skips it or marks it done."""
    outcomes: dict[SubStep, Outcome] = {}
    settled: dict[SubStep, tuple[str, str | None]] = {}
    for spec in PLAN:
        deps = {need: outcomes[need] for need in spec.needs}  # KeyError: a need not settled before
        reason = skip_reason(spec.key, config, deps)
        if reason is not None:
            status = "skipped"
        elif spec.key in decisions:
            status = "skipped" if decisions[spec.key] == "skip" else "completed"
        else:
            status = "completed"
        outcomes[spec.key] = Outcome(status, {})
        settled[spec.key] = (status, reason)
    return settled


decisions = st.dictionaries(sub_steps, st.sampled_from(["skip", "mark_done"]))


@MANY
@given(configs(), decisions)
def test_step_6_settles_every_sub_step_and_skips_only_for_a_reason(
    config: dict[str, Any], people: dict[SubStep, str]
) -> None:
    before = copy.deepcopy(config)
    settled = walk(config, people)
    assert config == before  # workflow code: the rules must not mutate what they are given
    assert set(settled) == set(SubStep)
    enabled = config.get("stepsEnabled", {})
    for key, (status, reason) in settled.items():
        assert (reason == "Disabled in config") is (enabled.get(key.value) is False)
        if reason is not None:
            assert status == "skipped" and reason.strip()
    # What a sub-step really needs succeeded wherever it ran (menu for option sets and tags, ...).
    for key, needed in [
        (SubStep.OPTION_SETS, SubStep.MENU_IMPORT),
        (SubStep.ITEM_TAGS, SubStep.MENU_IMPORT),
        (SubStep.WEBSITE_CONFIG, SubStep.CODE_GENERATION),
        (SubStep.SYNC_ONBOARDING_USER, SubStep.CREATE_ONBOARDING_USER),
    ]:
        if settled[key][1] is None:
            assert settled[needed][0] == "completed", (key, settled)


@MANY
@given(configs(), sub_steps, st.data())
def test_a_dependency_succeeding_is_never_a_reason_to_skip(
    config: dict[str, Any], key: SubStep, data
) -> None:
    """Monotone: if a sub-step runs with some needs skipped, it also runs with them all completed."""
    needs = SPECS[key].needs
    mixed = {need: Outcome(data.draw(st.sampled_from(["completed", "skipped"])), {}) for need in needs}
    completed = {need: Outcome("completed", {}) for need in needs}
    if skip_reason(key, config, mixed) is None:
        assert skip_reason(key, config, completed) is None
    # ...and the rule is a function of its inputs alone (the workflow replays it).
    assert skip_reason(key, config, mixed) == skip_reason(key, copy.deepcopy(config), dict(mixed))
