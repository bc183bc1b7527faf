"""Scoring registry candidates against what staff know about the restaurant.

The name score is `token_sort_ratio` on normalised names, taken over the legal name and every trading
name. `token_set_ratio` is deliberately not the main measure: it scores a subset as a perfect match, so
"BURGER SHACK LIMITED" would tie with "JAX BURGER SHACK LIMITED" for "Jax Burger Shack" and no search
could ever be unambiguous. It contributes a little, so that a legal name with one extra word ("... AUCKLAND
LIMITED") stays well above unrelated names.
"""

from __future__ import annotations

import re

from rapidfuzz import fuzz

from yolobatch.domain.company import (
    CompanyCandidate,
    MatchedOn,
    SearchTerms,
    clean_search_name,
    fold,
    street_search_terms,
)

# Words that say nothing about which business it is.
NOISE_WORDS = frozenset({"LIMITED", "LTD", "NZ", "THE", "PLC", "LLP", "CO"})
SORT_WEIGHT, SET_WEIGHT = 0.8, 0.2
# Address similarity below this is coincidence (shared words such as "STREET"); at 100 it adds the maximum.
ADDRESS_FLOOR, ADDRESS_BONUS = 60.0, 10.0
# A removed or dissolved company is rarely the one running a restaurant today.
INACTIVE_PENALTY = 15.0
ACTIVE_STATUSES = frozenset({"registered", "active"})
EVIDENCE = 80.0  # similarity from which a field counts as matched


def normalise_name(name: str) -> str:
    text = fold(name).upper().replace("&", " AND ")
    text = re.sub(r"\([^()]*\)", " ", text)  # "(2019)", "(NZ)"
    words = re.sub(r"[^A-Z0-9 ]+", " ", text).split()
    kept = [w for w in words if w not in NOISE_WORDS]
    return " ".join(kept or words)


def normalise_address(address: str) -> str:
    return " ".join(re.sub(r"[^A-Z0-9 ]+", " ", fold(address).upper()).split())


def name_similarity(wanted: str, candidate: str) -> float:
    a, b = normalise_name(wanted), normalise_name(candidate)
    if not a or not b:
        return 0.0
    return SORT_WEIGHT * fuzz.token_sort_ratio(a, b) + SET_WEIGHT * fuzz.token_set_ratio(a, b)


def address_similarity(wanted: str, candidate: str) -> float:
    a, b = normalise_address(wanted), normalise_address(candidate)
    return float(fuzz.token_set_ratio(a, b)) if a and b else 0.0


def score(candidate: CompanyCandidate, terms: SearchTerms) -> CompanyCandidate:
    """A copy of `candidate` with its score (0..100) and what matched."""
    return _evaluate(candidate, terms)[0]


def rank(candidates: list[CompanyCandidate], terms: SearchTerms) -> list[CompanyCandidate]:
    """Scored copies, best first. Among equal scores the stronger uncapped evidence (an exact name at the
    restaurant's own address) comes first; after that the registry's order (name results first)."""
    evaluated = [_evaluate(candidate, terms) for candidate in candidates]
    return [c for c, _ in sorted(evaluated, key=lambda pair: (-pair[0].score, -pair[1]))]


def _evaluate(candidate: CompanyCandidate, terms: SearchTerms) -> tuple[CompanyCandidate, float]:
    wanted = clean_search_name(terms.name)
    legal = name_similarity(wanted, candidate.name)
    trading = max((name_similarity(wanted, t) for t in candidate.trading_names), default=0.0)
    value = max(legal, trading)
    matched: list[MatchedOn] = []
    if legal >= EVIDENCE:
        matched.append("name")
    if trading >= EVIDENCE:
        matched.append("trading_name")
    street = street_search_terms(terms.address, terms.city)
    address = address_similarity(street, candidate.address) if street and candidate.address else 0.0
    if address > ADDRESS_FLOOR:
        value += ADDRESS_BONUS * (address - ADDRESS_FLOOR) / (100.0 - ADDRESS_FLOOR)
    # The registry's own address search found it: that is evidence even when the spelling differs.
    if address >= EVIDENCE or "address" in candidate.matched_on:
        matched.append("address")
    if candidate.status and candidate.status.strip().lower() not in ACTIVE_STATUSES:
        value -= INACTIVE_PENALTY
    capped = round(min(100.0, max(0.0, value)), 1)
    return candidate.model_copy(update={"score": capped, "matched_on": matched}), value
