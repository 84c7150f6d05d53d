"""The revisions, oldest first: r0001 is heavylegs 0.1.0's schema; each later one a change to it."""
