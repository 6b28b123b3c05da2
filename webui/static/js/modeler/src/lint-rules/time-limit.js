/* A task's time limit must be an ISO 8601 duration (P5D, PT48H), as the engine refuses anything else. */
"use strict";

const { is } = require("bpmnlint-utils");
const { taskProperties, DURATION } = require("./properties");

module.exports = function () {
  function check(node, reporter) {
    if (!is(node, "bpmn:FlowNode")) { return; }
    const limit = taskProperties(node).timeLimit;
    if (limit !== undefined && !DURATION.test(limit.trim())) {
      reporter.report(node.id, "Time limit '" + limit + "' is not an ISO 8601 duration such as P5D or PT48H");
    }
  }
  return { check: check };
};
