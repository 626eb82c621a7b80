"""What matching keeps between calls: the fitted relevance index and participant counts."""
