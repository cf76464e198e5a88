"""Apps of the lab's own benchmarks (not pitfalls): what the lab's instruments cost."""
