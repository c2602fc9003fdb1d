#!/usr/bin/env python3
"""Generate a deterministic synthetic news archive (for benchmarks and tests).

    python tools/genarchive.py DEST -n 2000 --seed 1 [--style hugo]

The same (n, seed) always gives byte-identical files: one `random.Random(seed)` drives
everything, nothing depends on the clock, on set order or on hash randomization.

The archive has the shape of a real one: ten years of dates (2015-2025) written in the mixed
formats real archives carry (see `DATE_FORMATS`) with mixed UTC offsets, some near midnight so
that the UTC day differs from the local day; ~8 sections; ~200 tags with a Zipf-like frequency;
~40 authors; story threads of 2-6 articles; ~10% briefs (front matter only); bodies of 400-700
words with headings, lists, emphasis and links to other generated articles' URLs.

`shortcodes=K` (`--shortcodes K`) puts K shortcode calls between the paragraphs of every
article that has a body (briefs stay front matter only: a body would make them full articles),
a mix of the common built-ins (`SHORTCODE_KINDS`: a figure with caption and credit, a YouTube
video, a pullquote, a note, in Hugo's and Liquid's syntaxes). They come from a random stream of
their own, so the rest of the archive is byte-identical to the one without them (sitegen style
only: Hugo has no pullquote or note).

`style="sitegen"` writes `DEST/YYYY/MM/<slug>.md` with sitegen's front matter.
`style="hugo"` writes the same articles as `DEST/content/posts/<slug>.md` with Hugo front
matter, plus `DEST/hugo.toml` and a minimal `DEST/layouts/`, so Hugo renders a comparable site
with the same article URLs (`/YYYY/MM/DD/<slug>/`).

Stdlib only: this file must run without the project's virtualenv.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

STYLES = ("sitegen", "hugo")

FIRST_DAY = date(2015, 1, 1)
DAY_SPAN = (date(2026, 1, 1) - FIRST_DAY).days  # 2015-01-01 .. 2025-12-31

# --------------------------------------------------------------------------- word lists

SECTIONS: tuple[tuple[str, int], ...] = (
    ("World", 18), ("U.S.", 16), ("Politics", 16), ("Business", 14),
    ("Technology", 10), ("Science", 8), ("Health", 9), ("Culture", 9),
)

_PLACE_HEADS = ("North", "South", "East", "West", "Port", "Lake", "Fair", "Green", "Stone", "Oak")
_PLACE_TAILS = ("ford", "field", "haven", "ton", "bridge", "dale", "wood", "brook")
# 80 fictional-sounding places, built by a fixed rule (not by the seed).
PLACES: tuple[str, ...] = tuple(h + t for h, t in itertools.product(_PLACE_HEADS, _PLACE_TAILS))

TOPIC_TAGS: tuple[str, ...] = (
    "Elections", "Budget", "Transit", "Housing", "Schools", "Public Health", "Climate", "Energy",
    "Water", "Courts", "Policing", "Immigration", "Trade", "Tariffs", "Labor", "Unions",
    "Inflation", "Interest Rates", "Banking", "Real Estate", "Technology",
    "Artificial Intelligence", "Cybersecurity", "Privacy", "Space", "Science", "Medicine",
    "Hospitals", "Vaccines", "Agriculture", "Drought", "Wildfires", "Floods", "Hurricanes",
    "Earthquakes", "Transportation", "Aviation", "Railways", "Roads", "Bridges", "Ports",
    "Shipping", "Tourism", "Arts", "Music", "Film", "Books", "Sports", "Football", "Basketball",
    "Baseball", "Soccer", "Tennis", "Olympics", "Education", "Universities", "Research",
    "Environment", "Wildlife", "Oceans", "Forests", "Pollution", "Recycling", "Taxes",
    "Pensions", "Welfare", "Poverty", "Homelessness", "Crime", "Corruption", "Lawsuits",
    "Legislature", "City Council", "Governor", "Mayor", "Diplomacy", "Defense", "Military",
    "Veterans", "Refugees", "Human Rights", "Protests", "Strikes", "Media", "Journalism",
    "Social Media", "Telecommunications", "Broadband", "Startups", "Mergers", "Retail",
    "Manufacturing", "Automobiles", "Electric Vehicles", "Oil", "Natural Gas", "Solar Power",
    "Wind Power", "Nuclear Power", "Mining", "Fisheries", "Food Safety", "Nutrition",
    "Mental Health", "Aging", "Childcare", "Families", "Religion", "History", "Archaeology",
    "Weather", "Census", "Demographics", "Zoning", "Public Safety", "Voting Rights",
    "Campaign Finance", "Ethics", "Transparency", "Infrastructure", "Sanitation", "Libraries",
    "Museums", "Festivals", "Obituaries", "Philanthropy", "Nonprofits",
)
TAGS: tuple[str, ...] = TOPIC_TAGS + PLACES  # ~210

_FIRST_NAMES = (
    "Avery", "Blake", "Casey", "Dana", "Elliot", "Frances", "Gale", "Harper", "Imani", "Jordan",
    "Kendall", "Lena", "Morgan", "Noor", "Oren", "Parker", "Quinn", "Rosa", "Sasha", "Tobias",
)
_LAST_NAMES = (
    "Abernathy", "Bellweather", "Castellano", "Draycott", "Ellery", "Fairbank", "Galloway",
    "Hollister", "Ingram", "Jessop", "Kowalczyk", "Lindqvist", "Marchetti", "Nakagawa",
    "Okonkwo", "Pemberton", "Quintero", "Rasmussen", "Szymanski", "Thornbury",
)

# Headline parts. Actors carry their verb agreement: (name, plural?).
ACTORS: tuple[tuple[str, bool], ...] = (
    ("Council", False), ("City Council", False), ("School Board", False), ("Mayor", False),
    ("Regulators", True), ("Lawmakers", True), ("Transit Agency", False),
    ("Port Authority", False), ("Health Officials", True), ("Police", True), ("Court", False),
    ("Voters", True), ("Residents", True), ("Farmers", True), ("Teachers Union", False),
    ("Hospital Group", False), ("Developers", True), ("Water Board", False), ("Utility", False),
    ("Startup", False), ("Researchers", True), ("Museum", False), ("University", False),
    ("Fire Officials", True), ("Planners", True), ("Retailers", True), ("Airport", False),
    ("Factory Workers", True), ("Tenants", True), ("Business Leaders", True),
    ("Environmental Groups", True), ("Election Officials", True), ("State Auditor", False),
    ("Housing Agency", False), ("Parks Department", False), ("Library Board", False),
    ("Chamber of Commerce", False), ("County Commissioners", True), ("Union Leaders", True),
    ("Scientists", True),
)
VERBS: tuple[tuple[str, str], ...] = (  # (singular, plural)
    ("Approves", "Approve"), ("Rejects", "Reject"), ("Delays", "Delay"), ("Weighs", "Weigh"),
    ("Backs", "Back"), ("Opposes", "Oppose"), ("Unveils", "Unveil"), ("Questions", "Question"),
    ("Revives", "Revive"), ("Scraps", "Scrap"), ("Expands", "Expand"), ("Trims", "Trim"),
    ("Defends", "Defend"), ("Challenges", "Challenge"), ("Reviews", "Review"),
    ("Pauses", "Pause"), ("Funds", "Fund"), ("Audits", "Audit"), ("Sues Over", "Sue Over"),
    ("Pushes for", "Push for"), ("Votes on", "Vote on"), ("Studies", "Study"),
    ("Signs Off on", "Sign Off on"), ("Rethinks", "Rethink"), ("Moves to Block", "Move to Block"),
    ("Seeks Delay on", "Seek Delay on"), ("Warns Against", "Warn Against"),
    ("Debates", "Debate"), ("Endorses", "Endorse"), ("Blocks", "Block"),
    ("Fast-Tracks", "Fast-Track"), ("Cuts Funding for", "Cut Funding for"),
    ("Proposes", "Propose"), ("Restores", "Restore"), ("Extends", "Extend"),
    ("Overhauls", "Overhaul"), ("Investigates", "Investigate"), ("Praises", "Praise"),
    ("Criticizes", "Criticize"), ("Finalizes", "Finalize"),
)
OBJECTS: tuple[str, ...] = (
    "New Transit Budget", "Housing Plan", "Water Rate Increase", "School Closures",
    "Bridge Repairs", "Downtown Rezoning", "Stadium Deal", "Police Contract", "Hospital Merger",
    "Solar Farm Proposal", "Wind Turbine Project", "Bike Lane Network", "Library Expansion",
    "Teacher Pay Raise", "Property Tax Hike", "Flood Barrier", "Airport Expansion",
    "Rent Control Measure", "Park Renovation", "Bus Route Cuts", "Broadband Rollout",
    "Data Center Project", "Pension Reform", "Election Audit", "Voting Machine Purchase",
    "Wildfire Response Plan", "Drought Restrictions", "Factory Reopening", "Port Dredging",
    "Highway Widening", "Light Rail Extension", "Affordable Housing Tower", "Homeless Shelter",
    "Clinic Closure", "Vaccine Campaign", "Museum Funding", "Festival Permit",
    "Fishing Quotas", "Mining Permit", "Landfill Expansion", "Recycling Program",
    "Curfew Proposal", "Noise Ordinance", "Minimum Wage Increase", "Childcare Subsidies",
    "Hiring Freeze", "Ethics Rules", "Surveillance Cameras", "Tree Planting Plan",
    "Sewer Upgrade", "Harbor Cleanup", "Ferry Service", "Parking Fees", "Sales Tax Measure",
    "Research Grant", "Satellite Launch", "Trade Mission", "Tourism Campaign",
    "Emergency Fund", "Levee Inspection", "Bond Measure", "Charter Amendment",
    "Redistricting Map", "Campaign Finance Rules", "School Lunch Program", "Reservoir Plan",
    "Power Plant Closure", "Electric Bus Fleet", "Crosswalk Safety Plan", "Zoo Renovation",
    "Town Hall Renovation", "Lead Pipe Removal", "Mental Health Hotline", "Senior Center",
    "Youth Sports League", "Farmers Market Rules", "Short-Term Rental Limits",
    "Heat Emergency Plan", "Snow Removal Budget", "Water Treatment Plant",
)
TITLE_TAILS: tuple[str, ...] = (
    "", "", "", "", "", "", " Amid Protests", " After Long Debate", " Despite Objections",
    " as Costs Rise", " Ahead of Vote", " After Audit", " in Narrow Vote", " for Second Year",
    " Following Storm", " Amid Budget Shortfall", " as Deadline Nears", " After Public Outcry",
    " Under New Rules", " Before Summer", " After Court Ruling", " Amid Staff Shortages",
    " as Enrollment Falls", " After Heavy Rains", " in Late-Night Session",
)
TITLE_PREFIXES: tuple[str, ...] = ("Analysis: ", "Explainer: ", "Update: ", "Opinion: ")
SUMMARY_ENDINGS: tuple[str, ...] = (
    "", "", "", ", officials said", ", according to public records",
    ", in a decision expected to draw debate", ", with more meetings planned",
    ", after months of discussion",
)

# Body parts. "{place}" and "{actor}" are filled in per article.
SUBJECTS: tuple[str, ...] = (
    "Officials in {place}", "The {actor}", "Residents of {place}",
    "A spokesperson for the {actor}", "Several council members", "Budget analysts",
    "Critics of the plan", "Supporters of the measure",
    "Local business owners", "Neighborhood groups", "State officials", "Independent auditors",
    "Community leaders", "A coalition of advocacy groups", "Economists who follow the region",
    "Opponents", "Union representatives", "Longtime residents", "Planning staff",
    "Two former officials", "The agency's director", "A consultant hired by the city",
    "Parents at the meeting", "Engineers who reviewed the proposal", "The mayor's office",
    "A regional trade group", "Members of the oversight committee", "Legal experts",
    "Volunteers in {place}", "Officials at the county level",
)
SAYS: tuple[str, ...] = (
    "said that", "said on Monday that", "said on Tuesday that", "said on Wednesday that",
    "said on Thursday that", "said on Friday that", "argued that", "warned that", "noted that",
    "told reporters that", "acknowledged that", "insisted that", "suggested that",
    "wrote in a letter that", "said in a statement that", "estimated that", "conceded that",
    "pointed out that", "have long argued that", "repeated that", "stressed that",
    "predicted that", "cautioned that", "told the newsroom that", "said in an interview that",
)
CLAUSES: tuple[str, ...] = (
    "the proposal would take several months to review",
    "costs had risen faster than expected over the past year",
    "the timeline could slip into next spring",
    "the money would be spent on repairs that were long overdue",
    "nobody had yet explained how the plan would be paid for",
    "the changes would affect thousands of households in {place}",
    "the first phase could begin as early as next year",
    "earlier estimates had left out the cost of maintenance",
    "the vote reflected a broad consensus among members",
    "the decision had been rushed without enough public input",
    "the numbers did not add up under any reasonable assumption",
    "similar efforts in neighboring towns had produced mixed results",
    "the project would create jobs during construction",
    "the measure would be revisited once new data became available",
    "the agency had been warned about the problem for years",
    "the state would need to approve any final agreement",
    "the figures released this week were preliminary",
    "the plan was a reasonable compromise given the constraints",
    "small businesses would bear most of the burden",
    "the debate had exposed deep divisions on the council",
    "the pilot program had been more popular than anticipated",
    "the cost per resident would be modest compared with other cities",
    "the schedule depended on contractors being available",
    "the existing system was no longer adequate for current demand",
    "the question would likely end up in court",
    "public comments had been overwhelmingly negative",
    "the board would hold another hearing before any final decision",
    "the report left several important questions unanswered",
    "the savings would be smaller than the original projections",
    "a lawsuit over the matter remained pending",
    "the program had met most of its targets for the year",
    "residents deserved a clearer explanation of the trade-offs",
    "the new rules would be phased in over three years",
    "the shortfall was caused by lower tax revenue",
    "a federal grant could cover part of the cost",
    "the proposal had been rewritten several times since the summer",
    "turnout at public meetings had been unusually high",
    "the delay would raise the total price of the project",
    "there was still time to change course",
    "the consultants' assumptions were too optimistic",
)
CLAUSE_TAILS: tuple[str, ...] = (
    "", "", "", "", ", according to records released this week",
    " during a public hearing that ran late into the evening",
    ", though few details were made public", " after a closed-door meeting",
    ", citing figures from the last annual report", " in remarks after the session",
    ", a point echoed by several speakers", ", without offering specifics",
)
STANDALONE: tuple[str, ...] = (
    "The vote is expected next month.", "No timeline has been set.",
    "The meeting drew a larger crowd than usual.", "The full report runs to more than 200 pages.",
    "Officials did not respond to requests for comment.", "The issue has come up before.",
    "Public comment will remain open for thirty days.", "A final decision is not expected soon.",
    "The figures have not been independently verified.", "Both sides claimed a partial victory.",
    "Attendance at the hearing was limited to the first hundred people.",
    "The proposal still needs a second reading.", "Documents show the idea dates back a decade.",
    "The budget year begins in July.", "Several speakers asked for more time.",
    "The agency said it would publish more details online.",
    "Construction crews are already on site.", "The outcome remains uncertain.",
)
QUOTES: tuple[str, ...] = (
    "We have to get this right", "This is not the end of the conversation",
    "People in {place} deserve better", "The numbers speak for themselves",
    "We heard the concerns and we made changes", "Nobody wanted it to come to this",
    "It is a fair deal for everyone involved", "We will keep pushing",
    "There is still a lot of work to do", "I think the public will judge this for itself",
)
SPEAKERS: tuple[str, ...] = (
    "one council member", "a spokesperson for the {actor}", "a longtime resident",
    "the board's chair", "an official who asked not to be named", "a local shop owner",
    "the agency's director", "a union representative",
)
HEADINGS: tuple[str, ...] = (
    "What happens next", "Background", "The numbers", "Reaction", "Why it matters",
    "A long history", "The debate", "Costs and funding", "Who is affected", "The timeline",
    "Looking ahead", "What critics say",
)
LIST_INTROS: tuple[str, ...] = (
    "The plan includes:", "Key points from the report:", "Among the changes:",
    "What the proposal would do:", "The main objections raised at the meeting:",
)
LIST_ITEMS: tuple[str, ...] = (
    "funding for the first phase of construction", "a new oversight committee",
    "quarterly public progress reports", "a cap on annual fee increases",
    "an independent review of the budget", "hiring freezes in two departments",
    "a pilot program in three neighborhoods", "new reporting rules for contractors",
    "an emergency reserve fund", "longer public comment periods",
    "a study of the long-term costs", "stricter limits on overtime",
    "a review of existing contracts", "expanded service on weekends",
    "grants for small businesses", "a schedule for public hearings",
)
LINK_SENTENCES: tuple[str, ...] = (
    "The {actor} first took up the issue last year, as reported in [{title}]({url}).",
    "See also: [{title}]({url}).",
    "Earlier coverage: [{title}]({url}).",
    "The debate echoes one covered in [{title}]({url}).",
    "For background, read [our earlier report]({url}).",
)
UPDATE_NOTES: tuple[str, ...] = (
    "**Update:** This article has been updated with comments from officials.",
    "**Update:** The meeting has been rescheduled.",
)
CORRECTIONS: tuple[str, ...] = (
    "An earlier version of this article misstated the date of the vote.",
    "An earlier version of this article misspelled the name of a council member.",
    "An earlier version of this article gave an incorrect figure for the budget.",
)
SOURCES: tuple[str, ...] = ("Staff", "Wire Services", "Pool Report")

# (offset minutes, weight): mostly North America and Europe, some Asia, a few half hours.
OFFSETS: tuple[tuple[int, int], ...] = (
    (-300, 25), (-240, 15), (-480, 8), (-420, 5), (-360, 5), (-180, 2), (0, 10), (60, 10),
    (120, 6), (180, 3), (330, 4), (345, 1), (480, 3), (540, 4), (600, 2),
)
# Newsroom hours: quiet at night, busy in the day.
HOUR_WEIGHTS: tuple[int, ...] = (
    2, 1, 1, 1, 1, 2, 4, 7, 9, 10, 10, 10, 9, 9, 10, 10, 9, 8, 7, 6, 5, 4, 3, 2,
)
# The front matter date formats real archives mix (PyYAML reads them as noted).
DATE_FORMATS: tuple[tuple[str, int], ...] = (
    ("space", 30),     # 2019-02-14 09:24:00 -0500        (str)
    ("short", 8),      # 2015-03-17 14:00:00 -4           (datetime, whole-hour offsets only)
    ("hour1", 8),      # 2026-02-14 8:32:24 -0400         (str, hour not zero-padded)
    ("date", 10),      # 2026-02-01                       (date, read in the site's timezone)
    ("naive", 8),      # 2026-02-03 10:15:00              (datetime without offset)
    ("iso_quoted", 14),  # '2026-02-10T11:02:00-05:00'    (str)
    ("iso", 6),        # 2026-02-10T11:02:00-05:00        (aware datetime)
    ("iso_z_ms", 8),   # 2026-02-07T00:00:00.000Z         (aware datetime, UTC)
    ("iso_z_quoted", 8),  # '2026-02-05T14:30:00Z'        (str, UTC)
)
UTC_FORMATS = frozenset({"iso_z_ms", "iso_z_quoted"})

# Shortcode calls (`--shortcodes`): templates filled from an article's own words, each a
# block of its own between two paragraphs. Paired ones carry inner Markdown.
SHORTCODE_KINDS: tuple[str, ...] = ("figure", "youtube", "youtube-liquid", "pullquote", "note")
NOTE_TITLES: tuple[str, ...] = ("Editor's note", "Correction", "Update", "Background")
PHOTO_CREDITS: tuple[str, ...] = ("Staff photo", "Pool photo", "Courtesy of the city",
                                  "Wire Services")

_SLUG_RE = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    """python-slugify's default result for the ASCII titles generated here."""
    return _SLUG_RE.sub("-", text.lower()).strip("-")


def _cum(weights: list[int] | tuple[int, ...]) -> list[int]:
    return list(itertools.accumulate(weights))


# --------------------------------------------------------------------------- records


@dataclass(slots=True)
class Article:
    """One generated article; `local` is its time in its own UTC offset."""

    title: str
    slug: str
    explicit_slug: bool
    local: datetime
    fmt: str
    section: str
    tags: list[str]
    authors: list[str]
    single_author_key: bool
    summary: str
    place: str
    actor: str
    brief: bool = False
    draft: bool = False
    story: str | None = None
    updated: datetime | None = None
    dateline: str | None = None
    source: str | None = None
    link: str | None = None
    corrections: list[tuple[date, str]] = field(default_factory=list)
    body: str = ""

    @property
    def written(self) -> datetime:
        """The wall-clock time as written in the front matter (UTC for the `Z` formats)."""
        return self.local.astimezone(UTC) if self.fmt in UTC_FORMATS else self.local

    @property
    def url(self) -> str:
        """The article URL contract: `/YYYY/MM/DD/<slug>/`, date as written."""
        return f"/{self.written:%Y/%m/%d}/{self.slug}/"


def _offset(dt: datetime, colon: bool) -> str:
    minutes = int(dt.utcoffset().total_seconds()) // 60  # type: ignore[union-attr]
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}" if colon else f"{sign}{hours:02d}{mins:02d}"


def format_date(dt: datetime, fmt: str) -> str:
    """`dt` (aware) as a YAML front matter value in format `fmt`."""
    if fmt in UTC_FORMATS:
        u = dt.astimezone(UTC)
        if fmt == "iso_z_ms":
            return f"{u:%Y-%m-%dT%H:%M:%S}.{u.microsecond // 1000:03d}Z"
        return f"'{u:%Y-%m-%dT%H:%M:%SZ}'"
    if fmt == "date":
        return f"{dt:%Y-%m-%d}"
    if fmt == "naive":
        return f"{dt:%Y-%m-%d %H:%M:%S}"
    if fmt == "iso_quoted":
        return f"'{dt:%Y-%m-%dT%H:%M:%S}{_offset(dt, True)}'"
    if fmt == "iso":
        return f"{dt:%Y-%m-%dT%H:%M:%S}{_offset(dt, True)}"
    if fmt == "hour1":
        return f"{dt:%Y-%m-%d} {dt.hour}:{dt:%M:%S} {_offset(dt, False)}"
    if fmt == "short":
        minutes = int(dt.utcoffset().total_seconds()) // 60  # type: ignore[union-attr]
        if minutes and minutes % 60 == 0:
            return f"{dt:%Y-%m-%d %H:%M:%S} {minutes // 60:+d}"
    return f"{dt:%Y-%m-%d %H:%M:%S} {_offset(dt, False)}"  # "space" and the fallback


def rfc3339(dt: datetime, fmt: str) -> str:
    """The same instant for Hugo, keeping the written date (dates without offset as UTC)."""
    if fmt in UTC_FORMATS:
        return f"{dt.astimezone(UTC):%Y-%m-%dT%H:%M:%S}Z"
    if fmt == "date":
        return f"{dt:%Y-%m-%d}T00:00:00Z"
    if fmt == "naive":
        return f"{dt:%Y-%m-%dT%H:%M:%S}Z"
    return f"{dt:%Y-%m-%dT%H:%M:%S}{_offset(dt, True)}"


# --------------------------------------------------------------------------- generation


class _Generator:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        rng = self.rng
        pairs = list(itertools.product(_FIRST_NAMES, _LAST_NAMES))
        self.authors = [f"{a} {b}" for a, b in rng.sample(pairs, 40)]
        tags = list(TAGS)
        rng.shuffle(tags)  # which tags are common depends on the seed
        self.tags = tags
        # Zipf-like (1 / (rank + 3)): the top tag is on ~15% of articles, the rarest on ~0.2%.
        self.tag_cum = _cum([round(1_000_000 / (rank + 3)) for rank in range(len(tags))])
        self.section_names = [s for s, _ in SECTIONS]
        self.section_cum = _cum([w for _, w in SECTIONS])
        self.offsets = [timezone(timedelta(minutes=m)) for m, _ in OFFSETS]
        self.offset_cum = _cum([w for _, w in OFFSETS])
        self.hour_cum = _cum(HOUR_WEIGHTS)
        self.fmt_names = [f for f, _ in DATE_FORMATS]
        self.fmt_cum = _cum([w for _, w in DATE_FORMATS])
        self.taken: set[str] = set()
        self.story_keys: set[str] = set()

    def pick(self, items: Sequence[T], cum: list[int]) -> T:
        return self.rng.choices(items, cum_weights=cum)[0]

    def when(self) -> tuple[datetime, str]:
        rng = self.rng
        day = FIRST_DAY + timedelta(days=rng.randrange(DAY_SPAN))
        tz = self.pick(self.offsets, self.offset_cum)
        hour = self.pick(range(24), self.hour_cum)
        minute = rng.randrange(60)
        second = 0 if rng.random() < 0.6 else rng.randrange(60)
        offset_min = int(tz.utcoffset(None).total_seconds()) // 60
        if rng.random() < 0.07 and offset_min:
            # Near midnight, on the side where the UTC day differs from the local one.
            if offset_min < 0:
                hour, minute = 23, rng.randrange(30, 60)
            else:
                hour, minute = 0, rng.randrange(0, 30)
        local = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=tz)
        fmt = self.pick(self.fmt_names, self.fmt_cum)
        if fmt == "hour1" and hour >= 10:
            local = local.replace(hour=rng.randrange(0, 10))
        if fmt == "iso_z_ms":
            millis = rng.randrange(1000) if rng.random() < 0.3 else 0
            local = local.replace(microsecond=millis * 1000)
        return local, fmt

    def title(self) -> tuple[str, str, str, str, str]:
        """A title whose slug is not taken yet: (title, slug, place, actor, summary)."""
        rng = self.rng
        while True:
            place = rng.choice(PLACES)
            actor, plural = rng.choice(ACTORS)
            verb = rng.choice(VERBS)[1 if plural else 0]
            obj = rng.choice(OBJECTS)
            tail = rng.choice(TITLE_TAILS)
            if rng.random() < 0.5:
                title = f"{place} {actor} {verb} {obj}{tail}"
            else:
                title = f"{actor} in {place} {verb} {obj}{tail}"
            if rng.random() < 0.05:
                title = rng.choice(TITLE_PREFIXES) + title
            slug = slugify(title)
            if slug not in self.taken:
                self.taken.add(slug)
                ending = rng.choice(SUMMARY_ENDINGS)
                summary = (f"The {actor.lower()} in {place} {verb.lower()} "
                           f"{obj.lower()}{tail.lower()}{ending}.")
                return title, slug, place, actor, summary

    def article(self) -> Article:
        rng = self.rng
        title, slug, place, actor, summary = self.title()
        explicit = False
        if rng.random() < 0.05:
            short = "-".join(slug.split("-")[:5])
            if short not in self.taken:
                self.taken.add(short)
                slug, explicit = short, True
        local, fmt = self.when()
        section = self.pick(self.section_names, self.section_cum)
        want = self.pick([1, 2, 3, 4], [30, 65, 90, 100])
        tags: list[str] = []
        for _ in range(12):
            tag = self.pick(self.tags, self.tag_cum)
            if tag not in tags:
                tags.append(tag)
                if len(tags) == want:
                    break
        authors = [rng.choice(self.authors)]
        if rng.random() < 0.15:
            second = rng.choice(self.authors)
            if second != authors[0]:
                authors.append(second)
        art = Article(
            title=title, slug=slug, explicit_slug=explicit, local=local, fmt=fmt,
            section=section, tags=tags, authors=authors,
            single_author_key=len(authors) == 1 and rng.random() < 0.25,
            summary=summary, place=place, actor=actor.lower(),
        )
        art.brief = rng.random() < 0.10
        art.draft = rng.random() < 0.005
        if rng.random() < 0.10:
            art.updated = local + timedelta(minutes=rng.randrange(30, 72 * 60))
        if not art.brief and rng.random() < 0.5:
            art.dateline = place.upper()
        if rng.random() < 0.2:
            art.source = rng.choice(SOURCES)
        if art.brief and rng.random() < 0.4:
            art.link = f"https://example.com/{local:%Y/%m}/{slug}"
        if not art.brief and rng.random() < 0.02:
            fixed = (local + timedelta(days=rng.randrange(1, 10))).date()
            art.corrections.append((fixed, rng.choice(CORRECTIONS)))
        return art

    def threads(self, arts: list[Article]) -> None:
        """Tie runs of 2-6 consecutive same-section articles into stories (~15%)."""
        rng = self.rng
        by_section: dict[str, list[int]] = {name: [] for name in self.section_names}
        for i, art in enumerate(arts):
            by_section[art.section].append(i)
        for order in by_section.values():
            order.sort(key=lambda i: (arts[i].local.timestamp(), i))
            i = 0
            while i < len(order):
                if rng.random() >= 0.04:
                    i += 1
                    continue
                size = rng.randint(2, 6)
                run = order[i:i + size]
                i += size
                if len(run) < 2:
                    continue
                base = "-".join(arts[run[0]].slug.split("-")[:4])
                key, k = base, 2
                while key in self.story_keys:
                    key, k = f"{base}-{k}", k + 1
                self.story_keys.add(key)
                for j in run:
                    arts[j].story = key

    def bodies(self, arts: list[Article]) -> Iterator[Article]:
        """Fill in each article's body, yielding it (so a writer can drop it after use)."""
        rng = self.rng
        by_story: dict[str, list[int]] = {}
        for i, a in enumerate(arts):
            if a.story:
                by_story.setdefault(a.story, []).append(i)
        for members in by_story.values():
            members.sort(key=lambda j: (arts[j].local.timestamp(), j))
        linkable = [i for i, a in enumerate(arts) if not a.draft]
        for i, art in enumerate(arts):
            if art.brief:
                yield art
                continue
            target = None
            if art.story and rng.random() < 0.7:
                members = by_story[art.story]
                pos = members.index(i)
                if pos > 0 and not arts[members[pos - 1]].draft:
                    target = arts[members[pos - 1]]
            if target is None and len(linkable) > 1 and rng.random() < 0.3:
                j = rng.choice(linkable)
                if j != i:
                    target = arts[j]
            art.body = self.body(art, target)
            yield art

    def sentence(self) -> tuple[str, int]:
        # The hot loop: indexing with random() is ~3x faster than Random.choice.
        r = self.rng.random
        x = r()
        if x < 0.12:
            s = STANDALONE[int(r() * len(STANDALONE))]
        elif x < 0.20:
            s = (f'"{QUOTES[int(r() * len(QUOTES))]}," '
                 f"{SPEAKERS[int(r() * len(SPEAKERS))]} said.")
        else:
            clause = CLAUSES[int(r() * len(CLAUSES))]
            if r() < 0.08:
                clause = f"*{clause}*"
            s = (f"{SUBJECTS[int(r() * len(SUBJECTS))]} {SAYS[int(r() * len(SAYS))]} "
                 f"{clause}{CLAUSE_TAILS[int(r() * len(CLAUSE_TAILS))]}.")
        return s, s.count(" ") + 1

    def body(self, art: Article, target: Article | None) -> str:
        rng = self.rng
        goal = rng.randint(400, 700)
        words = 0
        paragraphs: list[str] = []
        while words < goal:
            sentences = []
            for _ in range(rng.randint(3, 6)):
                s, wc = self.sentence()
                sentences.append(s)
                words += wc
            paragraphs.append(" ".join(sentences))
        blocks: list[str] = list(paragraphs)
        if len(blocks) > 3 and rng.random() < 0.25:
            items = rng.sample(LIST_ITEMS, rng.randint(3, 5))
            listing = rng.choice(LIST_INTROS) + "\n\n" + "\n".join(f"- {x}" for x in items)
            blocks.insert(rng.randint(2, len(blocks) - 1), listing)
        if len(blocks) > 3 and rng.random() < 0.35:
            for heading in rng.sample(HEADINGS, rng.randint(1, 2)):
                blocks.insert(rng.randint(2, len(blocks) - 1), f"## {heading}")
        if target is not None:
            link = rng.choice(LINK_SENTENCES).format(
                actor="{actor}", title=target.title, url=target.url)
            at = rng.randint(1, len(blocks))
            blocks.insert(at, link)
        if art.updated is not None and rng.random() < 0.3:
            blocks.insert(0, rng.choice(UPDATE_NOTES))
        text = "\n\n".join(blocks) + "\n"
        return text.replace("{place}", art.place).replace("{actor}", art.actor)


def _fill(text: str, art: Article) -> str:
    return text.replace("{place}", art.place).replace("{actor}", art.actor)


def shortcode_call(kind: str, art: Article, number: int, rng: random.Random) -> str:
    """One call of `kind` (see SHORTCODE_KINDS), its text drawn from `rng`."""
    if kind == "figure":
        caption = _fill(rng.choice(CLAUSES), art)
        return (f'{{{{< figure src="https://photos.example.com/{art.local:%Y/%m}/{art.slug}-'
                f'{number}.jpg" alt="{art.place}: {caption}" caption="{caption.capitalize()}." '
                f'credit="{rng.choice(PHOTO_CREDITS)}" >}}}}')
    if kind in ("youtube", "youtube-liquid"):
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
        video = "".join(alphabet[int(rng.random() * len(alphabet))] for _ in range(11))
        if kind == "youtube-liquid":
            return f"{{% youtube {video} %}}"
        return f'{{{{< youtube id="{video}" title="Video: {art.title.replace(chr(34), "")}" >}}}}'
    if kind == "pullquote":
        quote = rng.choice(QUOTES)
        return (f'{{{{< pullquote cite="{rng.choice(SPEAKERS)}" >}}}}{quote}'
                f"{{{{< /pullquote >}}}}")
    if kind == "note":
        text = _fill(rng.choice(CLAUSES), art)
        return (f'{{{{% note title="{rng.choice(NOTE_TITLES)}" %}}}}\n'
                f"Readers asked why *{art.actor}* said {text}.\n{{{{% /note %}}}}")
    raise ValueError(f"unknown shortcode kind {kind!r}")


def with_shortcodes(art: Article, count: int, rng: random.Random) -> str:
    """The article's body with `count` calls, each between two blocks (never first)."""
    blocks = art.body.rstrip("\n").split("\n\n")
    for number in range(1, count + 1):
        kind = SHORTCODE_KINDS[int(rng.random() * len(SHORTCODE_KINDS))]
        blocks.insert(rng.randint(1, len(blocks)), shortcode_call(kind, art, number, rng))
    return "\n\n".join(blocks) + "\n"


def iter_articles(n: int, seed: int = 1, shortcodes: int = 0) -> Iterator[Article]:
    """The n articles for (n, seed) in generation order (not by date), each with its body.

    All metadata is made first (links need every URL); bodies are made one at a time, so a
    caller that drops each body after use keeps memory flat for large n. `shortcodes` calls
    go into each body from a random stream of their own (see the module docstring).
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    if shortcodes < 0:
        raise ValueError("shortcodes must be >= 0")
    gen = _Generator(seed)
    arts = [gen.article() for _ in range(n)]
    gen.threads(arts)
    calls = random.Random(f"shortcodes-{seed}")
    for art in gen.bodies(arts):
        if shortcodes and art.body:
            art.body = with_shortcodes(art, shortcodes, calls)
        yield art


def build_articles(n: int, seed: int = 1, shortcodes: int = 0) -> list[Article]:
    """The n articles for (n, seed), in generation order, bodies included."""
    return list(iter_articles(n, seed, shortcodes))


# --------------------------------------------------------------------------- writing


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def _flow(items: list[str]) -> str:
    return "[" + ", ".join(_q(x) for x in items) + "]"


def sitegen_text(art: Article) -> str:
    lines = ["---", f"title: {_q(art.title)}", f"date: {format_date(art.local, art.fmt)}"]
    if art.explicit_slug:
        lines.append(f"slug: {art.slug}")
    if art.updated is not None:
        lines.append(f"updated: {format_date(art.updated, 'iso_quoted')}")
    lines.append(f"section: {_q(art.section)}")
    lines.append(f"tags: {_flow(art.tags)}")
    if art.single_author_key:
        lines.append(f"author: {_q(art.authors[0])}")
    else:
        lines.append(f"authors: {_flow(art.authors)}")
    lines.append(f"summary: {_q(art.summary)}")
    if art.story:
        lines.append(f"story: {art.story}")
    if art.dateline:
        lines.append(f"dateline: {_q(art.dateline)}")
    if art.source:
        lines.append(f"source: {_q(art.source)}")
    if art.link:
        lines.append(f"link: {art.link}")
    if art.draft:
        lines.append("draft: true")
    if art.corrections:
        lines.append("corrections:")
        for day, text in art.corrections:
            lines.append(f"  - date: {day:%Y-%m-%d}")
            lines.append(f"    text: {_q(text)}")
    lines.append("---")
    head = "\n".join(lines) + "\n"
    return head + art.body


def hugo_text(art: Article) -> str:
    lines = [
        "---",
        f"title: {_q(art.title)}",
        f"date: {rfc3339(art.local, art.fmt)}",
    ]
    if art.updated is not None:
        lines.append(f"lastmod: {rfc3339(art.updated, 'iso')}")
    lines += [
        f"slug: {art.slug}",
        f"summary: {_q(art.summary)}",
        f"tags: {_flow(art.tags)}",
        f"categories: {_flow([art.section])}",
        f"authors: {_flow(art.authors)}",
    ]
    if art.draft:
        lines.append("draft: true")
    if art.story:
        lines.append(f"story: {art.story}")
    if art.dateline:
        lines.append(f"dateline: {_q(art.dateline)}")
    lines.append("---")
    return "\n".join(lines) + "\n" + art.body


HUGO_CONFIG = """\
baseURL = "http://localhost/"
languageCode = "en"
title = "Generated archive"
timeZone = "UTC"

[taxonomies]
tag = "tags"
category = "categories"
author = "authors"

[permalinks]
posts = "/:year/:month/:day/:slug/"

[pagination]
pagerSize = 50
"""

_HUGO_PAGER = """\
{{ with $p }}{{ if gt .TotalPages 1 }}<nav class="pager">
{{ with .Prev }}<a rel="prev" href="{{ .URL }}">Newer</a>{{ end }}
<span>Page {{ .PageNumber }} of {{ .TotalPages }}</span>
{{ with .Next }}<a rel="next" href="{{ .URL }}">Older</a>{{ end }}
</nav>{{ end }}{{ end }}"""

_HUGO_ITEMS = """\
{{ range $p.Pages -}}
<li><a href="{{ .RelPermalink }}">{{ .Title }}</a>
<time datetime="{{ .Date.Format "2006-01-02T15:04:05Z07:00" }}">
{{- .Date.Format "2006-01-02" }}</time></li>
{{ end }}</ul>"""

HUGO_LAYOUTS: dict[str, str] = {
    "baseof.html": """\
<!doctype html>
<html lang="{{ site.LanguageCode | default "en" }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ if not .IsHome }}{{ .Title }} | {{ end }}{{ site.Title }}</title>
</head>
<body>
<header><a href="{{ "/" | relURL }}">{{ site.Title }}</a></header>
<main>{{ block "main" . }}{{ end }}</main>
</body>
</html>
""",
    "single.html": """\
{{ define "main" }}
<article>
<h1>{{ .Title }}</h1>
<p><time datetime="{{ .Date.Format "2006-01-02T15:04:05Z07:00" }}">
{{- .Date.Format "January 2, 2006 15:04" }}</time>
{{- with .GetTerms "authors" }} by {{ range $i, $a := . }}{{ if $i }}, {{ end -}}
<a href="{{ $a.RelPermalink }}">{{ $a.LinkTitle }}</a>{{ end }}{{ end }}
{{- with .GetTerms "categories" }} in {{ range . -}}
<a href="{{ .RelPermalink }}">{{ .LinkTitle }}</a>{{ end }}{{ end }}</p>
{{ with .GetTerms "tags" }}<ul class="tags">{{ range . -}}
<li><a href="{{ .RelPermalink }}">{{ .LinkTitle }}</a></li>{{ end }}</ul>{{ end }}
{{ with .Params.summary }}<p class="summary">{{ . }}</p>{{ end }}
{{ .Content }}
</article>
{{ end }}
""",
    "list.html": """\
{{ define "main" }}
<h1>{{ if .IsHome }}{{ site.Title }}{{ else }}{{ .Title }}{{ end }}</h1>
{{ $p := .Paginate .RegularPagesRecursive.ByDate.Reverse }}
<ul class="headlines">
""" + _HUGO_ITEMS + """
""" + _HUGO_PAGER + """
{{ end }}
""",
    "taxonomy.html": """\
{{ define "main" }}
<h1>{{ .Title }}</h1>
<ul class="terms">
{{ range .Data.Terms.Alphabetical -}}
<li><a href="{{ .Page.RelPermalink }}">{{ .Page.LinkTitle }}</a> ({{ .Count }})</li>
{{ end }}</ul>
{{ end }}
""",
    "term.html": """\
{{ define "main" }}
<h1>{{ .Title }}</h1>
{{ $p := .Paginate .Pages.ByDate.Reverse }}
<ul class="headlines">
""" + _HUGO_ITEMS + """
""" + _HUGO_PAGER + """
{{ end }}
""",
}


def _write(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def generate(dest: Path, n: int, seed: int = 1, style: str = "sitegen",
             shortcodes: int = 0) -> list[Path]:
    """Write n articles into `dest`; return the article files in generation order.

    style "sitegen": `dest/YYYY/MM/<slug>.md` (the year and month of the written date).
    style "hugo": `dest/content/posts/<slug>.md` plus `dest/hugo.toml` and `dest/layouts/`.
    Existing files at those paths are overwritten; nothing else in `dest` is touched.
    `shortcodes`: calls per article with a body (sitegen style only).
    """
    if style not in STYLES:
        raise ValueError(f"style must be one of {', '.join(STYLES)}, not {style!r}")
    if shortcodes and style != "sitegen":
        raise ValueError("shortcodes are generated for the sitegen style only")
    dest = Path(dest)
    arts = iter_articles(n, seed, shortcodes)
    paths: list[Path] = []
    if style == "sitegen":
        made: set[str] = set()
        for art in arts:
            month = f"{art.written:%Y/%m}"
            folder = dest / month
            if month not in made:
                folder.mkdir(parents=True, exist_ok=True)
                made.add(month)
            path = folder / f"{art.slug}.md"
            _write(path, sitegen_text(art))
            art.body = ""
            paths.append(path)
        return paths
    posts = dest / "content" / "posts"
    posts.mkdir(parents=True, exist_ok=True)
    for art in arts:
        path = posts / f"{art.slug}.md"
        _write(path, hugo_text(art))
        art.body = ""
        paths.append(path)
    _write(dest / "hugo.toml", HUGO_CONFIG)
    layouts = dest / "layouts" / "_default"
    layouts.mkdir(parents=True, exist_ok=True)
    for name, text in HUGO_LAYOUTS.items():
        _write(layouts / name, text)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", type=Path, help="folder to write into (created if missing)")
    parser.add_argument("-n", "--count", type=int, default=2000, help="number of articles")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--style", choices=STYLES, default="sitegen")
    parser.add_argument("--shortcodes", type=int, default=0, metavar="K",
                        help="K shortcode calls in every article with a body (sitegen style)")
    parser.add_argument("-q", "--quiet", action="store_true")
    args = parser.parse_args(argv)
    if args.count < 0:
        parser.error("-n must be >= 0")
    if args.shortcodes < 0:
        parser.error("--shortcodes must be >= 0")
    if args.shortcodes and args.style != "sitegen":
        parser.error("--shortcodes works with --style sitegen only (Hugo has no pullquote "
                     "or note)")
    start = time.perf_counter()
    paths = generate(args.dest, args.count, seed=args.seed, style=args.style,
                     shortcodes=args.shortcodes)
    if not args.quiet:
        print(f"wrote {len(paths)} articles ({args.style}) to {args.dest} "
              f"in {time.perf_counter() - start:.2f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
