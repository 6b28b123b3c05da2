/* A timer needs a date, a duration or a cycle; an empty timer is refused at deploy. */
"use strict";

const { is } = require("bpmnlint-utils");

module.exports = function () {
  function check(node, reporter) {
    if (!is(node, "bpmn:Event")) { return; }
    (node.eventDefinitions || []).forEach(function (definition) {
      if (!is(definition, "bpmn:TimerEventDefinition")) { return; }
      const value = definition.timeDate || definition.timeDuration || definition.timeCycle;
      if (!value || !(value.body || "").trim()) {
        reporter.report(node.id, "The timer has no date, duration or cycle");
      }
    });
  }
  return { check: check };
};
