"""Checking a short typed answer (a blank, a flashcard's back) against the accepted ones."""
