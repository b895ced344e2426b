"""Autoscaling of SmallModels: the pure decision, its signals, and its memory in status."""
