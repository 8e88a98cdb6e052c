"""Residents\x27 deliberation (民主协商, issue 22): meetings, linked appeals, decisions."""
