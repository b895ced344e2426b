"""Pure reconcile decisions: what each resource should look like, from what was observed."""
