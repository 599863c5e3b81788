"""Seeding and load-generation helpers behind `koo seed` and `koo bench`."""
