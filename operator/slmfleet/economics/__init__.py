"""Fleet economics: what a SmallModel costs per token and what a cascade saves (pure arithmetic)."""
