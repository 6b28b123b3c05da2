/* A call activity must name the process it calls. */
"use strict";

const { is } = require("bpmnlint-utils");

module.exports = function () {
  function check(node, reporter) {
    if (is(node, "bpmn:CallActivity") && !(node.calledElement || "").trim()) {
      reporter.report(node.id, "The call activity names no process to call");
    }
  }
  return { check: check };
};
