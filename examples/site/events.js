// The example site's own script: it listens for the widget's events on the page.
document.addEventListener("petitionkit:loaded", function (event) { log("loaded", event); });
document.addEventListener("petitionkit:submitted", function (event) { log("submitted", event); });
function log(kind, event) {
  var box = document.getElementById("events");
  if (!box) return;
  var line = document.createElement("div");
  line.textContent = kind + ": " + event.detail.petition + " (" + event.detail.count + " signed)";
  box.appendChild(line);
}
