// Passkey (WebAuthn) ceremonies for the sign-in, enrolment and security pages. The server
// sends the options as JSON with base64url byte strings; the browser API wants ArrayBuffers.
(function () {
  "use strict";
  const csrf = document.body.dataset.csrf;
  const dec = (s) => {
    const b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
    return Uint8Array.from(b, (c) => c.charCodeAt(0)).buffer;
  };
  const enc = (buf) => {
    let s = "";
    new Uint8Array(buf).forEach((b) => { s += String.fromCharCode(b); });
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };
  async function post(url, body) {
    const r = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body || {}),
    });
    let j = {};
    try { j = await r.json(); } catch (e) { /* not JSON: reported below */ }
    if (!r.ok) throw new Error(j.error || ("HTTP " + r.status));
    return j;
  }
  async function register(btn) {
    const opts = (await post(btn.dataset.begin)).publicKey;
    opts.challenge = dec(opts.challenge);
    opts.user.id = dec(opts.user.id);
    (opts.excludeCredentials || []).forEach((c) => { c.id = dec(c.id); });
    const cred = await navigator.credentials.create({ publicKey: opts });
    const res = await post(btn.dataset.finish, {
      id: cred.id, rawId: enc(cred.rawId), type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment,
      clientExtensionResults: cred.getClientExtensionResults(),
      response: {
        clientDataJSON: enc(cred.response.clientDataJSON),
        attestationObject: enc(cred.response.attestationObject),
        transports: cred.response.getTransports ? cred.response.getTransports() : [],
      },
    });
    location.assign(res.next);
  }
  async function login(btn) {
    const opts = (await post(btn.dataset.begin)).publicKey;
    opts.challenge = dec(opts.challenge);
    (opts.allowCredentials || []).forEach((c) => { c.id = dec(c.id); });
    const cred = await navigator.credentials.get({ publicKey: opts });
    const res = await post(btn.dataset.finish, {
      id: cred.id, rawId: enc(cred.rawId), type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment,
      clientExtensionResults: cred.getClientExtensionResults(),
      response: {
        clientDataJSON: enc(cred.response.clientDataJSON),
        authenticatorData: enc(cred.response.authenticatorData),
        signature: enc(cred.response.signature),
        userHandle: cred.response.userHandle ? enc(cred.response.userHandle) : null,
      },
    });
    location.assign(res.next);
  }
  document.querySelectorAll("[data-passkey]").forEach((btn) => {
    const status = document.getElementById("passkey-status");
    if (!window.PublicKeyCredential) {
      btn.disabled = true;
      status.textContent = "This browser does not support passkeys.";
      status.hidden = false;
      return;
    }
    btn.addEventListener("click", async () => {
      btn.disabled = true;
      status.hidden = true;
      try {
        await (btn.dataset.passkey === "register" ? register(btn) : login(btn));
      } catch (e) {
        status.textContent = e.message || String(e);
        status.hidden = false;
        btn.disabled = false;
      }
    });
  });
})();
