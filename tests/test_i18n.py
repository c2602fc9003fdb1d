"""Sites in several languages: layout, lang/dir, hreflang, translations, catalogs, search."""

from __future__ import annotations

import json
import re

import pytest
from conftest import article, build_site, read_tree, site_config
from test_build import rebuild_and_compare

from sitegen.errors import ConfigError, ContentError

CONFIG = """
title = "Daily Archive"
base_url = "https://news.example.org/"
git_history = false

[languages.en]
title = "Daily Archive"

[languages.es]
title = "Archivo Diario"
description = "Noticias en español"

[languages.ar]
title = "الأرشيف"
"""

FILES = {
    "content/2025/03/storm.md": article(
        "Storm hits the coast", "2025-03-04 09:24:00 -0500", "The storm arrived early.",
        section="Weather", tags=["Storms"], translation_key="storm-2025",
        updated="2025-03-05"),
    "content/2025/03/budget.md": article(
        "Council passes the budget", "2025-03-02 12:00:00 -0500", "The budget passed.",
        section="Politics"),
    "content/es/2025/03/tormenta.md": article(
        "La tormenta llega a la costa", "2025-03-04 10:00:00 -0500",
        "La tormenta llegó temprano.", section="Tiempo", tags=["Tormentas"], lang="es",
        translation_key="storm-2025", updated="2025-03-05"),
    "content/ar/asifa.md": article(
        "عاصفة تضرب الساحل", "2025-03-04 11:00:00 +0300", "وصلت العاصفة مبكرا.",
        lang="ar", slug="asifa", translation_of="2025/03/storm.md"),
}


@pytest.fixture
def site(make_site):
    return make_site(FILES, config=CONFIG)


def page(site, rel: str) -> str:
    return (site / "output" / rel).read_text(encoding="utf-8")


def test_each_language_has_its_own_pages_under_its_prefix(site):
    build_site(site)
    out = site / "output"
    assert (out / "2025/03/04/storm/index.html").is_file()
    assert (out / "es/2025/03/04/tormenta/index.html").is_file()
    assert not (out / "2025/03/04/tormenta").exists()
    for rel in ("es/index.html", "es/archive/index.html", "es/2025/03/index.html",
                "es/sections/tiempo/index.html", "es/tags/tormentas/index.html",
                "es/feed.xml", "es/atom.xml", "es/feed.json", "es/sitemap.xml",
                "es/search/index.html", "es/corrections/index.html", "ar/index.html"):
        assert (out / rel).is_file(), rel
    assert not (out / "es/404.html").exists()  # one 404 page, at the root
    home_es = page(site, "es/index.html")
    assert "La tormenta llega a la costa" in home_es
    assert "Storm hits the coast" not in home_es and "Council passes" not in home_es
    assert "La tormenta" not in page(site, "index.html")
    assert "<title>Archivo Diario</title>" in home_es


def test_html_lang_dir_and_localized_strings_and_dates(site):
    build_site(site)
    es = page(site, "es/2025/03/04/tormenta/index.html")
    assert '<html lang="es">' in es
    assert ">4 de marzo de 2025</time>" in es
    assert "Actualizado <time" in es and "Updated" not in es
    assert "Saltar al contenido" in es
    en = page(site, "2025/03/04/storm/index.html")
    assert '<html lang="en">' in en and ">March 4, 2025</time>" in en and "Updated <time" in en
    assert "<h1>marzo de 2025</h1>" in page(site, "es/2025/03/index.html")
    assert ">4 mar 2025</time>" in page(site, "es/index.html")


def test_a_right_to_left_language_gets_dir_rtl(site):
    build_site(site)
    assert '<html lang="ar" dir="rtl">' in page(site, "ar/2025/03/04/asifa/index.html")
    assert '<html lang="ar" dir="rtl">' in page(site, "ar/index.html")
    assert 'dir="rtl"' not in page(site, "es/index.html")


def test_translations_are_linked_with_hreflang_and_read_in(site):
    build_site(site)
    es = page(site, "es/2025/03/04/tormenta/index.html")
    alternates = re.findall(r'<link rel="alternate" hreflang="([^"]+)" href="([^"]+)">', es)
    assert alternates == [("en", "https://news.example.org/2025/03/04/storm/"),
                          ("es", "https://news.example.org/es/2025/03/04/tormenta/"),
                          ("ar", "https://news.example.org/ar/2025/03/04/asifa/")]
    assert re.search(r'Leer en: <a href="/2025/03/04/storm/" hreflang="en" lang="en">English'
                     r'</a>, <a href="/ar/2025/03/04/asifa/" hreflang="ar" lang="ar">العربية',
                     es)
    en = page(site, "2025/03/04/storm/index.html")
    assert 'Read in: <a href="/es/2025/03/04/tormenta/" hreflang="es" lang="es">Español' in en
    budget = page(site, "2025/03/02/budget/index.html")
    assert "hreflang" not in budget.split("</head>")[0] and "Read in" not in budget
    home = page(site, "index.html")
    assert '<link rel="alternate" hreflang="es" href="https://news.example.org/es/">' in home


def test_feeds_and_sitemaps_are_per_language(site):
    build_site(site)
    feed = page(site, "es/feed.xml")
    assert "<language>es</language>" in feed and "<title>Archivo Diario</title>" in feed
    assert "La tormenta" in feed and "Storm hits" not in feed
    assert "<language>en</language>" in page(site, "feed.xml")
    sitemap = page(site, "es/sitemap.xml")
    assert 'xmlns:xhtml="http://www.w3.org/1999/xhtml"' in sitemap
    assert ('<url><loc>https://news.example.org/es/2025/03/04/tormenta/</loc>'
            '<lastmod>2025-03-05T00:00:00+00:00</lastmod>'
            '<xhtml:link rel="alternate" hreflang="en" '
            'href="https://news.example.org/2025/03/04/storm/"/>') in sitemap
    assert "https://news.example.org/2025/" not in sitemap.replace('href="https://news', "")
    robots = page(site, "robots.txt")
    assert robots.endswith("Sitemap: https://news.example.org/sitemap.xml\n"
                           "Sitemap: https://news.example.org/es/sitemap.xml\n"
                           "Sitemap: https://news.example.org/ar/sitemap.xml\n")


def test_site_strings_override_the_catalogs(site):
    with (site / "sitegen.toml").open("a") as handle:
        handle.write('\n[strings.es]\n"Updated" = "Actualizada"\n')
    (site / "i18n").mkdir()
    (site / "i18n/es.yaml").write_text('"More articles": "Otras noticias"\n', encoding="utf-8")
    build_site(site)
    es = page(site, "es/2025/03/04/tormenta/index.html")
    assert "Actualizada <time" in es and 'aria-label="Otras noticias"' in es


def test_a_site_po_file_overrides_and_english_can_be_reworded(site):
    (site / "i18n").mkdir()
    (site / "i18n/en.po").write_text('msgid "Updated"\nmsgstr "Revised"\n', encoding="utf-8")
    build_site(site)
    assert "Revised <time" in page(site, "2025/03/04/storm/index.html")


def test_incremental_build_after_editing_a_translation_equals_a_clean_build(site):
    build_site(site)
    path = site / "content/es/2025/03/tormenta.md"
    path.write_text(path.read_text().replace("La tormenta llega", "La gran tormenta llega"),
                    encoding="utf-8")
    rebuild_and_compare(site, search=False)
    assert "La gran tormenta llega" in page(site, "es/index.html")
    # unlinking a translation drops the links on both sides
    path.write_text(path.read_text().replace("translation_key: storm-2025\n", ""),
                    encoding="utf-8")
    rebuild_and_compare(site, search=False)
    assert "/es/2025/03/04/tormenta/" not in page(site, "2025/03/04/storm/index.html")
    assert "Leer en" not in page(site, "es/2025/03/04/tormenta/index.html")


def test_prefix_all_puts_the_default_language_under_its_code_too(site):
    text = (site / "sitegen.toml").read_text().replace(
        'git_history = false\n', 'git_history = false\nlanguage_prefix_all = true\n')
    (site / "sitegen.toml").write_text(text)
    build_site(site)
    assert (site / "output/en/2025/03/04/storm/index.html").is_file()
    root = page(site, "index.html")
    assert 'http-equiv="refresh" content="0; url=/en/"' in root


def test_bad_language_settings_and_values_are_named(site, make_site):
    bad = make_site(FILES, config=CONFIG.replace("[languages.ar]", '[languages."zz Bad"]'),
                    name="bad")
    with pytest.raises(ConfigError, match="not a language code"):
        site_config(bad)
    other = make_site(FILES, config='default_language = "fr"\n' + CONFIG, name="default")
    with pytest.raises(ConfigError, match="default_language 'fr' is not one of the languages"):
        site_config(other)
    (site / "content/2025/03/fr.md").write_text(
        article("Bonjour", "2025-03-01", lang="fr"), encoding="utf-8")
    with pytest.raises(ContentError) as raised:
        build_site(site)
    assert "content/2025/03/fr.md:4" in str(raised.value)
    assert "is not one of the site's languages (en, es, ar)" in str(raised.value)


def test_translation_of_naming_no_article_is_an_error(site):
    (site / "content/ar/asifa.md").write_text(
        article("عاصفة", "2025-03-04", lang="ar", slug="asifa",
                translation_of="2025/03/missing.md"), encoding="utf-8")
    with pytest.raises(ContentError, match="translation_of '2025/03/missing.md' names no"):
        build_site(site)


def test_search_has_one_index_per_language(site):
    pytest.importorskip("pagefind")
    build_site(site, search=True)
    entry = json.loads(page(site, "pagefind/pagefind-entry.json"))
    assert sorted(entry["languages"]) == ["ar", "en", "es"]
    assert entry["languages"]["es"]["page_count"] == 1
    search = page(site, "es/search/index.html")
    assert '<html lang="es">' in search and 'id="search-all-languages"' in search
    assert 'id="search-all-languages"' in page(site, "search/index.html")


def test_a_site_of_one_language_has_no_language_switch(make_site):
    site = make_site({"content/a.md": article("One", "2025-03-01", lang="es")})
    build_site(site)
    tree = read_tree(site / "output")
    index = tree["2025/03/01/a/index.html"].decode()
    assert '<html lang="en">' in index and "hreflang" not in index
    assert 'class="languages"' not in index and "search-all-languages" not in \
        tree["search/index.html"].decode()
    assert not any(rel.startswith("es/") for rel in tree)
