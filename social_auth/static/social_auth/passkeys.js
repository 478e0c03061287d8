/* Flask-Social-Auth passkeys: sign in from the comment block (conditional UI on the email
   field, or "Use a passkey"), "Save a passkey" for a guest, "Add a passkey" on the connections
   page. The browser's own JSON helpers where it has them, a small fallback where not; no
   dependencies. Nothing here touches the comment being typed. */
(function () {
  "use strict";

  var PKC = window.PublicKeyCredential;
  if (!PKC || !navigator.credentials) return;  // no WebAuthn: the passkey parts stay hidden

  // -- JSON <-> WebAuthn objects ------------------------------------------------------------

  function toBuffer(b64url) {
    var b64 = b64url.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var bin = atob(b64), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return bytes.buffer;
  }

  function toB64url(buffer) {
    var bytes = new Uint8Array(buffer), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (d) {
      return { type: d.type, id: toBuffer(d.id), transports: d.transports };
    });
  }

  function creationOptions(json) {
    if (PKC.parseCreationOptionsFromJSON) return PKC.parseCreationOptionsFromJSON(json);
    var o = Object.assign({}, json);
    o.challenge = toBuffer(json.challenge);
    o.user = Object.assign({}, json.user, { id: toBuffer(json.user.id) });
    o.excludeCredentials = descriptors(json.excludeCredentials);
    return o;
  }

  function requestOptions(json) {
    if (PKC.parseRequestOptionsFromJSON) return PKC.parseRequestOptionsFromJSON(json);
    var o = Object.assign({}, json);
    o.challenge = toBuffer(json.challenge);
    o.allowCredentials = descriptors(json.allowCredentials);
    return o;
  }

  function credentialJSON(cred) {
    if (typeof cred.toJSON === "function") return cred.toJSON();
    var r = cred.response, out = { id: cred.id, rawId: toB64url(cred.rawId), type: cred.type,
      clientExtensionResults: cred.getClientExtensionResults(), response: {} };
    out.response.clientDataJSON = toB64url(r.clientDataJSON);
    if (r.attestationObject) {
      out.response.attestationObject = toB64url(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = toB64url(r.authenticatorData);
      out.response.signature = toB64url(r.signature);
      if (r.userHandle) out.response.userHandle = toB64url(r.userHandle);
    }
    return out;
  }

  function post(url, csrf, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Accept": "application/json", "Content-Type": "application/json",
                 "X-CSRF-Token": csrf, "X-Requested-With": "XMLHttpRequest" },
      body: JSON.stringify(body || {})
    }).then(function (r) {
      return r.json().then(function (b) { return { ok: r.ok, status: r.status, body: b }; });
    });
  }

  function failed(result) {
    var error = new Error((result.body && result.body.message) || "The passkey did not work.");
    error.result = result;
    return error;
  }

  // The site removed this passkey: ask the browser to forget it too, where it can.
  function forget(body) {
    if (body && body.credential_id && body.rp_id && PKC.signalUnknownCredential) {
      return PKC.signalUnknownCredential({ rpId: body.rp_id, credentialId: body.credential_id })
        .catch(function () { /* nothing to do */ });
    }
    return Promise.resolve();
  }

  // Register a new passkey for whoever is signed in: resolves with the server's answer.
  function register(box, csrf, name) {
    return post(box.getAttribute("data-register-options-url"), csrf).then(function (res) {
      if (!res.ok) throw failed(res);
      return navigator.credentials.create({ publicKey: creationOptions(res.body.publicKey) });
    }).then(function (cred) {
      return post(box.getAttribute("data-register-url"), csrf,
                  { credential: credentialJSON(cred), name: name });
    }).then(function (res) {
      if (!res.ok) throw failed(res);
      return res.body;
    });
  }

  function message(e) {
    if (e && e.name === "NotAllowedError") return "No passkey was used.";
    if (e && e.name === "InvalidStateError") return "This device has a passkey for you already.";
    return (e && e.message) || "The passkey did not work.";
  }

  function deviceName() {
    var ua = navigator.userAgentData;
    var platform = (ua && ua.platform) || navigator.platform || "this device";
    return "Passkey on " + platform;
  }

  // -- the comment block ----------------------------------------------------------------------

  function BlockPasskeys(root, box) {
    this.root = root;
    this.box = box;
    this.pending = null;  // the AbortController of a conditional request
    box.hidden = false;
    root.addEventListener("click", this.onClick.bind(this));
    root.addEventListener("social-auth:rendered", this.onRendered.bind(this));
    if (!this.signedIn()) this.conditional();
  }

  BlockPasskeys.prototype.$ = function (sel) { return this.box.querySelector(sel); };
  BlockPasskeys.prototype.csrf = function () { return this.root.querySelector("[data-sa-csrf]").value; };
  BlockPasskeys.prototype.status = function (t) { this.$(".sa-passkey-status").textContent = t || ""; };
  BlockPasskeys.prototype.signedIn = function () { return this.$(".sa-passkey-use").hidden; };

  BlockPasskeys.prototype.onClick = function (ev) {
    if (ev.target.closest(".sa-passkey-login")) { ev.preventDefault(); this.signIn(); }
    else if (ev.target.closest(".sa-passkey-save")) { ev.preventDefault(); this.save(); }
  };

  BlockPasskeys.prototype.onRendered = function (ev) {
    var me = ev.detail || {};
    this.$(".sa-passkey-use").hidden = !!me.authenticated;
    if (!me.authenticated) { this.$(".sa-passkey-offer").hidden = true; this.conditional(); }
    else this.stopConditional();
  };

  // Conditional UI: the browser offers this site's passkeys in the email field's autofill.
  BlockPasskeys.prototype.conditional = function () {
    var self = this;
    if (this.pending || !PKC.isConditionalMediationAvailable) return;
    PKC.isConditionalMediationAvailable().then(function (available) {
      if (!available || self.pending || self.signedIn()) return;
      var field = self.root.querySelector("input[name='email']") ||
                  self.root.querySelector("input[name='name']");
      if (field) field.setAttribute("autocomplete", "username webauthn");
      self.pending = new AbortController();
      self.signIn("conditional", self.pending.signal);
    });
  };

  BlockPasskeys.prototype.stopConditional = function () {
    if (this.pending) { var p = this.pending; this.pending = null; p.abort(); }
  };

  BlockPasskeys.prototype.signIn = function (mediation, signal) {
    var self = this, box = this.box;
    if (!mediation) this.stopConditional();  // one WebAuthn request at a time
    return post(box.getAttribute("data-login-options-url"), this.csrf()).then(function (res) {
      if (!res.ok) throw failed(res);
      var args = { publicKey: requestOptions(res.body.publicKey) };
      if (mediation) { args.mediation = mediation; args.signal = signal; }
      return navigator.credentials.get(args);
    }).then(function (cred) {
      if (mediation) self.pending = null;
      return post(box.getAttribute("data-login-url"), self.csrf(), { credential: credentialJSON(cred) });
    }).then(function (res) {
      if (res.status === 404 && res.body.error === "unknown_credential") {
        return forget(res.body).then(function () { throw failed(res); });
      }
      if (!res.ok) throw failed(res);
      self.status("");
      self.$(".sa-passkey-offer").hidden = true;
      self.root.dispatchEvent(new CustomEvent("social-auth:me", { detail: res.body }));
    }).catch(function (e) {
      if (mediation && signal && signal.aborted) return;  // replaced by a modal request
      if (mediation) self.pending = null;
      self.status(message(e));
    });
  };

  BlockPasskeys.prototype.save = function () {
    var self = this;
    this.status("");
    return register(this.box, this.csrf(), deviceName()).then(function (me) {
      self.$(".sa-passkey-offer").hidden = true;
      self.status("Passkey saved: next time, use it to comment as yourself.");
      self.root.dispatchEvent(new CustomEvent("social-auth:me", { detail: me }));
    }).catch(function (e) { self.status(message(e)); });
  };

  // -- the connections page -------------------------------------------------------------------

  function PagePasskeys(box) {
    var csrf = box.getAttribute("data-csrf");
    var add = box.querySelector(".sa-passkey-add");
    var status = box.querySelector(".sa-passkey-status");
    add.hidden = false;
    add.addEventListener("click", function () {
      status.textContent = "";
      register(box, csrf, deviceName()).then(function () { location.reload(); })
        .catch(function (e) { status.textContent = message(e); });
    });
    box.addEventListener("submit", function (ev) {
      var form = ev.target;
      if (!form.classList.contains("passkey-remove")) return;
      ev.preventDefault();
      post(form.action, csrf).then(function (res) {
        if (!res.ok) throw failed(res);
        return forget(res.body.removed);
      }).then(function () { location.reload(); })
        .catch(function (e) { status.textContent = message(e); });
    });
  }

  function init() {
    var roots = document.querySelectorAll("[data-social-auth]");
    for (var i = 0; i < roots.length; i++) {
      var box = roots[i].querySelector("[data-sa-passkeys]");
      if (box) new BlockPasskeys(roots[i], box);
    }
    var page = document.querySelector("[data-sa-passkey-page]");
    if (page) new PagePasskeys(page);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
