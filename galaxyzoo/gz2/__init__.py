"""The Galaxy Zoo 2 domain: the decision tree of the vote fractions and the output heads that respect it."""
