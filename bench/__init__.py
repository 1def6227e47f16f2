"""Benchmarks: scripts that measure and print numbers; the last line of each is one JSON object."""
