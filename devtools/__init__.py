"""Test and demo harness for logpipes (not shipped in any image)."""
