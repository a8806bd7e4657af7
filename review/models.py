"""Proposals, decisions and comments live here (the review capability builds on edition/)."""
