"""Callback handlers, one module per kind of event; registry.py is what they register with.

Importing this package registers nothing: scrm.services.dispatch loads every handler module
(the sync and the sidebar import the ones whose upserts they reuse).
"""
