/* Reading AuditLoop task properties (spiffworkflow:properties) from a moddle element, as engine/bpmn/catalog.py does. */
"use strict";

function taskProperties(node) {
  const found = {};
  const values = (node.extensionElements && node.extensionElements.values) || [];
  values.forEach(function (value) {
    if (value.$type === "spiffworkflow:Properties") {
      (value.properties || []).forEach(function (p) {
        if (p.name) { found[p.name] = p.value || ""; }
      });
    }
  });
  return found;
}

// ISO 8601 duration as the engine accepts it for a time limit (PnYnMnWnDTnHnMnS, at least one part).
const DURATION = /^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/;

module.exports = { taskProperties: taskProperties, DURATION: DURATION };
