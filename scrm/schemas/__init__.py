"""marshmallow 4 schemas: API input/output and parsed callback payloads."""
