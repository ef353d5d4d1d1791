"""Callback handlers; importing this package registers them all."""
