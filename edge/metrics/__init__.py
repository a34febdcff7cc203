"""Metric engines: the engine protocol (base), classroom (with S-T), PE, audio, environment."""
