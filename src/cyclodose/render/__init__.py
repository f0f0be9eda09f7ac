"""Rendering for people: concentration plots (`plots`) and the consult report (`consult`)."""
