/* Script and service tasks (and pre/post scripts) may be published by an admin only. */
"use strict";

const { is } = require("bpmnlint-utils");

module.exports = function () {
  function check(node, reporter) {
    if (is(node, "bpmn:ScriptTask") || is(node, "bpmn:ServiceTask")) {
      reporter.report(node.id, "Only an admin may publish a diagram with script or service tasks");
    }
  }
  return { check: check };
};
