"""The blog's posts: a few seeded articles (a real blog would keep these in its database)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Post:
    slug: str
    title: str
    published: date
    author: str
    summary: str
    paragraphs: tuple[str, ...]


POSTS = (
    Post(
        slug="sourdough-starter-in-a-week",
        title="A sourdough starter in a week",
        published=date(2026, 11, 2),
        author="Maren Holt",
        summary="Flour, water, patience, and a jar with a loose lid: day by day notes.",
        paragraphs=(
            "Every baker I know has a story about their first starter. Mine smelled of nail "
            "polish on day three and I nearly threw it away. Don't: that is the yeast and "
            "bacteria sorting themselves out.",
            "Mix 50 g of wholemeal rye with 50 g of lukewarm water, cover loosely, and keep it "
            "somewhere around 24 °C. Each morning discard half and feed it the same again.",
            "By day six or seven it should double within six hours of a feed. That is your "
            "signal: it is ready to raise a loaf.",
        ),
    ),
    Post(
        slug="walking-the-coast-path",
        title="Three days on the coast path",
        published=date(2026, 10, 18),
        author="Maren Holt",
        summary="Sixty kilometres of cliffs, coves and one very persistent seagull.",
        paragraphs=(
            "We set off from the harbour in a drizzle that the forecast promised would lift "
            "by ten. It lifted by four.",
            "The second day made up for it: a long ridge above the sea, skylarks, and a café "
            "at the end of it that sold the best crab sandwich I have eaten.",
            "Pack light, pack a spare pair of socks, and keep your lunch away from the gulls.",
        ),
    ),
    Post(
        slug="fixing-a-wobbly-table",
        title="Fixing a wobbly table, properly",
        published=date(2026, 9, 30),
        author="Jonas Berg",
        summary="Folded beer mats are not a repair. Here is what is.",
        paragraphs=(
            "A table wobbles for one of two reasons: the floor is uneven, or the joints are "
            "loose. Find out which before you reach for the saw.",
            "Put the table on a surface you know is flat. If it still rocks, the legs differ "
            "in length; if it sways, glue and clamp the joints.",
        ),
    ),
)

BY_SLUG = {post.slug: post for post in POSTS}
