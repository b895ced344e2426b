"""Watch-fed in-memory caches of what the operator reads (the informer pattern, on kopf indexes)."""
