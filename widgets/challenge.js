/* A form's proof-of-work check (ALTCHA's protocol, PoW v2 with SHA-256): signing's, or another
   form's that asks for it while signing does (a story). Loaded only while the engine asks. The challenge comes from the engine without cookies, is solved
   with WebCrypto in a Web Worker (this same file) and goes back in the form's "altcha" field.
   Nothing is asked of any other host; there is nothing for the signer to see or do. Every
   form[data-challenge] of the page is set up, each with the status line inside it. */
(function (scope) {
  "use strict";

  function bytes(hex) {
    var out = new Uint8Array(hex.length / 2);
    for (var i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
    return out;
  }

  function hex(buffer) {
    var view = new Uint8Array(buffer), out = "";
    for (var i = 0; i < view.length; i++) out += (view[i] < 16 ? "0" : "") + view[i].toString(16);
    return out;
  }

  // The counter whose SHA-256 of salt + nonce + counter (uint32, big-endian) starts with the
  // key prefix. Digests are asked in batches: WebCrypto answers each with a promise, and a
  // batch in flight keeps the cost of waiting on them small.
  function solve(parameters) {
    if (parameters.algorithm !== "SHA-256" || parameters.cost !== 1 || parameters.keyPrefix.length % 2) {
      return Promise.reject(new Error("unsupported challenge"));
    }
    var salt = bytes(parameters.salt), nonce = bytes(parameters.nonce);
    var prefix = bytes(parameters.keyPrefix);
    var data = new Uint8Array(salt.length + nonce.length + 4);
    data.set(salt);
    data.set(nonce, salt.length);
    var view = new DataView(data.buffer), at = salt.length + nonce.length;
    var subtle = scope.crypto.subtle, batch = 256, first = 0;
    function matches(digest) {
      var key = new Uint8Array(digest);
      for (var i = 0; i < prefix.length; i++) if (key[i] !== prefix[i]) return false;
      return true;
    }
    function round() {
      var pending = [];
      for (var i = 0; i < batch; i++) {
        view.setUint32(at, first + i);  // digest() copies the data when called
        pending.push(subtle.digest("SHA-256", data));
      }
      return Promise.all(pending).then(function (digests) {
        for (var i = 0; i < digests.length; i++) {
          if (matches(digests[i])) {
            return { counter: first + i, derivedKey: hex(digests[i]).slice(0, parameters.keyLength * 2) };
          }
        }
        first += batch;
        if (first > 0xffffffff) throw new Error("no solution");
        return round();
      });
    }
    return round();
  }

  if (typeof scope.document === "undefined") {
    scope.onmessage = function (event) {
      solve(event.data).then(function (solution) { scope.postMessage({ solution: solution }); },
                             function (error) { scope.postMessage({ error: String(error) }); });
    };
    return;
  }

  var doc = scope.document;
  var source = doc.currentScript && doc.currentScript.src;
  // A solution this close to its expiry is solved again before the form is sent.
  var MARGIN_MS = 20000;

  function solveInWorker(parameters) {
    return new Promise(function (resolve, reject) {
      var worker;
      try { worker = new scope.Worker(source); } catch (error) { reject(error); return; }
      worker.onmessage = function (event) {
        worker.terminate();
        if (event.data.solution) resolve(event.data.solution);
        else reject(new Error(event.data.error));
      };
      worker.onerror = function (event) { worker.terminate(); event.preventDefault(); reject(new Error("worker")); };
      worker.postMessage(parameters);
    });
  }

  function setUp(form, only) {
    // The script is linked once per form that asks for the check: each form is set up once.
    if (form.getAttribute("data-challenge-ready")) return;
    form.setAttribute("data-challenge-ready", "1");
    var field = form.elements.altcha;
    var status = form.querySelector(".challenge-status");
    var url = form.getAttribute("data-challenge");
    var working = null, expires = 0, sending = false;
    var say = function (key) { status.textContent = status.getAttribute("data-" + key); };
    // A page shown again after a post refused for something else keeps its unspent solution.
    if (field.value) {
      try { expires = JSON.parse(scope.atob(field.value)).challenge.parameters.expiresAt * 1000; }
      catch (error) { field.value = ""; }
    }

    function check() {
      if (working) return working;
      field.value = "";
      say("checking");
      var started = Date.now();
      // WebCrypto exists on HTTPS pages (and on this machine's own addresses) only.
      var subtle = scope.crypto && scope.crypto.subtle;
      working = (subtle ? scope.fetch(url, { credentials: "omit", cache: "no-store" }).then(function (response) {
        if (!response.ok) throw new Error("challenge " + response.status);
        return response.json();
      }) : Promise.reject(new Error("no WebCrypto"))).then(function (challenge) {
        var parameters = challenge.parameters;
        return solveInWorker(parameters).catch(function () { return solve(parameters); }).then(function (solution) {
          solution.time = Date.now() - started;
          field.value = scope.btoa(JSON.stringify({
            challenge: { parameters: parameters, signature: challenge.signature },
            solution: solution
          }));
          expires = parameters.expiresAt * 1000;
          say("done");
        });
      }).then(function () { working = null; }, function (error) {
        working = null;
        say("failed");
        throw error;
      });
      return working;
    }

    function ready() { return field.value && Date.now() < expires - MARGIN_MS; }
    function begin() { if (!ready()) check().catch(function () { /* said; Sign tries again */ }); }

    form.addEventListener("focusin", begin);
    form.addEventListener("input", begin);
    form.addEventListener("submit", function (event) {
      if (ready()) return;
      event.preventDefault();
      if (sending) return;
      sending = true;
      var wait = check();
      say("waiting");
      wait.then(function () { sending = false; form.submit(); }, function () { sending = false; });
    });
    // A page shown again after a refused post: the signer is already at work on this form
    // (its errors are inside it, or it is the page's only form that asks for the check).
    var errors = doc.getElementById("form-errors");
    if (errors && (form.contains(errors) || only)) begin();
  }

  function start() {
    // A petition's page can hold several forms that ask for it: signing, and an anonymous
    // report among the steps. Each solves its own challenge when it is used.
    var forms = doc.querySelectorAll("form[data-challenge]");
    for (var i = 0; i < forms.length; i++) setUp(forms[i], forms.length === 1);
  }

  if (doc.readyState === "loading") doc.addEventListener("DOMContentLoaded", start);
  else start();
})(self);
