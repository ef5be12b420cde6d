"""Code shared by more than one function."""
