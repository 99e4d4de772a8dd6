"""Domain counters every service exposes on /metrics (next to request counts and latencies).

Counters live here, not in each service, so a process that imports several services (tests,
the OpenAPI builder) registers each metric once.
"""

from __future__ import annotations

from prometheus_client import Counter

TRANSACTIONS_INGESTED = Counter(
    "smefin_transactions_ingested_total", "Transactions stored (duplicates not counted)"
)
SCORES_SERVED = Counter("smefin_scores_served_total", "Credit scores returned")
OFFERS_MADE = Counter("smefin_offers_made_total", "Financing offers made to applications")
APPLICATIONS_CREATED = Counter("smefin_applications_created_total", "Applications evaluated")
EVENTS_EMITTED = Counter("smefin_events_emitted_total", "Domain events written", ["type"])
