"""Step 1 on schema.org markup and restaurants' own sites: each format and each trap of issue #12 item 2.

The real-capture pages live in tests/fixtures/real (scored by tests/test_extraction_corpus.py); these
tests pin one trap each on a small page, through the same `extract_from_html` the fetcher feeds.
"""

from __future__ import annotations

import pytest

from yolobatch.domain.menu import Menu
from yolobatch.integrations.extraction.cleaning import clean_name, currency_of, parse_price
from yolobatch.integrations.extraction.page import extract_from_html

URL = "https://restaurant.example/menu"


def _menu(html: str, source: str) -> Menu:
    _doc, result = extract_from_html(URL, html)
    assert result.source == source, result.warnings
    assert result.menu is not None
    return result.menu


def _flat(menu: Menu) -> list[tuple[str, str, str]]:
    return [(c.name, i.name, str(i.price)) for c in menu.categories for i in c.items]


# -- cleaning -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("5,90 €", "5.90"),
        ("3€", "3.00"),
        ("3 €", "3.00"),
        ("€ 12,50", "12.50"),
        ("٢٥٫٥٠ ر.س", "25.50"),
        ("۱۲۰ AED", "120.00"),
        ("1 234,50 €", "1234.50"),
    ],
)
def test_prices_after_the_amount_and_in_other_digits(raw: str, expected: str) -> None:
    assert str(parse_price(raw)) == expected


def test_currency_only_from_real_codes_and_signs() -> None:
    assert currency_of("5,90 €") == "EUR"
    assert currency_of("٢٥ ر.س") == "SAR"
    assert currency_of("MKT Price") is None
    assert currency_of("BBQ 12.00") is None
    assert currency_of("$12") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("62. Butter Chicken", "Butter Chicken"),
        ("12) Pad Thai", "Pad Thai"),
        ("#4 - Falafel Wrap", "Falafel Wrap"),
        ("٦٢. دجاج بالزبدة", "دجاج بالزبدة"),
        ("7 Up", "7 Up"),
        ("3-Cheese Pizza", "3-Cheese Pizza"),
        ("12.5 oz Ribeye", "12.5 oz Ribeye"),
        ("Fish &amp; Chips", "Fish & Chips"),
        ("Fish &amp;amp; Chips", "Fish & Chips"),
        ("Caf&eacute; Latte", "Café Latte"),
        ("<strong>Soup</strong> of the day", "Soup of the day"),
        ("Fish &lt;b&gt;and&lt;/b&gt; Chips", "Fish and Chips"),
        ("Steak < 300g", "Steak < 300g"),
    ],
)
def test_names_lose_menu_numbers_and_entities(raw: str, expected: str) -> None:
    assert clean_name(raw) == expected


# -- schema.org JSON-LD ---------------------------------------------------------------------------------


def test_jsonld_entities_add_ons_and_diets() -> None:
    html = """<html><head><script type="application/ld+json">
    {"@context":"https://schema.org","@type":"Restaurant","name":"Tom &amp; Jerry&#39;s",
     "hasMenu":{"@type":"Menu","hasMenuSection":[{"@type":"MenuSection","name":"Fish &amp; Chips",
      "hasMenuItem":[{"@type":"MenuItem","name":"Cod &amp;amp; Chips",
        "offers":{"@type":"Offer","price":"14.50","priceCurrency":"GBP"},
        "suitableForDiet":["https://schema.org/GlutenFreeDiet","http://schema.org/HalalDiet"],
        "menuAddOn":[{"@type":"MenuSection","name":"Sauces","hasMenuItem":[
          {"@type":"MenuItem","name":"Tartare","offers":{"@type":"Offer","price":"0.50"}},
          {"@type":"MenuItem","name":"Curry &amp; Mayo","offers":{"@type":"Offer","price":0.8}}]}]}]}]}}
    </script></head><body></body></html>"""
    menu = _menu(html, "jsonld")
    assert menu.currency == "GBP"
    assert _flat(menu) == [("Fish & Chips", "Cod & Chips", "14.50")]
    [item] = menu.items()
    assert item.tags == ["gluten free", "halal"]
    [sauces] = menu.option_sets
    assert item.option_sets == ["Sauces"]
    assert [(o.name, str(o.price)) for o in sauces.items] == [("Tartare", "0.50"), ("Curry & Mayo", "0.80")]
    # The add-on items are options, not dishes of their own.
    assert len(menu.items()) == 1


def test_jsonld_has_menu_as_a_url_leaves_the_page_to_the_dom() -> None:
    html = """<html><head><script type="application/ld+json">
    {"@context":"https://schema.org","@type":"Restaurant","name":"Linked","hasMenu":"https://linked.example/menu.pdf"}
    </script></head><body><main><h2>Mains</h2>
    <div class="dish"><h3>Lamb Shank</h3><span class="price">$28.00</span></div>
    <div class="dish"><h3>Fish of the Day</h3><span class="price">$32.00</span></div></main></body></html>"""
    menu = _menu(html, "dom")
    assert _flat(menu) == [("Mains", "Lamb Shank", "28.00"), ("Mains", "Fish of the Day", "32.00")]


def test_jsonld_bare_items_without_a_menu() -> None:
    html = """<script type="application/ld+json">[
      {"@context":"https://schema.org","@type":"MenuItem","name":"Flat White",
       "offers":{"price":"4,50","priceCurrency":"EUR"}},
      {"@context":"https://schema.org","@type":"MenuItem","name":"Long Black",
       "offers":{"lowPrice":"4"}}]</script>"""
    menu = _menu(html, "jsonld")
    assert _flat(menu) == [("Menu", "Flat White", "4.50"), ("Menu", "Long Black", "4.00")]


# -- microdata and RDFa -----------------------------------------------------------------------------------


def test_microdata_items_take_the_heading_before_them_and_addresses_stay_out() -> None:
    # WordPress menu blocks: MenuItem scopes with no itemprop linking them, sections in plain headings.
    item = (
        '<div itemscope itemtype="http://schema.org/MenuItem"><h4 itemprop="name">{}</h4>'
        '<p itemprop="offers" itemscope itemtype="http://schema.org/Offer">'
        '<span itemprop="price">{}</span></p></div>'
    )
    html = f"""<html><body><main>
    <h2 class="wp-block-heading">Breakfast</h2>
    <div itemscope itemtype="http://schema.org/Menu">{item.format("Eggs Benedict", "$18.50")}
      {item.format("Bacon &amp; Eggs", "$16")}</div>
    <h3 class="wp-block-heading">Lunch</h3>
    <div itemscope itemtype="http://schema.org/Menu">{item.format("Club Sandwich", "$21.00")}</div>
    <div itemscope itemtype="http://schema.org/Restaurant"><span itemprop="telephone">(09) 555 1234</span>
      <div itemprop="address" itemscope itemtype="http://schema.org/PostalAddress">
        <span itemprop="postalCode">10115</span> <strong>Berlin</strong></div></div>
    </main></body></html>"""
    menu = _menu(html, "microdata")
    assert _flat(menu) == [
        ("Breakfast", "Eggs Benedict", "18.50"),
        ("Breakfast", "Bacon & Eggs", "16.00"),
        ("Lunch", "Club Sandwich", "21.00"),
    ]


def test_microdata_nested_sections_and_add_ons() -> None:
    html = """<div itemscope itemtype="https://schema.org/Menu">
      <section itemprop="hasMenuSection" itemscope itemtype="https://schema.org/MenuSection">
        <h2 itemprop="name">Pizza</h2>
        <section itemprop="hasMenuSection" itemscope itemtype="https://schema.org/MenuSection">
          <h3 itemprop="name">Vegetarian</h3>
          <article itemprop="hasMenuItem" itemscope itemtype="https://schema.org/MenuItem">
            <a href="/pizza/margherita" itemprop="name">Margherita</a>
            <link itemprop="suitableForDiet" href="https://schema.org/VegetarianDiet">
            <meta itemprop="image" content="/img/margherita.jpg">
            <span itemprop="offers" itemscope itemtype="https://schema.org/Offer">
              <meta itemprop="priceCurrency" content="EUR">
              <span itemprop="price" content="9.50">9,50 €</span></span>
            <div itemprop="menuAddOn" itemscope itemtype="https://schema.org/MenuSection">
              <span itemprop="name">Extra toppings</span>
              <div itemprop="hasMenuItem" itemscope itemtype="https://schema.org/MenuItem">
                <span itemprop="name">Burrata</span>
                <span itemprop="offers" itemscope itemtype="https://schema.org/Offer">
                  <span itemprop="price">3,00 €</span></span>
              </div></div>
          </article></section>
        <article itemprop="hasMenuItem" itemscope itemtype="https://schema.org/MenuItem">
          <span itemprop="name">Diavola</span>
          <span itemprop="offers" itemscope itemtype="https://schema.org/Offer">
            <span itemprop="price">11,00 €</span></span>
        </article></section></div>"""
    menu = _menu(html, "microdata")
    assert menu.currency == "EUR"
    assert _flat(menu) == [("Vegetarian", "Margherita", "9.50"), ("Pizza", "Diavola", "11.00")]
    margherita = menu.items()[0]
    assert margherita.tags == ["vegetarian"]
    assert margherita.image_url == "https://restaurant.example/img/margherita.jpg"
    [toppings] = menu.option_sets
    assert margherita.option_sets == ["Extra toppings"]
    assert [(o.name, str(o.price)) for o in toppings.items] == [("Burrata", "3.00")]


def test_rdfa_menu() -> None:
    html = """<html><body><div vocab="https://schema.org/" typeof="Restaurant">
      <span property="name">Taquería</span>
      <div property="hasMenu" typeof="Menu">
        <div property="hasMenuSection" typeof="MenuSection"><h2 property="name">Tacos</h2>
          <div property="hasMenuItem" typeof="MenuItem"><h3 property="name">Al Pastor</h3>
            <div property="offers" typeof="Offer"><span property="price" content="4.50">$4.50</span>
              <meta property="priceCurrency" content="USD"></div></div>
          <div property="hasMenuItem" typeof="schema:MenuItem"><h3 property="schema:name">Carnitas</h3>
            <p property="description">Slow-cooked pork</p>
            <div property="offers" typeof="Offer"><span property="price">$4.00</span></div></div>
        </div>
        <div property="hasMenuSection" typeof="MenuSection"><h2 property="name">Drinks</h2>
          <div property="hasMenuItem" typeof="MenuItem"><span property="name">Horchata</span>
            <span property="price">$3.00</span></div></div>
      </div></div></body></html>"""
    menu = _menu(html, "rdfa")
    assert menu.currency == "USD"
    assert _flat(menu) == [
        ("Tacos", "Al Pastor", "4.50"),
        ("Tacos", "Carnitas", "4.00"),
        ("Drinks", "Horchata", "3.00"),
    ]
    assert menu.items()[1].description == "Slow-cooked pork"


# -- restaurants' own sites (DOM) ----------------------------------------------------------------------------


def test_headings_at_h2_to_h4_or_class_named_in_any_case() -> None:
    html = """<html><body><header><a href="tel:+4930123456">030 123456</a></header><main>
    <h1>Trattoria</h1>
    <div class="Menu-Section-Title">Antipasti</div>
    <div class="dish"><span class="dish-name">Bruschetta</span><span class="Price">8,50 €</span></div>
    <h4>Primi</h4>
    <div class="dish"><span class="dish-name">Carbonara</span><span class="Price">14,00 €</span></div>
    <div class="MENU_CATEGORY_NAME">Dolci</div>
    <div class="dish"><span class="dish-name">Tiramisù</span><span class="Price">7,00 €</span></div>
    </main></body></html>"""
    menu = _menu(html, "dom")
    assert menu.currency == "EUR"
    assert _flat(menu) == [
        ("Antipasti", "Bruschetta", "8.50"),
        ("Primi", "Carbonara", "14.00"),
        ("Dolci", "Tiramisù", "7.00"),
    ]


def test_directory_table_with_prices_after_the_amount_postcode_and_phone() -> None:
    # A restaurant directory's menu page: a table per section, the amount before the euro sign, the
    # restaurant's postcode and phone number in the listing header as bare numbers, and a delivery fee
    # shaped like no dish.
    html = """<html><body><main>
    <div class="listing"><h1>Pizzeria Roma</h1><p class="address">Hauptstraße 5, <span>10115</span> Berlin</p>
      <p>Tel. <span class="phone">030 1234567</span></p><p>Mindestbestellwert <span>15</span></p>
      <div class="fee"><span class="label">Lieferkosten</span> <span class="value">2,50 €</span></div></div>
    <h2>Pizza</h2>
    <table class="speisekarte">
      <tr><td class="nr">62.</td><td>62. Pizza Margherita<br><small>mit Tomatensauce und Käse</small></td>
        <td>5,90 €</td></tr>
      <tr><td class="nr">63.</td><td>63. Pizza Salami</td><td>6,90&nbsp;€</td></tr>
    </table>
    <h2>Getränke</h2>
    <table class="speisekarte">
      <tr><td>Cola 0,33l</td><td>3&#x20AC;</td></tr>
      <tr><td>Wasser 0,5l</td><td>2,50 EUR</td></tr>
    </table></main></body></html>"""
    menu = _menu(html, "dom")
    assert menu.currency == "EUR"
    assert _flat(menu) == [
        ("Pizza", "Pizza Margherita", "5.90"),
        ("Pizza", "Pizza Salami", "6.90"),
        ("Getränke", "Cola 0,33l", "3.00"),
        ("Getränke", "Wasser 0,5l", "2.50"),
    ]
    assert menu.items()[0].description == "mit Tomatensauce und Käse"


def test_rtl_menu_with_arabic_digits() -> None:
    html = """<html dir="rtl" lang="ar"><body><main>
    <h2>المشويات</h2>
    <div class="item"><h3>شيش طاووق</h3>
      <span class="price-main">٣٥٫٠٠</span><span class="price-currency">ر.س</span></div>
    <div class="item"><h3>كباب لحم</h3>
      <span class="price-main">٤٢</span><span class="price-currency">ر.س</span></div>
    <h2>المشروبات</h2>
    <div class="item"><h3>لبن &amp; نعناع</h3><span>٨٫٥٠ ر.س</span></div>
    </main></body></html>"""
    menu = _menu(html, "dom")
    assert menu.currency == "SAR"
    assert _flat(menu) == [
        ("المشويات", "شيش طاووق", "35.00"),
        ("المشويات", "كباب لحم", "42.00"),
        ("المشروبات", "لبن & نعناع", "8.50"),
    ]


def test_a_one_dish_section_keeps_its_heading_and_the_dish_its_name() -> None:
    html = """<html><body><main>
    <div class="menu-section"><h2>Starters</h2>
      <div class="menu-item"><h4>Soup</h4><span class="menu-item-price">10</span></div>
      <div class="menu-item"><h4>Bread</h4><span class="menu-item-price">5.5</span></div></div>
    <div class="menu-section"><h2>Sangria</h2>
      <div class="menu-item"><h4>Sweater Weather Sangria</h4>
        <span class="menu-item-price">13</span></div></div>
    </main></body></html>"""
    menu = _menu(html, "dom")
    assert _flat(menu) == [
        ("Starters", "Soup", "10.00"),
        ("Starters", "Bread", "5.50"),
        ("Sangria", "Sweater Weather Sangria", "13.00"),
    ]


def test_bare_numbers_are_not_prices_without_a_price_class() -> None:
    # Nor is one lone priced element a menu ("Gutschein ab 25 €").
    html = """<html><body><main><h2>Kontakt</h2>
    <div class="promo"><strong>Gutschein</strong><span class="price">ab 25 €</span></div>
    <div class="box"><strong>PLZ</strong><span>10115</span></div>
    <div class="box"><strong>Telefon</strong><span>030 1234567</span></div>
    <div class="box"><strong>Nummer</strong><span>62</span></div>
    </main></body></html>"""
    _doc, result = extract_from_html(URL, html)
    assert result.menu is None
    assert "no_menu" in result.warning_codes()


def test_squarespace_menu_block_reads_each_item_once() -> None:
    html = """<html><body><div class="sqs-block menu-block sqs-block-menu" data-block-type="18">
    <div class="menus"><div class="menu"><div class="menu-section">
      <div class="menu-section-title">SMALL BITES</div><div class="menu-items">
        <div class="menu-item"><span class="menu-item-price-top"><span class="currency-sign">$</span>8</span>
          <div class="menu-item-title">Edamame</div><div class="menu-item-description">umami dust</div>
          <div class="menu-item-price-bottom"><span class="currency-sign">$</span>8</div></div>
        <div class="menu-item"><div class="menu-item-title">Fries &amp; Aioli</div>
          <div class="menu-item-price-bottom"><span class="currency-sign">$</span>9.50</div></div>
      </div></div></div></div></div></body></html>"""
    menu = _menu(html, "squarespace")
    assert _flat(menu) == [("SMALL BITES", "Edamame", "8.00"), ("SMALL BITES", "Fries & Aioli", "9.50")]
    assert menu.items()[0].description == "umami dust"


def test_prices_per_size_become_a_required_size_group() -> None:
    html = """<html><body><main><h2>Wine</h2>
    <div class="menu-item"><h4 class="menu-item-name">Pinot Noir</h4>
      <div class="menu-item-prices-container">
        <span class="menu-item-price">6oz 13,&nbsp;9oz 19.5,&nbsp;Btl 50</span></div></div>
    <div class="menu-item"><h4 class="menu-item-name">Rosé</h4>
      <div class="menu-item-prices-container">
        <span class="menu-item-price">6oz 11, 9oz 16.5, Btl 42</span></div></div>
    <h2>Draught</h2>
    <div class="menu-item"><h4 class="menu-item-name">Peroni</h4>
      <span class="menu-item-price">16oz 7.5</span></div>
    </main></body></html>"""
    menu = _menu(html, "dom")
    assert _flat(menu) == [
        ("Wine", "Pinot Noir", "13.00"),
        ("Wine", "Rosé", "11.00"),
        ("Draught", "Peroni", "7.50"),
    ]
    pinot, rose, peroni = menu.items()
    groups = {g.name: g for g in menu.option_sets}
    # Two different "Size" groups: unique names on the menu, the real name kept for display.
    assert (pinot.option_sets, rose.option_sets, peroni.option_sets) == (["Size"], ["Size (2)"], [])
    assert groups["Size (2)"].display_name == "Size"
    assert [(o.name, str(o.price)) for o in groups["Size"].items] == [
        ("6oz", "0.00"),
        ("9oz", "6.50"),
        ("Btl", "37.00"),
    ]
    assert (groups["Size"].min_selections, groups["Size"].max_selections) == (1, 1)


def test_a_bare_dollar_takes_the_restaurants_country() -> None:
    html = """<html><head><script type="application/ld+json">{"@context":"https://schema.org",
      "@type":"Restaurant","name":"Diner","address":{"@type":"PostalAddress","addressCountry":"US"}}</script>
    </head><body><main><h2>Mains</h2><div class="dish"><h3>Burger</h3><span class="price">$12</span></div>
    <div class="dish"><h3>Fries</h3><span class="price">$5</span></div></main></body></html>"""
    assert _menu(html, "dom").currency == "USD"
    unknown = html.replace('"addressCountry":"US"', '"addressCountry":"Atlantis"')
    assert _menu(unknown, "dom").currency == "NZD"


def _wppizza_article(post_id: int, title: str, description: str, prices: list[tuple[str, str]]) -> str:
    tiers = "".join(
        f'<li id="wppizza-{post_id}-1-{n}" class="wppizza-article-price wppizza-article-price-{post_id}-{n}">'
        f'<span>{amount}</span><div class="wppizza-article-price-lbl">{label}</div></li>'
        for n, (label, amount) in enumerate(prices)
    )
    return (
        f'<article id="wppizza-{post_id}" class="wppizza-article wppizza-article-pizza-{post_id}">'
        f'<div class="wppizza-article-img"><img src="/wp-content/uploads/{post_id}.jpg" alt=""></div>'
        f'<div class="wppizza-article-info"><h2 class="wppizza-article-title">{title}</h2>'
        f"<p>{description}</p></div>"
        f'<div class="wppizza-article-tiers wppizza-article-prices-{len(prices)}"><ul>{tiers}'
        f'<li class="wppizza-article-price-currency">€</li></ul></div></article>'
    )


def test_a_price_per_size_in_its_own_element_wppizza() -> None:
    # WPPizza: one <li class="wppizza-article-price"> per size, the amount in a <span>, the size label in
    # "wppizza-article-price-lbl", the currency sign in its own <li>; the plain DOM reading made junk
    # dishes named after sizes, and items priced 0.00 from the currency <li>.
    sizes = [("26cm", "6,50"), ("32cm", "8,50"), ("Family", "14,90")]
    html = (
        "<html><body><main><h1>Speisekarte</h1><h2>Pizza</h2>"
        + _wppizza_article(36, "Margherita", "Tomatensauce, Käse", sizes)
        + _wppizza_article(
            37,
            "Salami",
            "Tomatensauce, Käse, Salami",
            [(size, a.replace("6,50", "7,50")) for size, a in sizes],
        )
        + "<h2>Getränke</h2>"
        + _wppizza_article(50, "Cola", "0,33l", [("0,33l", "2,50")])
        + _wppizza_article(51, "Apfelschorle", "0,5l", [("0,5l", "3,00")])
        + "</main></body></html>"
    )
    menu = _menu(html, "dom")
    assert menu.currency == "EUR"
    assert _flat(menu) == [
        ("Pizza", "Margherita", "6.50"),
        ("Pizza", "Salami", "7.50"),
        ("Getränke", "Cola", "2.50"),
        ("Getränke", "Apfelschorle", "3.00"),
    ]
    margherita = menu.items()[0]
    assert margherita.description == "Tomatensauce, Käse"
    [size] = [g for g in menu.option_sets if g.name == margherita.option_sets[0]]
    assert [(o.name, str(o.price)) for o in size.items] == [
        ("26cm", "0.00"),
        ("32cm", "2.00"),
        ("Family", "8.40"),
    ]
    assert (size.min_selections, size.max_selections) == (1, 1)


def test_sizes_in_a_list_after_the_dish_name() -> None:
    html = """<html><body><main><h2>Pizza</h2>
    <div class="dish"><h3>Hawaiian</h3><ul class="sizes"><li>Small <span>$12.00</span></li>
      <li>Large <span>$18.00</span></li></ul></div>
    <div class="dish"><h3>Meat Lovers</h3><ul class="sizes"><li>Small <span>$14.00</span></li>
      <li>Large <span>$21.00</span></li></ul></div>
    </main></body></html>"""
    menu = _menu(html, "dom")
    assert _flat(menu) == [("Pizza", "Hawaiian", "12.00"), ("Pizza", "Meat Lovers", "14.00")]
    groups = {g.name: [(o.name, str(o.price)) for o in g.items] for g in menu.option_sets}
    assert groups == {
        "Size": [("Small", "0.00"), ("Large", "6.00")],
        "Size (2)": [("Small", "0.00"), ("Large", "7.00")],
    }


def test_microdata_items_with_their_name_and_price_outside_the_properties() -> None:
    html = """<html><body><main><h2>Curries</h2>
    <div itemscope itemtype="https://schema.org/MenuItem"><h3>62. Butter Chicken</h3>
      <span class="dish-price">$18.90</span></div>
    <div itemscope itemtype="https://schema.org/MenuItem"><h3>63. Lamb Rogan Josh</h3>
      <span class="dish-price">$19.90</span></div>
    </main></body></html>"""
    assert _flat(_menu(html, "microdata")) == [
        ("Curries", "Butter Chicken", "18.90"),
        ("Curries", "Lamb Rogan Josh", "19.90"),
    ]


def test_dishes_inside_add_to_cart_forms_and_buttons_that_say_a_price() -> None:
    html = """<html><body><main><h2>Burgers</h2>
    <form class="product" action="/cart" method="post"><h3 class="product-name">Cheeseburger</h3>
      <span class="amount">$12.50</span><button type="submit">Add $12.50</button></form>
    <form class="product" action="/cart" method="post"><h3 class="product-name">Veggie Burger</h3>
      <span class="amount">$11.00</span><button type="submit">Add $11.00</button></form>
    </main></body></html>"""
    assert _flat(_menu(html, "dom")) == [
        ("Burgers", "Cheeseburger", "12.50"),
        ("Burgers", "Veggie Burger", "11.00"),
    ]


def test_czech_daily_menu_directory() -> None:
    # menicka.cz's restaurant page, as the menickacz-api scraper reads it: a day per "div.menicka" titled
    # by "div.nadpis", dishes in "div.polozka" with their number in "span.poradi" and allergen codes in
    # <em> ("1,10" is not a price), the price after the amount in "div.cena"; an hCard address.
    def dish(number: str, name: str, allergens: str, price: str) -> str:
        return (
            f'<li><div class="polozka"><span class="poradi">{number}</span> {name} <em>{allergens}</em></div>'
            f'<div class="cena">{price}</div></li>'
        )

    html = f"""<html><body><div class="profil"><h1>Restaurace U Kapra</h1>
    <div class="adr"><span class="street-address">Náměstí 12</span>, <span class="postal-code">602 00</span>
      <span class="locality">Brno</span></div><span class="tel">+420 543 123 456</span></div>
    <div class="menicka"><div class="nadpis">Pondělí 30.11.2026</div><ul>
      {dish("1.", "Gulášová polévka", "1,10", "45 Kč")}
      {dish("2.", "Svíčková na smetaně, knedlík", "1,3,7", "165 Kč")}
    </ul></div>
    <div class="menicka"><div class="nadpis">Úterý 1.12.2026</div><ul>
      {dish("1.", "Kulajda", "7", "49 Kč")}{dish("2.", "Smažený sýr, hranolky", "1,3,7", "159 Kč")}
    </ul></div></body></html>"""
    menu = _menu(html, "dom")
    assert menu.currency == "CZK"
    assert _flat(menu) == [
        ("Pondělí 30.11.2026", "Gulášová polévka", "45.00"),
        ("Pondělí 30.11.2026", "Svíčková na smetaně, knedlík", "165.00"),
        ("Úterý 1.12.2026", "Kulajda", "49.00"),
        ("Úterý 1.12.2026", "Smažený sýr, hranolky", "159.00"),
    ]


def test_wix_menu_widget_and_its_priced_tab_labels() -> None:
    # Wix's server-rendered menu widget, by its data-hook contract; its category tabs may quote a price.
    def item(name: str, description: str, price: str) -> str:
        return (
            f'<div data-hook="item.container"><p data-hook="item.name">{name}</p>'
            f'<p data-hook="item.description">{description}</p>'
            f'<div data-hook="item.price-container"><p data-hook="item.price">{price}</p></div></div>'
        )

    html = f"""<html><body><div id="SITE_CONTAINER"><main>
    <ul data-hook="sections.tabs"><li><button>Sides - $6</button></li>
      <li><a href="#d">Liberian Dishes - $8</a></li></ul>
    <div data-hook="section.container"><h2 data-hook="section.name">Sides</h2>
      {item("Sweet Potatoes", "Lightly fried sweet potato wedges.", "$6")}
      {item("Fried Plantains", "Ripe plantains, fried golden.", "$6")}</div>
    <div data-hook="section.container"><h2 data-hook="section.name">Liberian Dishes</h2>
      {item("Jollof Rice &amp; Chicken", "Spiced tomato rice.", "$8")}</div>
    </main></div></body></html>"""
    menu = _menu(html, "wix")
    assert _flat(menu) == [
        ("Sides", "Sweet Potatoes", "6.00"),
        ("Sides", "Fried Plantains", "6.00"),
        ("Liberian Dishes", "Jollof Rice & Chicken", "8.00"),
    ]
    assert menu.items()[0].description == "Lightly fried sweet potato wedges."


def test_a_menu_typed_as_lines_of_text() -> None:
    html = """<html><body><main><h2>Heiß &amp; Aromatisch</h2><ul>
      <li>Tasse Kaffee ........ 1.50€</li><li>Cappuccino ........ 2,30 €</li>
      <li>Espresso Doppio – 2,50 €</li></ul>
    <p><strong>Belegte Brötchen</strong></p><p>Schinken 2,60 €</p><p>Räucherlachs 3,00 €</p>
    <p>Öffnungszeiten: Mo–Fr 8–18 Uhr, Tel. 0331 123456</p>
    <div class="promo"><strong>Gutschein</strong> <span class="price">ab 10,00 €</span></div>
    </main></body></html>"""
    menu = _menu(html, "dom")
    assert menu.currency == "EUR"
    assert _flat(menu) == [
        ("Heiß & Aromatisch", "Tasse Kaffee", "1.50"),
        ("Heiß & Aromatisch", "Cappuccino", "2.30"),
        ("Heiß & Aromatisch", "Espresso Doppio", "2.50"),
        ("Belegte Brötchen", "Schinken", "2.60"),
        ("Belegte Brötchen", "Räucherlachs", "3.00"),
    ]


def test_a_section_repeated_by_another_menu_tab_is_read_once() -> None:
    section = """<div class="menu-section"><h2 class="menu-section-name">Starters</h2>
      <div class="menu-item"><h4 class="menu-item-name">Soup</h4><span class="menu-item-price">10</span></div>
      <div class="menu-item"><h4 class="menu-item-name">Olives</h4>
        <span class="menu-item-price">5</span></div></div>"""
    html = f"""<html><body><main><div class="menu-body" data-menu-slug="main">{section}</div>
    <div class="menu-body" data-menu-slug="brunch">{section}
      <div class="menu-section"><h2 class="menu-section-name">Brunch</h2>
      <div class="menu-item"><h4 class="menu-item-name">Eggs</h4>
        <span class="menu-item-price">13</span></div></div>
    </div></main></body></html>"""
    assert _flat(_menu(html, "dom")) == [
        ("Starters", "Soup", "10.00"),
        ("Starters", "Olives", "5.00"),
        ("Brunch", "Eggs", "13.00"),
    ]


def test_elementor_price_list_widget() -> None:
    # Elementor Pro's "Price List" widget (its render(): li.elementor-price-list-item › header › title,
    # separator, price; p.elementor-price-list-description), sections in Elementor heading widgets.
    def item(title: str, price: str, description: str) -> str:
        return (
            '<li class="elementor-price-list-item"><div class="elementor-price-list-text">'
            '<div class="elementor-price-list-header">'
            f'<span class="elementor-price-list-title">{title}</span>'
            '<span class="elementor-price-list-separator"></span>'
            f'<span class="elementor-price-list-price">{price}</span></div>'
            f'<p class="elementor-price-list-description">{description}</p></div></li>'
        )

    html = f"""<html><body><div class="elementor elementor-12"><section class="elementor-section">
    <div class="elementor-widget-heading">
      <h2 class="elementor-heading-title elementor-size-default">Polévky</h2></div>
    <div class="elementor-widget-price-list"><ul class="elementor-price-list">
      {item("Hovězí vývar s nudlemi", "49 Kč", "0,33 l")}
      {item("Česnečka", "49 Kč", "se sýrem a krutony")}</ul></div>
    <div class="elementor-widget-heading">
      <h2 class="elementor-heading-title elementor-size-default">Hlavní jídla</h2></div>
    <div class="elementor-widget-price-list"><ul class="elementor-price-list">
      {item("Vepřová žebra", "179 Kč", "BBQ omáčka")}
      {item("Smažený řízek", "169 Kč", "bramborový salát")}</ul></div>
    </section></div></body></html>"""
    menu = _menu(html, "dom")
    assert menu.currency == "CZK"
    assert _flat(menu) == [
        ("Polévky", "Hovězí vývar s nudlemi", "49.00"),
        ("Polévky", "Česnečka", "49.00"),
        ("Hlavní jídla", "Vepřová žebra", "179.00"),
        ("Hlavní jídla", "Smažený řízek", "169.00"),
    ]
    assert menu.items()[2].description == "BBQ omáčka"


def test_definition_list_menu() -> None:
    html = """<html><body><main><h3>Desserts</h3><dl class="menu">
      <dt>Sticky Toffee Pudding</dt><dd>with custard</dd><dd class="cost">£7.50</dd>
      <dt>Eton Mess</dt><dd>strawberries, meringue</dd><dd class="cost">£6.95</dd>
    </dl></main></body></html>"""
    menu = _menu(html, "dom")
    assert menu.currency == "GBP"
    assert _flat(menu) == [("Desserts", "Sticky Toffee Pudding", "7.50"), ("Desserts", "Eton Mess", "6.95")]


def test_a_price_class_in_french_with_leaders_after_a_bare_name() -> None:
    # A café's winter menu as written (12c's cp1252 capture): the name is the line's own text, the price
    # a "text-prix" span whose amount follows typographic leaders.
    html = """<html><body><div id="carte-plat"><h2>Les plats</h2><ul>
      <li>Suprême de poulet à la thaï, riz basmati <span class="text-prix">…… 14,50</span></li>
      <li>Filet de bœuf façon Rossini <span class="text-prix">…… 22,00</span></li></ul></div></body></html>"""
    assert _flat(_menu(html, "dom")) == [
        ("Les plats", "Suprême de poulet à la thaï, riz basmati", "14.50"),
        ("Les plats", "Filet de bœuf façon Rossini", "22.00"),
    ]
