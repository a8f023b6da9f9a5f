/* The call step: the office's hours again in the caller's own time zone. The page states them in
   the office's zone; this only adds a sentence, and without JavaScript the page is complete. */
(function (doc, script) {
  "use strict";
  if (!script || !window.Intl || !Intl.DateTimeFormat) return;
  var lang = doc.documentElement.lang || undefined;
  var messages = script.dataset;

  function clock(zone) {
    return new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: zone });
  }

  function day(moment, zone) {
    var parts = {};
    new Intl.DateTimeFormat("en-US", { year: "numeric", month: "2-digit", day: "2-digit", timeZone: zone })
      .formatToParts(moment).forEach(function (part) { parts[part.type] = part.value; });
    return parts.year + "-" + parts.month + "-" + parts.day;
  }

  function spansIn(spans, zone) {
    var format = clock(zone);
    return spans.map(function (span) {
      // Word joiners keep a span on one line: a break after its dash reads as two times.
      var text = format.format(span[0]) + "\u2060–\u2060" + format.format(span[1]);
      return { text: text, day: day(span[0], zone) };
    });
  }

  function words(template, hours) {
    // The message's own words around the hours, the hours isolated in the sentence's direction.
    var parts = template.split("{hours}");
    var bdi = doc.createElement("bdi");
    bdi.textContent = hours;
    return [doc.createTextNode(parts[0]), bdi, doc.createTextNode(parts.slice(1).join(""))];
  }

  var items = doc.querySelectorAll(".call-hours[data-spans]");
  Array.prototype.forEach.call(items, function (item) {
    var spans = item.dataset.spans.split(" ").map(function (span) {
      return span.split("/").map(function (moment) { return new Date(moment); });
    });
    var office = spansIn(spans, item.dataset.zone);
    var yours = spansIn(spans);  // in the browser's own zone
    var same = yours.every(function (span, i) {
      return span.text === office[i].text && span.day === office[i].day;
    });
    if (same) return;
    var shown = yours.map(function (span) {
      if (span.day < item.dataset.date) return messages.dayBefore.replace("{hours}", span.text);
      if (span.day > item.dataset.date) return messages.dayAfter.replace("{hours}", span.text);
      return span.text;
    });
    var list = Intl.ListFormat ? new Intl.ListFormat(lang, { type: "conjunction" }).format(shown)
      : shown.join(", ");
    var sentence = doc.createElement("span");
    sentence.className = "call-hours-yours";
    words(messages.yourTime, list).forEach(function (node) { sentence.appendChild(node); });
    item.appendChild(doc.createTextNode(" "));
    item.appendChild(sentence);
  });
})(document, document.currentScript);
