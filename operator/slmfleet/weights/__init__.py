"""The weight cache: one volume per (namespace, repo, revision), filled once by a download Job."""
