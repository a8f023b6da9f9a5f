/* Passkeys (WebAuthn) in the workspace. Each form[data-passkey] asks the engine for options
 * (POST data-options), hands them to navigator.credentials.create() or .get(), and posts the
 * answer as JSON (POST data-finish), the CSRF token in X-CSRFToken; then follows the address
 * the engine answers with. Without this script, or in a browser without WebAuthn, the forms
 * stay hidden and the page's note about using an authenticator app stays shown. */
(function () {
  "use strict";

  var script = document.currentScript;
  var messages = {
    failed: script.getAttribute("data-message-failed"),
    cancelled: script.getAttribute("data-message-cancelled"),
    name: script.getAttribute("data-message-name"),
    unsupported: script.getAttribute("data-message-unsupported")
  };

  function toBytes(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) { base64 += "="; }
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i += 1) { bytes[i] = binary.charCodeAt(i); }
    return bytes.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i += 1) { binary += String.fromCharCode(bytes[i]); }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (item) {
      return { type: item.type, id: toBytes(item.id), transports: item.transports };
    });
  }

  function creationOptions(json) {
    if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function") {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    var options = Object.assign({}, json);
    options.challenge = toBytes(json.challenge);
    options.user = Object.assign({}, json.user, { id: toBytes(json.user.id) });
    options.excludeCredentials = descriptors(json.excludeCredentials);
    return options;
  }

  function requestOptions(json) {
    if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function") {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    var options = Object.assign({}, json);
    options.challenge = toBytes(json.challenge);
    options.allowCredentials = descriptors(json.allowCredentials);
    return options;
  }

  function credentialJSON(credential) {
    if (typeof credential.toJSON === "function") { return credential.toJSON(); }
    var response = credential.response;
    var answer = { clientDataJSON: toText(response.clientDataJSON) };
    if (response.attestationObject) {
      answer.attestationObject = toText(response.attestationObject);
      answer.transports = response.getTransports ? response.getTransports() : [];
    } else {
      answer.authenticatorData = toText(response.authenticatorData);
      answer.signature = toText(response.signature);
      if (response.userHandle) { answer.userHandle = toText(response.userHandle); }
    }
    return {
      id: credential.id, rawId: toText(credential.rawId), type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults(), response: answer
    };
  }

  function PasskeyRefused(message, redirect) {
    this.message = message;
    this.redirect = redirect;
  }

  function post(url, token, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: { "Content-Type": "application/json", "Accept": "application/json",
                 "X-CSRFToken": token },
      body: JSON.stringify(body)
    }).then(function (response) {
      // A sign-in that ended meanwhile is sent to the sign-in page: go there too.
      if (response.redirected) { throw new PasskeyRefused(messages.failed, response.url); }
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) { throw new PasskeyRefused(data.error || messages.failed, data.redirect); }
        return data;
      });
    });
  }

  function run(form) {
    var status = form.querySelector("[data-passkey-status]");
    var button = form.querySelector("button[type=submit]");
    var token = form.querySelector("input[name=csrf_token]").value;
    var registering = form.getAttribute("data-passkey") === "register";
    var nameInput = form.querySelector("input[name=passkey_name]");
    var body = {};
    status.textContent = "";
    if (registering) {
      body.name = nameInput.value.trim();
      if (!body.name) {
        status.textContent = messages.name;
        nameInput.focus();
        return;
      }
    }
    button.disabled = true;
    post(form.getAttribute("data-options"), token, body).then(function (options) {
      return registering
        ? navigator.credentials.create({ publicKey: creationOptions(options) })
        : navigator.credentials.get({ publicKey: requestOptions(options) });
    }).then(function (credential) {
      return post(form.getAttribute("data-finish"), token, { credential: credentialJSON(credential) });
    }).then(function (answer) {
      if (typeof answer.redirect !== "string") { throw new PasskeyRefused(messages.failed); }
      window.location.assign(answer.redirect);
    }).catch(function (error) {
      button.disabled = false;
      if (error instanceof PasskeyRefused) {
        status.textContent = error.message;
        if (error.redirect) { window.location.assign(error.redirect); }
      } else if (error && (error.name === "NotAllowedError" || error.name === "AbortError")) {
        status.textContent = messages.cancelled;
      } else {
        status.textContent = messages.failed;
      }
    });
  }

  function start() {
    var forms = document.querySelectorAll("form[data-passkey]");
    if (!window.PublicKeyCredential || !navigator.credentials || !window.fetch) {
      forms.forEach(function (form) {
        var note = form.nextElementSibling;
        if (note && note.hasAttribute("data-passkey-needs-js")) { note.textContent = messages.unsupported; }
      });
      return;
    }
    forms.forEach(function (form) {
      form.hidden = false;
      var note = form.nextElementSibling;
      if (note && note.hasAttribute("data-passkey-needs-js")) { note.hidden = true; }
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        run(form);
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
