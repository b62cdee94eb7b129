"""Demo data for ``chorus seed-demo``: a coffee roaster's 90 days on five networks.

The data is synthetic but structured: weekly and daily rhythms, platform and media effects,
viral outliers, a trending hashtag and a small crisis, all listed in ``PLANTED`` so tests and
evals can check that an agent found them.
"""

from services.demo.planted import ADMIN_EMAIL, DEFAULT_DAYS, DEFAULT_SEED, DEMO_SLUG, PLANTED
from services.demo.seed import DemoSummary, seed_demo

__all__ = [
    "ADMIN_EMAIL",
    "DEFAULT_DAYS",
    "DEFAULT_SEED",
    "DEMO_SLUG",
    "PLANTED",
    "DemoSummary",
    "seed_demo",
]
