"""Offline benchmarks: they read shared data files and measure engine components."""
