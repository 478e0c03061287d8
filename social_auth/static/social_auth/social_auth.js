/* Flask-Social-Auth comment block: popup sign-in, live refresh, and a draft that survives.
   No dependencies. Works on every [data-social-auth] block of the page. */
(function () {
  "use strict";

  var DRAFT_KEY = "social-auth-draft:" + location.pathname;

  function Block(root) {
    this.root = root;
    this.form = root.closest("form");
    this.popup = null;
    this.timer = null;
    this.titles = JSON.parse(root.getAttribute("data-titles") || "{}");
    var field = root.getAttribute("data-draft-field");
    this.textarea = field && this.form ? this.form.elements.namedItem(field) : null;
    this.restoreDraft();
    // An avatar that cannot load (offline, blocked tracker) is hidden, not shown broken.
    var avatar = this.$(".sa-avatar");
    avatar.addEventListener("error", function () { avatar.hidden = true; });
    if (avatar.complete && avatar.getAttribute("src") && avatar.naturalWidth === 0) avatar.hidden = true;
    root.addEventListener("click", this.onClick.bind(this));
    // A posted comment is no longer a draft; a stored copy must not come back on the next page.
    if (this.form) this.form.addEventListener("submit", this.clearDraft.bind(this));
    window.addEventListener("message", this.onMessage.bind(this));
    // Other scripts of the package (passkeys.js) hand over a new /auth/me body to show.
    root.addEventListener("social-auth:me", function (ev) { this.render(ev.detail); }.bind(this));
  }

  Block.prototype.$ = function (sel) { return this.root.querySelector(sel); };

  Block.prototype.saveDraft = function () {
    if (this.textarea && this.textarea.value) {
      try { sessionStorage.setItem(DRAFT_KEY, this.textarea.value); } catch (e) { /* full */ }
    }
  };

  Block.prototype.clearDraft = function () {
    try { sessionStorage.removeItem(DRAFT_KEY); } catch (e) { /* ignore */ }
  };

  Block.prototype.restoreDraft = function () {
    if (!this.textarea) return;
    var saved = null;
    try { saved = sessionStorage.getItem(DRAFT_KEY); } catch (e) { return; }
    if (saved !== null) {
      if (!this.textarea.value) this.textarea.value = saved;
      try { sessionStorage.removeItem(DRAFT_KEY); } catch (e) { /* ignore */ }
    }
  };

  Block.prototype.status = function (text) { this.$(".sa-status").textContent = text || ""; };

  Block.prototype.onClick = function (ev) {
    var target = ev.target;
    var button = target.closest(".sa-provider");
    if (button) { ev.preventDefault(); this.open(button); return; }
    if (target.closest(".sa-logout")) { ev.preventDefault(); this.logout(); return; }
    if (target.closest(".sa-change")) {
      ev.preventDefault();
      var choose = this.$(".sa-choose");
      choose.hidden = !choose.hidden;
      if (!choose.hidden) { var first = this.$(".sa-provider"); if (first) first.focus(); }
    }
  };

  Block.prototype.open = function (button) {
    this.saveDraft();  // in case the page is left or reloaded while the popup is open
    var href = button.getAttribute("data-popup-url");
    var w = 520, h = 640;
    var left = window.screenX + Math.max(0, (window.outerWidth - w) / 2);
    var top = window.screenY + Math.max(0, (window.outerHeight - h) / 2);
    var popup = null;
    try {
      popup = window.open(href, "social-auth-login",
        "popup=yes,width=" + w + ",height=" + h + ",left=" + left + ",top=" + top);
    } catch (e) { popup = null; }
    if (!popup || popup.closed) {
      // Blocked: a full-page sign-in. Posting the form carries the draft to the server, which
      // keeps it with the sign-in and puts it back in the textarea afterwards.
      if (this.form && this.form.requestSubmit) { this.form.requestSubmit(button); return; }
      var url = new URL(href, location.href);
      url.searchParams.set("popup", "0");
      location.assign(url.toString());
      return;
    }
    this.popup = popup;
    this.status("Connecting to " + button.getAttribute("data-title") + "\u2026");
    var self = this;
    clearInterval(this.timer);
    this.timer = setInterval(function () {
      if (popup.closed) {
        clearInterval(self.timer);
        // The popup posts its message and closes at once: the message may still be queued
        // when the window is already seen closed, so wait a moment before deciding it said
        // nothing.
        setTimeout(function () {
          if (self.popup === popup) {
            // Closed without a word (closed by hand, or a proxy changed the origin): ask the
            // server instead of guessing.
            self.popup = null; self.status(""); self.clearDraft(); self.refresh(true);
          }
        }, 1000);
      }
    }, 400);
  };

  Block.prototype.onMessage = function (ev) {
    // Only our own origin, and only the popup we opened, may report a sign-in.
    if (ev.origin !== location.origin || !this.popup || ev.source !== this.popup) return;
    var data = ev.data;
    if (!data || data.type !== "social-auth") return;
    this.popup = null;
    clearInterval(this.timer);
    this.clearDraft();  // the page stayed, and so did the textarea's text
    if (data.status === "signed-in") { this.status(""); this.refresh(); }
    else if (data.status === "cancelled") { this.status("Sign-in cancelled. Your comment is still here."); }
    else { this.status(typeof data.message === "string" && data.message ? data.message : "Sign-in failed. Please try again."); }
  };

  Block.prototype.request = function (url, method) {
    var csrf = this.$("[data-sa-csrf]").value;
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf, "X-Requested-With": "XMLHttpRequest" }
    }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body.message || "Request failed");
        return body;
      });
    });
  };

  Block.prototype.refresh = function (quiet) {
    var self = this;
    return this.request(this.root.getAttribute("data-me-url"), "GET")
      .then(function (me) { self.render(me); })
      .catch(function () { if (!quiet) self.status("Signed in. Reload the page to see it."); });
  };

  Block.prototype.logout = function () {
    var self = this;
    this.saveDraft();
    return this.request(this.root.getAttribute("data-logout-url"), "POST")
      .then(function (me) { self.render(me); self.clearDraft(); })
      .catch(function (e) { self.status(e.message); });
  };

  Block.prototype.render = function (me) {
    this.root.dispatchEvent(new CustomEvent("social-auth:rendered", { detail: me }));
    this.$("[data-sa-csrf]").value = me.csrf_token;
    var c = me.commenter;
    var signed = me.authenticated && c;
    var social = signed && !c.guest;
    this.$(".sa-signed").hidden = !signed;
    this.$(".sa-choose").hidden = !!signed;
    if (signed) {
      var avatar = this.$(".sa-avatar");
      if (c.avatar_url) { avatar.src = c.avatar_url; avatar.hidden = false; } else { avatar.hidden = true; }
      this.$(".sa-name").textContent = c.display_name;
      var title = this.titles[me.signed_in_with] || me.signed_in_with || "social";
      this.$(".sa-how-text").textContent = social
        ? "You are commenting using your " + title + " account."
        : "You are commenting as a guest.";
    }
    var fields = { name: "display_name", email: "email", website: "website" };
    for (var name in fields) {
      var input = this.root.querySelector("input[name='" + name + "']");
      if (!input) continue;
      input.disabled = !!social;
      input.required = !signed && name !== "website";
      if (signed && !social) input.value = c[fields[name]] || "";
    }
  };

  function init() {
    var roots = document.querySelectorAll("[data-social-auth]");
    for (var i = 0; i < roots.length; i++) new Block(roots[i]);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
