/* At least one process of the diagram must be executable, or there is nothing to deploy. */
"use strict";

const { is } = require("bpmnlint-utils");

module.exports = function () {
  function check(node, reporter) {
    if (!is(node, "bpmn:Definitions")) { return; }
    const processes = (node.rootElements || []).filter(function (e) { return is(e, "bpmn:Process"); });
    if (!processes.length || processes.some(function (p) { return p.isExecutable; })) { return; }
    const participant = (node.rootElements || [])
      .filter(function (e) { return is(e, "bpmn:Collaboration"); })
      .flatMap(function (c) { return c.participants || []; })
      .find(function (p) { return p.processRef === processes[0]; });
    reporter.report((participant || processes[0]).id, "The process is not executable: tick Executable to deploy it");
  }
  return { check: check };
};
