"""Review pages, split by topic: queue and decisions, proposing, history, the JSON API."""
