"""Pure domain of Scrobble Exchange: entities, values and rules. Standard library only."""
