"""One lesson: the session that cuts windows, the live state the page reads, replay of recordings."""
