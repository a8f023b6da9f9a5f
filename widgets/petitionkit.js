/* petitionkit pages (the hosted page and the iframe): theme, size and events for the embedding
   page, focus after a submit, the live count, and the share step. No globals, no third parties. */
(function (doc, win) {
  "use strict";
  var root = doc.documentElement;
  var data = root.dataset;
  var framed = win.parent !== win;
  var context = {};
  if (framed) {
    try { context = JSON.parse(win.name) || {}; } catch (error) { context = {}; }
  }

  // Theme and accent chosen on the embedding page; the first page already has them server-side.
  if (context.theme && /^(light|dark|auto)$/.test(context.theme)) {
    root.className = root.className.replace(/\bpk-theme-\w+/, "") + " pk-theme-" + context.theme;
  }
  var accent = data.accent || context.accent || "";
  if (/^#?([0-9a-f]{3}|[0-9a-f]{6})$/i.test(accent)) {
    var hex = accent.replace("#", "");
    if (hex.length === 3) hex = hex.replace(/./g, "$&$&");
    var linear = function (value) {
      var c = value / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    };
    var channel = function (i) { return linear(parseInt(hex.substr(i, 2), 16)); };
    var luminance = 0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4);
    root.style.setProperty("--pk-accent", "#" + hex);
    // Text on the accent keeps at least 4.5:1 whichever colour the organization picked.
    root.style.setProperty("--pk-accent-fg", luminance > 0.18 ? "#000000" : "#ffffff");
    // Links take the accent only where it stays readable on the widget's background.
    var background = getComputedStyle(doc.body || root).backgroundColor.match(/\d+/g) || [255, 255, 255];
    var backgroundLuminance = 0.2126 * linear(background[0]) + 0.7152 * linear(background[1]) +
      0.0722 * linear(background[2]);
    var lighter = Math.max(luminance, backgroundLuminance), darker = Math.min(luminance, backgroundLuminance);
    if ((lighter + 0.05) / (darker + 0.05) >= 4.5) root.style.setProperty("--pk-link", "#" + hex);
  }

  var parentOrigin = "";
  if (framed) {
    var ancestors = win.location.ancestorOrigins;
    parentOrigin = (ancestors && ancestors.length ? ancestors[0] : context.origin) || "";
  }
  var allowed = (data.origins || "").split(" ");
  var permitted = !framed || allowed.indexOf("*") >= 0 || allowed.indexOf(parentOrigin) >= 0;

  // WordPress embeds a pasted petition address in a frame sandboxed to scripts alone, with
  // "#?secret=…" after its address; its wp-embed.js sizes the frame on "height" messages that carry
  // the secret and follows "link" messages to this frame's own site. Forms cannot be sent from
  // there, so the frame offers a way to the petition's page instead.
  var wpSecret = framed ? (win.location.hash.match(/^#\?secret=([A-Za-z0-9]{1,32})$/) || [])[1] : null;
  function tellWordPress(message, value) {
    if (wpSecret) win.parent.postMessage({ message: message, value: value, secret: wpSecret }, "*");
  }

  function tell(message) {
    if (!framed || !context.petitionkit || !/^https?:\/\//.test(parentOrigin)) return;
    message.petitionkit = context.petitionkit;
    win.parent.postMessage(message, parentOrigin);
  }

  function ready() {
    if (!permitted) {
      // The server's frame-ancestors header is what enforces this; here a person gets told why.
      var notice = doc.getElementById("pk-not-allowed");
      var content = doc.getElementById("pk-content");
      if (notice && content) {
        notice.hidden = false;
        content.parentNode.removeChild(content);
      }
    }
    var body = doc.body;
    var elsewhere = doc.getElementById("pk-sign-elsewhere");
    if (wpSecret && elsewhere) {
      var form = doc.querySelector("form.sign-form");
      if (form) form.hidden = true;
      elsewhere.hidden = false;
      elsewhere.querySelector("a").addEventListener("click", function (event) {
        event.preventDefault();
        tellWordPress("link", this.href);
      });
    }
    var sendSize = function () {
      var height = body.getBoundingClientRect().height;
      tell({ type: "resize", height: height });
      tellWordPress("height", Math.ceil(height));
    };
    if (wpSecret) {
      win.addEventListener("message", function (event) {
        if (event.source === win.parent && event.data && event.data.message === "ready" &&
            event.data.secret === wpSecret) sendSize();
      });
    }
    if (win.ResizeObserver) new win.ResizeObserver(sendSize).observe(body);
    sendSize();
    var count = doc.querySelector("[data-count]");
    var summary = {
      title: doc.title,
      count: count ? Number(count.getAttribute("data-count")) : undefined,
      goal: count && count.getAttribute("data-goal") ? Number(count.getAttribute("data-goal")) : undefined
    };
    summary.type = !permitted || data.stage === "blocked" ? "blocked"
      : data.stage === "submitted" ? "submitted" : data.stage === "form" ? "loaded" : "";
    if (summary.type) tell(summary);

    var errors = doc.getElementById("form-errors");
    var heading = doc.getElementById("status-heading");
    if (errors) {
      var firstInvalid = doc.querySelector("[aria-invalid=true]");
      (firstInvalid || errors).focus();
    } else if (heading && data.stage === "submitted") {
      heading.focus();
    } else if (doc.querySelector("#pk-steps[data-focus]")) {
      // A step's action (a report, "I called") has just completed: the outcome and the steps
      // still open are read next.
      doc.getElementById("pk-steps").focus();
    }
    live(count);
    share();
  }

  function live(count) {
    var url = data.countUrl;
    var seconds = Number(data.poll);
    if (!count || !url || !(seconds > 0) || !win.fetch) return;
    var bar = doc.querySelector("progress[data-progress]");
    var refresh = function () {
      if (doc.hidden) return;
      win.fetch(url, { credentials: "omit" }).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (state) {
        if (!state || String(state.count) === count.getAttribute("data-count")) return;
        count.setAttribute("data-count", state.count);
        count.textContent = state.text;
        if (bar && state.goal) {
          bar.max = state.goal;
          bar.value = Math.min(state.count > 0 ? Math.max(state.count, Math.ceil(state.goal / 60)) : 0, state.goal);
          bar.textContent = state.percent;
        }
      }).catch(function () { /* the next round tries again */ });
    };
    win.setInterval(refresh, seconds * 1000);
  }

  function share() {
    var copy = doc.getElementById("pk-copy");
    var field = doc.getElementById("share-url");
    var status = doc.getElementById("pk-copy-status");
    if (copy && field) {
      copy.hidden = false;
      copy.addEventListener("click", function () {
        var done = function () { if (status) status.textContent = copy.getAttribute("data-done"); };
        field.select();
        if (win.navigator.clipboard) win.navigator.clipboard.writeText(field.value).then(done, done);
        else { doc.execCommand("copy"); done(); }
      });
    }
    var mastodon = doc.getElementById("pk-mastodon");
    if (mastodon) {
      mastodon.addEventListener("submit", function (event) {
        var server = mastodon.elements.instance.value.trim().replace(/^https?:\/\//, "").replace(/\/.*$/, "");
        if (!/^[a-z0-9.-]+\.[a-z]{2,}(:\d+)?$/i.test(server)) return;
        event.preventDefault();
        win.open("https://" + server + "/share?text=" + encodeURIComponent(mastodon.elements.text.value),
                 "_blank", "noopener");
      });
    }
  }

  if (doc.readyState === "loading") doc.addEventListener("DOMContentLoaded", ready);
  else ready();
})(document, window);
