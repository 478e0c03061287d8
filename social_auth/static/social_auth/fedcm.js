/* Flask-Social-Auth FedCM and One Tap: the browser's own account chooser for providers with a
   FedCM config (passive on page load, active when the provider's icon is pressed), and the
   callback of Google Identity Services' One Tap. The ID token goes to /auth/fedcm/<name> with
   the CSRF token; the block then updates without a reload and the comment stays. Without
   FedCM the icons keep opening the popup (social_auth.js). */
(function () {
  "use strict";

  function post(url, csrf, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Accept": "application/json", "Content-Type": "application/json",
                 "X-CSRF-Token": csrf, "X-Requested-With": "XMLHttpRequest" },
      body: JSON.stringify(body || {})
    }).then(function (r) {
      return r.json().then(function (b) {
        if (!r.ok) throw new Error(b.message || "Sign-in failed.");
        return b;
      });
    });
  }

  function Fedcm(root, box) {
    this.root = root;
    this.providers = JSON.parse(box.getAttribute("data-providers") || "[]");
    this.passive = null;
    this.skip = false;
    // Capture phase: ahead of social_auth.js, which would open the popup.
    root.addEventListener("click", this.onClick.bind(this), true);
    var first = this.providers.filter(function (p) { return p.config_url; })[0];
    if (first) this.run(first, "passive");
  }

  Fedcm.prototype.csrf = function () { return this.root.querySelector("[data-sa-csrf]").value; };

  Fedcm.prototype.onClick = function (ev) {
    if (this.skip) return;
    var button = ev.target.closest(".sa-provider");
    if (!button) return;
    var name = button.getAttribute("data-provider");
    var chosen = this.providers.filter(function (p) { return p.name === name && p.config_url; })[0];
    if (!chosen) return;
    ev.preventDefault();
    ev.stopPropagation();
    var self = this;
    this.run(chosen, "active").catch(function () {
      self.skip = true;  // no FedCM account: the popup, as without FedCM
      try { button.click(); } finally { self.skip = false; }
    });
  };

  Fedcm.prototype.run = function (p, mode) {
    var self = this;
    if (this.passive) { this.passive.abort(); this.passive = null; }
    var controller = new AbortController();
    if (mode === "passive") this.passive = controller;
    return post(p.nonce_url, this.csrf()).then(function (n) {
      var provider = { configURL: n.config_url, clientId: n.client_id, params: { nonce: n.nonce } };
      return navigator.credentials.get({
        identity: { mode: mode, providers: [provider] },
        mediation: "optional", signal: controller.signal
      });
    }).then(function (credential) {
      return post(p.url, self.csrf(), { token: credential.token });
    }).then(function (me) {
      self.root.dispatchEvent(new CustomEvent("social-auth:me", { detail: me }));
    }).catch(function (e) {
      if (mode === "active") throw e;  // the caller falls back to the popup
    });
  };

  // Google Identity Services' callback (data-callback on #g_id_onload).
  window.socialAuthOneTap = function (response) {
    var tap = document.querySelector("[data-sa-one-tap]");
    var root = document.querySelector("[data-social-auth]");
    if (!tap || !root || !response || !response.credential) return;
    var csrf = root.querySelector("[data-sa-csrf]").value;
    post(tap.getAttribute("data-sa-one-tap"), csrf, { token: response.credential })
      .then(function (me) { root.dispatchEvent(new CustomEvent("social-auth:me", { detail: me })); })
      .catch(function (e) {
        var status = root.querySelector(".sa-status");
        if (status) status.textContent = e.message;
      });
  };

  function init() {
    if (!window.IdentityCredential || !navigator.credentials) return;
    var roots = document.querySelectorAll("[data-social-auth]");
    for (var i = 0; i < roots.length; i++) {
      var box = roots[i].querySelector("[data-sa-fedcm]");
      if (box) new Fedcm(roots[i], box);
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
