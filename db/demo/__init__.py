"""The demo command center: a district shaped like Jimo (DESIGN.md §6)."""
