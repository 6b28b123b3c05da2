"""AuditLoop engine: BPMN workflow runtime with the closed audit loop built in."""
