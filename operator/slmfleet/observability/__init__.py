"""The operator's own Prometheus metrics: one registry (metrics.py), what one plan says
(plan_record.py) and the fleet read from the cache at scrape time (fleet.py)."""
