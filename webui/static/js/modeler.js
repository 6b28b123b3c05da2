/* The modeler page: open a version, a draft, a file or a blank diagram; save drafts; validate on the server and mark
   problems on the diagram; publish; download. The editor itself is the bundle (static/vendor/modeler.bundle.js). */
(function () {
  "use strict";

  var BLANK = '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" ' +
    'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" ' +
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" ' +
    'id="Definitions_new" targetNamespace="http://auditloop.example/bpmn">\n' +
    '  <bpmn:process id="Process_new" name="" isExecutable="true">\n' +
    '    <bpmn:startEvent id="StartEvent_1" />\n' +
    '  </bpmn:process>\n' +
    '  <bpmndi:BPMNDiagram id="BPMNDiagram_1"><bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="Process_new">\n' +
    '    <bpmndi:BPMNShape id="StartEvent_1_di" bpmnElement="StartEvent_1"><dc:Bounds x="180" y="160" width="36" height="36" />' +
    '</bpmndi:BPMNShape>\n' +
    '  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>\n' +
    '</bpmn:definitions>\n';

  function start() {
    var box = document.getElementById("modeler");
    if (!box) { return; }
    var messages = JSON.parse(box.dataset.messages || "{}");
    var status = document.getElementById("modeler-status");
    var say = function (text, kind) {
      status.textContent = text || "";
      status.className = "modeler-status" + (kind ? " is-" + kind : "");
    };
    if (!window.AuditLoopModeler) { say(messages.missing, "error"); return; }

    var csrf = document.querySelector('meta[name="csrf-token"]');
    var modeler = window.AuditLoopModeler.createModeler(
      document.getElementById("modeler-canvas"), document.getElementById("modeler-panel"),
      JSON.parse(box.dataset.labels || "{}"));
    var state = {
      key: box.dataset.key || null,
      version: box.dataset.version ? Number(box.dataset.version) : null,
      draft: box.dataset.draft ? Number(box.dataset.draft) : null,
      fileName: null,
      name: document.querySelector(".modeler-title").textContent.trim(),
      dirty: false,
    };
    window.auditloopModeler = modeler;  // the browser tests reach the editor's services through this

    function post(url, body) {
      return fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf ? csrf.content : "" },
        body: JSON.stringify(body),
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (json) {
          return { ok: response.ok, status: response.status, json: json };
        });
      });
    }

    function xml() { return modeler.saveXML({ format: true }).then(function (r) { return r.xml; }); }

    function open(text) {
      clearProblems();
      return modeler.importXML(text).then(function (result) {
        modeler.get("canvas").zoom("fit-viewport", "auto");
        var warnings = (result.warnings || []).map(function (w) { return w.message.split("\n")[0]; });
        if (warnings.length) { say(messages.imported + " " + warnings.join("; "), "warning"); } else { say(""); }
        state.dirty = false;
        box.dataset.ready = "true";
      }).catch(function (error) {
        say(messages.loadFailed + " " + (error.message || error), "error");
        box.dataset.ready = "failed";
      });
    }

    modeler.on("commandStack.changed", function () { state.dirty = true; });

    // -- problems on the diagram and in the list ---------------------------------------------------------------
    var list = document.getElementById("modeler-problems");
    var empty = document.getElementById("problems-empty");
    var marked = [];

    function clearProblems() {
      var canvas = modeler.get("canvas");
      marked.forEach(function (m) { canvas.removeMarker(m[0], m[1]); });
      marked = [];
      modeler.get("overlays").remove({ type: "al-validation" });
      list.innerHTML = "";
    }

    function showProblems(problems, warnings) {
      clearProblems();
      var canvas = modeler.get("canvas");
      var registry = modeler.get("elementRegistry");
      var overlays = modeler.get("overlays");
      var items = problems.map(function (p) { return [p, "problem"]; })
        .concat(warnings.map(function (p) { return [p, "warning"]; }));
      items.forEach(function (item) {
        var p = item[0], kind = item[1];
        var element = p.element_id ? registry.get(p.element_id) : null;
        // A process or lane problem is shown on its participant when the process itself has no shape.
        if (!element && p.element_id) {
          element = registry.filter(function (e) {
            return e.businessObject && e.businessObject.processRef && e.businessObject.processRef.id === p.element_id;
          })[0] || null;
        }
        var li = document.createElement("li");
        li.className = "problem is-" + kind;
        li.dataset.elementId = p.element_id || "";
        var where = [p.element_id, p.line ? "line " + p.line : null].filter(Boolean).join(", ");
        li.textContent = (where ? "[" + where + "] " : "") + p.message;
        if (element) {
          var marker = kind === "problem" ? "al-problem" : "al-warning";
          if (!marked.some(function (m) { return m[0] === element.id && m[1] === marker; })) {
            canvas.addMarker(element.id, marker);
            marked.push([element.id, marker]);
            var badge = document.createElement("span");
            badge.className = "al-validation-badge is-" + kind;
            badge.textContent = kind === "problem" ? "!" : "?";
            badge.title = p.message;
            overlays.add(element.id, "al-validation", { position: { top: -10, right: 10 }, html: badge });
          }
          li.tabIndex = 0;
          var show = function () {
            canvas.scrollToElement(element);
            modeler.get("selection").select(element);
          };
          li.addEventListener("click", show);
          li.addEventListener("keydown", function (event) {
            if (event.key === "Enter" || event.key === " ") { event.preventDefault(); show(); }
          });
        }
        list.appendChild(li);
      });
      empty.hidden = items.length > 0;
    }

    function validate() {
      return xml().then(function (text) {
        return post(box.dataset.validateUrl, { xml: text, file_name: state.fileName });
      }).then(function (r) {
        if (!r.ok) { say(messages.failed + " " + ((r.json.error || {}).message || r.status), "error"); return; }
        showProblems(r.json.problems, r.json.warnings);
        say(r.json.is_valid ? messages.valid : messages.invalid, r.json.is_valid ? "success" : "error");
        box.dataset.validated = r.json.is_valid ? "valid" : "invalid";
      });
    }

    // -- toolbar ---------------------------------------------------------------------------------------------
    document.getElementById("modeler-validate").addEventListener("click", validate);

    document.getElementById("modeler-save").addEventListener("click", function () {
      var name = state.draft ? state.name : window.prompt(messages.draftName, state.name);
      if (!name) { return; }
      xml().then(function (text) {
        return post(box.dataset.draftsUrl, {
          xml: text, name: name, draft_id: state.draft, process_key: state.key, base_version: state.version,
          file_name: state.fileName,
        });
      }).then(function (r) {
        if (!r.ok) { say(messages.failed + " " + ((r.json.error || {}).message || r.status), "error"); return; }
        state.draft = r.json.id;
        state.name = r.json.name;
        state.dirty = false;
        window.history.replaceState(null, "", box.dataset.modelerUrl + "?draft=" + r.json.id);
        say(messages.saved, "success");
      });
    });

    document.getElementById("modeler-download").addEventListener("click", function () {
      xml().then(function (text) {
        var link = document.createElement("a");
        link.href = URL.createObjectURL(new Blob([text], { type: "application/xml" }));
        link.download = state.fileName || (state.key ? state.key + ".bpmn" : "diagram.bpmn");
        document.body.appendChild(link);
        link.click();
        window.setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
      });
    });

    document.getElementById("modeler-import").addEventListener("change", function (event) {
      var file = event.target.files && event.target.files[0];
      if (!file) { return; }
      if (state.dirty && !window.confirm(messages.confirmNew)) { event.target.value = ""; return; }
      file.text().then(function (text) {
        state.key = null; state.version = null; state.draft = null;
        state.fileName = file.name; state.name = file.name;
        document.querySelector(".modeler-title").textContent = file.name;
        window.history.replaceState(null, "", box.dataset.modelerUrl);
        return open(text);
      });
      event.target.value = "";
    });

    document.getElementById("modeler-new").addEventListener("click", function (event) {
      if (state.dirty && !window.confirm(messages.confirmNew)) { event.preventDefault(); }
    });

    document.getElementById("modeler-publish").addEventListener("submit", function (event) {
      event.preventDefault();
      var comment = document.getElementById("publish-comment");
      if (!comment.value.trim()) { say(messages.needComment, "error"); comment.focus(); return; }
      xml().then(function (text) {
        return post(box.dataset.publishUrl, {
          xml: text, comment: comment.value, draft_id: state.draft, file_name: state.fileName,
        });
      }).then(function (r) {
        var problems = ((r.json.error || {}).details || {}).problems;
        if (problems) { showProblems(problems, []); say(messages.invalid, "error"); return; }
        if (!r.ok) { say(messages.failed + " " + ((r.json.error || {}).message || r.status), "error"); return; }
        var names = r.json.published.map(function (p) { return p.key + " v" + p.version; }).join(", ");
        var isNew = r.json.published.some(function (p) { return p.is_new; });
        say((isNew ? messages.published : messages.unchanged) + " " + names, "success");
        var link = document.createElement("a");
        link.href = r.json.list_url;
        link.textContent = " →";
        status.appendChild(link);
        state.draft = null;
        state.dirty = false;
        var first = r.json.published[0];
        if (first) {  // a reload now opens the published version, not the draft that went away
          state.key = first.key; state.version = first.version; state.fileName = null;
          window.history.replaceState(null, "", box.dataset.modelerUrl + "?key=" + encodeURIComponent(first.key) +
            "&version=" + first.version);
        }
        box.dataset.published = names;
        comment.value = "";
      });
    });

    window.addEventListener("beforeunload", function (event) {
      if (state.dirty) { event.preventDefault(); event.returnValue = ""; }
    });

    var url = box.dataset.xmlUrl;
    if (!url) { open(BLANK); return; }
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/xml" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(open)
      .catch(function (error) { say(messages.loadFailed + " " + error.message, "error"); box.dataset.ready = "failed"; });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
