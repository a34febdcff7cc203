"""The privacy gate every record passes and the audit of a store (SPEC 3)."""
