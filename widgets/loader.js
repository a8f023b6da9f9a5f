/* petitionkit loader: <script async src="https://HOST/widget.js" data-petition="SLUG"></script>
   puts an iframe of HOST/embed/SLUG in place of its own script tag. Everything lives in this
   closure: the host page gets no globals, no stylesheet, and only the events it listens for. */
(function (doc, win) {
  "use strict";
  var script = doc.currentScript;
  if (!script || !script.src) return;
  // The engine is wherever this file came from; the iframe's messages must come from there.
  var engine = new URL(script.src).origin;
  var attr = function (name) { return script.getAttribute("data-" + name) || ""; };
  var slug = attr("petition");
  if (!/^[a-z0-9][a-z0-9-]{0,79}$/.test(slug)) {
    if (win.console) win.console.error("petitionkit: data-petition must name a petition, e.g. data-petition=\"my-petition\"");
    return;
  }

  var id = "pk" + Math.random().toString(36).slice(2, 10);
  var page = engine + "/p/" + slug;
  var query = [];
  ["lang", "theme", "accent", "source"].forEach(function (name) {
    var value = attr(name);
    if (value) query.push(name + "=" + encodeURIComponent(value));
  });

  var box = doc.createElement("div");
  box.className = "petitionkit-widget";
  box.setAttribute("data-petition", slug);
  var frame = doc.createElement("iframe");
  frame.src = engine + "/embed/" + slug + (query.length ? "?" + query.join("&") : "");
  frame.title = attr("title") || "Petition";
  // The name survives the iframe's own navigations (form post, "check your email"), so each page
  // inside knows which widget it is and whom to tell its size.
  frame.name = JSON.stringify({ petitionkit: id, origin: location.origin,
    theme: attr("theme"), accent: attr("accent") });
  frame.style.cssText = "display:block;width:100%;min-width:0;max-width:100%;height:460px;" +
    "border:0;margin:0;padding:0;overflow:hidden;background:transparent";
  box.appendChild(frame);
  script.parentNode.insertBefore(box, script.nextSibling);

  var loaded = false;
  // Not framed within 15 s (offline engine, or a page the petition does not allow): a plain link.
  var fallback = win.setTimeout(function () {
    if (loaded) return;
    var link = doc.createElement("a");
    link.href = page;
    link.textContent = page;
    box.replaceChild(link, frame);
  }, 15000);

  win.addEventListener("message", function (event) {
    if (event.origin !== engine || event.source !== frame.contentWindow) return;
    var data = event.data;
    if (!data || data.petitionkit !== id) return;
    if (data.type === "resize") {
      var height = Math.ceil(Number(data.height));
      if (height > 0 && height < 20000) frame.style.height = height + "px";
      return;
    }
    if (data.type === "blocked" || data.type === "loaded" || data.type === "submitted") {
      loaded = true;
      win.clearTimeout(fallback);
    }
    if (data.type !== "loaded" && data.type !== "submitted") return;
    if (typeof data.title === "string" && data.title) frame.title = data.title;
    box.dispatchEvent(new CustomEvent("petitionkit:" + data.type, { bubbles: true, detail: {
      petition: slug, count: data.count, goal: data.goal } }));
  });
})(document, window);
