"""The assignment engine: which item a rater gets next, leases, annotating, undo.

Split by reason to change: :mod:`.leases` (leases, counters, locks: what the rest
shares), :mod:`.pick` (``next``), :mod:`.gold_pick` (gold items in the queue),
:mod:`.answers` (answer, change, undo). Callers use the names re-exported here.

Invariants kept here (DESIGN.md):
- an item gets at most ``overlap`` labels from distinct raters; leases count
  against that budget while they live, and an expired lease gives its slot back;
- no rater gets the same item twice (a partial unique index backs this up);
- annotate is one short transaction: insert, release the lease, bump counters.

``next`` never scans the pool: it walks the partial index of open items by
priority and takes the first row it can lock (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL; on SQLite every transaction holds the single write lock).

Gold items (an engineer's items with a known answer) are never open: with
probability ``project.gold_rate`` a ``next`` serves instead the first gold item
(by id, on their own partial index) this rater has neither answered nor leased,
as long as a normal item is left for them too (so an empty queue never turns into
a queue of gold items, which would give them away). Served like any item (same
JSON, same lease); their leases and answers keep the item's counters honest but
never open it or fill a normal slot.
"""

from labeler.services.assignment.answers import (
    Answered,
    annotate,
    annotate_pg,
    answer,
    undo_last,
    validate_answer,
)
from labeler.services.assignment.leases import (
    Assignment,
    counters_consistent,
    find_item,
    item_dict,
    reclaim_expired,
    release,
)
from labeler.services.assignment.pick import next_item

__all__ = [
    "Answered",
    "Assignment",
    "annotate",
    "annotate_pg",
    "answer",
    "counters_consistent",
    "find_item",
    "item_dict",
    "next_item",
    "reclaim_expired",
    "release",
    "undo_last",
    "validate_answer",
]
