"""Python behind the engine's edges: mail now; BPMN service-task connectors are registered here by name."""
