// The progress of a bulk invalidation (admin/moderation_run.html), brought up to date in place
// every two seconds until the run is finished: the page is fetched again and its figures copied
// over, so the status line (a polite live region) is read out without the page reloading.
(function () {
  "use strict";
  var box = document.getElementById("run-progress");
  if (!box || box.getAttribute("data-running") !== "true") return;
  var link = document.getElementById("run-refresh");
  if (link) link.hidden = true;

  function copy(fresh, selector, attributes) {
    var now = box.querySelector(selector);
    var next = fresh.querySelector(selector);
    if (!now || !next) return;
    if (attributes) {
      attributes.forEach(function (name) { now.setAttribute(name, next.getAttribute(name)); });
    }
    if (now.textContent !== next.textContent) now.textContent = next.textContent;
  }

  function update() {
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (answer) {
        if (!answer.ok) throw new Error(String(answer.status));
        return answer.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html")
          .getElementById("run-progress");
        if (!fresh) throw new Error("no progress in the page");
        copy(fresh, "[data-progress-label]");
        copy(fresh, "progress", ["max", "value"]);
        copy(fresh, "[data-progress-status]");
        box.setAttribute("data-running", fresh.getAttribute("data-running"));
        if (fresh.getAttribute("data-running") === "true") window.setTimeout(update, 2000);
      })
      .catch(function () {
        // Signed out, or the server is away: the link does it by hand from here.
        if (link) link.hidden = false;
      });
  }

  window.setTimeout(update, 2000);
})();
