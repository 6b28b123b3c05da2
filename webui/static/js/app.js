/* AuditLoop pages: what htmx needs from us (CSRF header, announcements, errors) and small focus helpers. */
(function () {
  "use strict";

  var csrf = document.querySelector('meta[name="csrf-token"]');
  var live = document.getElementById("live");

  function announce(text) {
    if (!live || !text) { return; }
    live.textContent = "";
    window.setTimeout(function () { live.textContent = text; }, 50);
  }

  // Every htmx request carries the CSRF token in a header (Flask-WTF reads X-CSRFToken).
  document.addEventListener("htmx:configRequest", function (event) {
    if (csrf) { event.detail.headers["X-CSRFToken"] = csrf.content; }
  });

  // Tell screen readers what a partial update changed.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    var said = target && target.querySelector ? target.querySelector("[data-announce]") : null;
    if (!said && target && target.matches && target.matches("[data-announce]")) { said = target; }
    var problem = target && target.querySelector ? target.querySelector(".field-error") : null;
    announce((problem || said || {}).textContent ? (problem || said).textContent.trim() : "");
  });

  // A failed update must not pass silently: say so visibly at the top of the page and to screen readers.
  function showProblem(english, chinese) {
    var text = document.documentElement.lang === "en" ? english : chinese;
    var main = document.getElementById("main");
    var box = document.getElementById("update-problem");
    if (!box && main) {
      box = document.createElement("p");
      box.id = "update-problem";
      box.className = "alert alert-error";
      box.setAttribute("role", "alert");
      main.insertBefore(box, main.firstChild);
    }
    if (box) { box.textContent = text; }
  }

  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    showProblem("The page could not be updated (error " + status + "). Reload the page and try again.",
      "页面未能更新（错误 " + status + "），请刷新页面后重试。");
  });

  document.addEventListener("htmx:sendError", function () {
    showProblem("The server cannot be reached. Check the connection and try again.",
      "无法连接服务器，请检查网络后重试。");
  });

  // The language switch returns to the page as it is now, including filters htmx put in the address bar.
  document.addEventListener("htmx:pushedIntoHistory", function (event) {
    var inputs = document.querySelectorAll('.lang-switch input[name="next"]');
    for (var i = 0; i < inputs.length; i += 1) { inputs[i].value = event.detail.path; }
  });

  // A file over the limit is refused here, before minutes of uploading end in an error.
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches('input[type="file"][data-max-bytes]')) { return; }
    var limit = Number(input.dataset.maxBytes);
    var tooBig = Array.prototype.some.call(input.files || [], function (f) { return f.size > limit; });
    input.setAttribute("aria-invalid", tooBig ? "true" : "false");
    var note = document.getElementById(input.id + "-size");
    if (note) { note.hidden = !tooBig; }
    if (tooBig) { input.value = ""; announce(note ? note.textContent : ""); }
  });

  // A form the server refused opens with its list of problems focused, so keyboard and screen-reader users start there.
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector(".error-summary");
    if (summary) { summary.focus(); }
  });
})();
