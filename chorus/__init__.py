"""chorus package."""
