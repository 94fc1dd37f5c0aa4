"""Statistics and figures over run folders (imported lazily: matplotlib is heavy)."""
