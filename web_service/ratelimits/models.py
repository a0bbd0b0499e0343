from django.db import models


class RateCounter(models.Model):
    """Hits of one key (a scope and a person or address) in its current window.

    Written only by services.rate_hit, in one atomic statement; in the
    database, not a per-process cache, so every gunicorn worker and host
    counts together.
    """

    key = models.CharField(max_length=200, primary_key=True)
    # Seconds since the epoch: compared with plain arithmetic in that one
    # statement, the same on PostgreSQL and SQLite.
    window_start = models.FloatField(db_index=True)
    hits = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.key}: {self.hits}"
