"""Benchmarks behind `make bench`: each figure is a ratio to a limit measured in the same run."""
