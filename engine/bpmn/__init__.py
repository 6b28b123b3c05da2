"""The only package that imports SpiffWorkflow: parsing, scripting, serialization and the runtime facade."""
