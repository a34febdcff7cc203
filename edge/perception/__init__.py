"""Frames -> people: the pose pipeline over models/, its options, per-frame pose features."""
