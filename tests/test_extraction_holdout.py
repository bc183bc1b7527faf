"""Step 1 on real page structures the parsers were not written against (a held-out check of issue #12).

Each test pins one failure found by running `yolobatch extract` on a real capture from another
market or another kind of site (sources in tests/fixtures/real/SOURCES.md, `holdout-…` rows); the
corpus pages themselves are scored by tests/test_extraction_corpus.py.
"""

from __future__ import annotations

import json

from yolobatch.domain.extraction import ExtractionResult
from yolobatch.integrations.extraction.branding import logo_candidates
from yolobatch.integrations.extraction.page import extract_from_html

URL = "https://restaurant.example/menu"
PHONE = "+32488014822"


def _extract(html: str, url: str = URL) -> ExtractionResult:
    _doc, result = extract_from_html(url, html)
    return result


def _flat(result: ExtractionResult) -> list[tuple[str, str, str]]:
    assert result.menu is not None, result.warnings
    return [(c.name, i.name, str(i.price)) for c in result.menu.categories for i in c.items]


# -- Deliveroo outside the Gulf: no `currencyCode`, a phone only in the info modal -------------------


def _deliveroo(restaurant: dict, item_price: dict, layout_groups: list | None = None) -> str:
    root = {
        "restaurant": restaurant,
        "categories": [{"id": "c", "name": "Nos assiettes"}],
        "items": [{"id": "i", "categoryId": "c", "name": "Assiette scampi", "price": item_price}],
    }
    menu = {"metas": {"root": root}, "layoutGroups": layout_groups or []}
    state = {"props": {"initialState": {"menuPage": {"menu": menu}}}}
    return f'<script id="__NEXT_DATA__" type="application/json">{json.dumps(state)}</script>'


def _spans(text: str) -> dict:
    return {"spans": [{"text": text}]}


def test_deliveroo_currency_from_the_prices_own_code() -> None:
    page = _deliveroo(
        {"id": "1", "name": "Baalbeck"},
        {"code": "EUR", "fractional": 2100, "formatted": "21,00 €"},
        [{"layouts": [{"header": "Coordonnées", "blocks": [{"actions": [{"lines": [_spans(PHONE)]}]}]}]}],
    )
    result = _extract(page, "https://deliveroo.be/fr/menu/Brussels/mons-center/baalbeck")
    assert result.source == "deliveroo"
    assert result.menu is not None and result.menu.currency == "EUR"  # was the default NZD
    assert _flat(result) == [("Nos assiettes", "Assiette scampi", "21.00")]
    assert result.contact.phone == PHONE


def test_deliveroo_currency_from_the_restaurants_country_when_prices_carry_no_code() -> None:
    location = {"address": {"address1": "Via Roma 1", "country": "IT"}}
    restaurant = {"id": "1", "name": "Da Mario", "location": location}
    result = _extract(_deliveroo(restaurant, {"fractional": 950}), "https://deliveroo.it/it/menu/milano/x")
    assert result.menu is not None and result.menu.currency == "EUR"
    assert _flat(result) == [("Nos assiettes", "Assiette scampi", "9.50")]
    assert result.contact.phone is None  # "Voir la carte" and such are no phone


# -- A restaurant's own site with price columns: "Normal | Groß" heads the section, amounts side by side --


def _dish(number: str, name: str, *prices: str) -> str:
    amounts = "".join(f"<span>{p}&nbsp;€</span>" for p in prices)
    return (
        f'<li class="gericht"><span class="gericht__zeile"><span class="gericht__name">'
        f'<i class="gericht__nr">{number}</i>{name}</span><span class="gericht__preise">{amounts}</span>'
        f"</span></li>"
    )


def _section(title: str, columns: str, *dishes: str) -> str:
    return (
        f'<section class="gruppe"><div class="gruppe__kopf"><h2>{title}</h2>'
        f'<span class="gruppe__masse">{columns}</span></div><ul class="gerichte">{"".join(dishes)}</ul>'
        '<div class="hinweis"><p>Auf Wunsch mit Käse überbacken, <strong>1,00&nbsp;€</strong>.</p></div>'
        "</section>"
    )


def test_price_columns_become_the_lowest_price_and_a_size_group_labelled_by_the_column_heads() -> None:
    page = (
        "<main>"
        + _section(
            "Pizza",
            "<span>ø&nbsp;26&nbsp;cm</span><span>ø&nbsp;30&nbsp;cm</span>",
            _dish("063", "Pizza Calimero", "9,50", "13,00"),
            _dish("072", "Pizza Frühstück", "8,50", "12,00"),
            _dish("075", "Pizza Familia Ø 40 cm", "19,00"),
        )
        + _section(
            "Getränke",
            "<span>1,0&nbsp;l</span><span>0,33&nbsp;l</span>",
            _dish("G01", "Sinalco Cola", "4,00", "3,00"),
            _dish("G05", "Uludağ Gazoz", "2,50"),
        )
        + "</main>"
    )
    result = _extract(page)
    assert result.source == "dom", result.warnings
    # Menu numbers in their own element ("063", "G01") are not part of the names; the note's 1,00 € no dish.
    assert _flat(result) == [
        ("Pizza", "Pizza Calimero", "9.50"),
        ("Pizza", "Pizza Frühstück", "8.50"),
        ("Pizza", "Pizza Familia Ø 40 cm", "19.00"),
        ("Getränke", "Sinalco Cola", "3.00"),
        ("Getränke", "Uludağ Gazoz", "2.50"),
    ]
    assert result.menu is not None
    groups = {g.name: g for g in result.menu.option_sets}
    calimero = result.menu.categories[0].items[0]
    size = groups[calimero.option_sets[0]]
    assert [(o.name, str(o.price)) for o in size.items] == [("ø 26 cm", "0.00"), ("ø 30 cm", "3.50")]
    assert (size.min_selections, size.max_selections) == (1, 1)
    cola = groups[result.menu.categories[1].items[0].option_sets[0]]
    assert [(o.name, str(o.price)) for o in cola.items] == [("1,0 l", "1.00"), ("0,33 l", "0.00")]
    assert result.menu.categories[0].items[2].option_sets == []


def test_unlabelled_price_columns_give_the_lowest_price_and_no_invented_group() -> None:
    # The first section has column heads; the second has none and must not borrow the first's.
    page = (
        "<main>"
        + _section(
            "Salate", "<span>Normal</span><span>Groß</span>", _dish("001", "Grüner Salat", "6,50", "8,50")
        )
        + _section(
            "Pasta", "", _dish("031", "Gnocchi", "8,00", "10,50"), _dish("032", "Gnocchi", "8,50", "11,00")
        )
        + "</main>"
    )
    result = _extract(page)
    assert _flat(result) == [
        ("Salate", "Grüner Salat", "6.50"),
        ("Pasta", "Gnocchi", "8.00"),
        ("Pasta", "Gnocchi", "8.50"),  # two dishes of one name, told apart by their prices
    ]
    assert result.menu is not None
    assert [i.option_sets for i in result.menu.categories[1].items] == [[], []]


# -- A restaurant's own site hosted by Takeaway.com: the footer badge is Takeaway's logo, not the store's --


def test_a_partner_badge_linking_to_another_site_is_no_logo_candidate() -> None:
    page = (
        '<html><head><link rel="shortcut icon" href="/favicon.ico"></head><body>'
        '<a href="/"><img class="site-logo" src="/img/tomo-logo.png"></a>'
        '<div class="affillogo"><a href="https://www.takeaway.com/be/" rel="nofollow">'
        '<img class="footerlogo" src="/tpl/template1/images/logo/logo_3.png"></a></div>'
        '<ul><li class="dish"><b>Shio ramen</b><span class="price">€ 14,50</span></li>'
        '<li class="dish"><b>Veggie ramen</b><span class="price">€ 14,00</span></li></ul></body></html>'
    )
    doc, result = extract_from_html("https://www.tomomons.be/", page)
    urls = [c.url for c in logo_candidates(doc)]
    assert "https://www.tomomons.be/img/tomo-logo.png" in urls  # its own logo, linking home, stays
    assert not any("logo_3.png" in url for url in urls)
    assert _flat(result) == [("Menu", "Shio ramen", "14.50"), ("Menu", "Veggie ramen", "14.00")]


# -- No currency on the page at all: the page's address on the web says which market it serves ----------


def test_a_menu_without_any_currency_takes_the_country_of_its_web_address() -> None:
    page = (
        '<ul><li class="dish"><b>Spaghetti Napoli</b><span class="price">7,50</span></li>'
        '<li class="dish"><b>Pizza Margarita</b><span class="price">7,50</span></li></ul>'
    )
    for url, currency in (
        ("https://www.ristorante-roma.it/menu", "EUR"),
        ("https://deliveroo.co.uk/menu/london/soho/x", "GBP"),
        ("https://www.ubereats.com/ca-fr/store/x/abc", "CAD"),
        ("https://www.talabat.com/kuwait/restaurant/1/x", "KWD"),
        ("https://www.talabat.com/ar/kuwait/restaurant/727791/yelo-pizza", "KWD"),
    ):
        result = _extract(page, url)
        assert result.menu is not None and result.menu.currency == currency, url
    # A global domain says nothing: the platform's default stands (the operator is warned elsewhere).
    assert (menu := _extract(page, "https://restaurant.example/menu").menu) is not None
    assert menu.currency == "NZD"


# -- Gulf dinars are written to the fils: "1.250 KWD" is one dinar and a quarter, not 1,250 -----------------


def test_three_decimal_currencies_read_a_single_mark_as_decimal() -> None:
    page = (
        '<ul><li class="dish"><b>Machboos Dyay</b><span class="price">3.750 KWD</span></li>'
        '<li class="dish"><b>Karak Tea</b><span class="price">0.250 KWD</span></li>'
        '<li class="dish"><b>Mutabbaq Zubaidi</b><span class="price">6,500 د.ك</span></li></ul>'
    )
    result = _extract(page, "https://restaurant.example/menu")
    assert [(name, price) for _c, name, price in _flat(result)] == [
        ("Machboos Dyay", "3.75"),
        ("Karak Tea", "0.25"),
        ("Mutabbaq Zubaidi", "6.50"),
    ]
    assert result.menu is not None and result.menu.currency == "KWD"
    # Elsewhere a mark before three digits still groups thousands.
    assert _flat(_extract(page.replace("KWD", "€").replace("د.ك", "€")))[0][2] == "3750.00"


# -- Microdata written by hand-made CMS templates (Kirby, an ACF WordPress theme) -------------------------


def test_microdata_types_are_read_whatever_their_case() -> None:
    item = (
        '<div itemprop="hasMenuItem" itemscope itemtype="http://schema.org/menuItem">'
        '<div itemprop="name">{}</div><div itemprop="offers" itemscope itemtype="http://schema.org/Offer">'
        '<span itemprop="price">{}</span></div></div>'
    )
    page = (
        '<section itemscope itemtype="http://schema.org/Menu"><div itemprop="hasMenuSection" itemscope'
        ' itemtype="http://schema.org/MenuSection">'
        '<div class="section-title" itemprop="name">Small Plates</div>'
        + item.format("Deviled Eggs", "7")
        + item.format("Fried Chicken Skins", "9")
        + "</div></section>"
    )
    result = _extract(page)
    assert result.source == "microdata"
    assert _flat(result) == [
        ("Small Plates", "Deviled Eggs", "7.00"),
        ("Small Plates", "Fried Chicken Skins", "9.00"),
    ]


def _sws_item(name: str, own_price: str | None, kind: str, choices: list[tuple[str, str]]) -> str:
    offer = (
        '<div itemprop="offers" itemscope itemtype="http://schema.org/Offer">'
        '<span itemprop="price">{}</span></div>'
    )
    rows = "".join(
        f'<div itemprop="hasMenuItem" itemscope itemtype="http://schema.org/MenuItem">'
        f'<div class="sws-menu__item__{kind}__name" itemprop="name">{label}</div>{offer.format(price)}</div>'
        for label, price in choices
    )
    return (
        f'<div class="sws-menu__item" itemprop="hasMenuItem" itemscope itemtype="http://schema.org/MenuItem">'
        f'<div class="sws-menu__item__name" itemprop="name">{name}</div>'
        f'<div class="sws-menu__item__{kind}s" itemprop="menuAddOn" itemscope itemtype="http://schema.org/MenuSection">'
        f"{rows}</div>{offer.format(own_price) if own_price else ''}</div>"
    )


def test_unnamed_add_on_sections_are_kept_and_unpriced_dishes_take_their_variants() -> None:
    page = (
        '<div itemscope itemtype="http://schema.org/Menu"><div itemprop="hasMenuSection" itemscope'
        ' itemtype="http://schema.org/MenuSection"><h3 itemprop="name">Pizza</h3>'
        + _sws_item("Margherita", None, "variation", [("Small", "$12.00"), ("Large", "$18.00")])
        + _sws_item("Pepperoni", "$14.00", "addon", [("Extra cheese", "$2.00")])
        + "</div></div>"
    )
    result = _extract(page)
    assert result.source == "microdata"
    assert _flat(result) == [("Pizza", "Margherita", "12.00"), ("Pizza", "Pepperoni", "14.00")]
    assert result.menu is not None
    groups = {g.name: g for g in result.menu.option_sets}
    size = groups[result.menu.categories[0].items[0].option_sets[0]]
    assert [(o.name, str(o.price)) for o in size.items] == [("Small", "0.00"), ("Large", "6.00")]
    assert (size.min_selections, size.max_selections) == (1, 1)
    add_ons = groups[result.menu.categories[0].items[1].option_sets[0]]
    assert add_ons.name == "Add-ons" and [(o.name, str(o.price)) for o in add_ons.items] == [
        ("Extra cheese", "2.00")
    ]


# -- Five Star Restaurant Menu (WordPress): several `fdm-item-price`s, or a discount beside the price ------


def _fdm_item(title: str, prices: list[str], discount: str | None = None) -> str:
    amounts = "".join(f'<div class="fdm-item-price">{p}</div>' for p in prices)
    sale = f'<div class="fdm-item-price-discount">{discount}</div>' if discount else ""
    return (
        f'<li class="fdm-item fdm-item-has-price"><div class="fdm-item-panel">'
        f'<p class="fdm-item-title">{title}</p>'
        f'<div class="fdm-item-price-wrapper" data-min_price="{prices[0]}">{sale}{amounts}</div>'
        f'<div class="fdm-item-content"><p>house recipe</p></div></div></li>'
    )


def test_five_star_menu_items_with_several_prices_or_a_discount_are_kept() -> None:
    page = (
        '<div class="fdm-menu"><ul class="fdm-column"><li class="fdm-section-header"><h3>Starters</h3></li>'
        '<ul class="fdm-section">'
        + _fdm_item("Garlic Bread", ["$6.00"])
        + _fdm_item("Calamari", ["$12.00", "$18.00"])
        + _fdm_item("Bruschetta", ["$9.00"], discount="$7.50")
        + "</ul></ul></div>"
    )
    # Before: the dishes with two amounts were dropped (each amount was taken for a nameless dish).
    assert _flat(_extract(page)) == [
        ("Starters", "Garlic Bread", "6.00"),
        ("Starters", "Calamari", "12.00"),
        ("Starters", "Bruschetta", "7.50"),  # the price it is sold at
    ]
