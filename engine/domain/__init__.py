"""Pure domain layer: values, rules and errors (standard library only)."""
