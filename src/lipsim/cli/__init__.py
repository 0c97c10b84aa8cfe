"""Command-line entry points: ``lipsim-compare`` (compare.py) and ``lipsim`` (main.py)."""
