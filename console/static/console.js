/* The console's shared script: the JSON helper every page uses (with the CSRF header) and the
   page registry. Pages add a component to ScrmConsole.pages[name]; boot.js mounts the shell. */
"use strict";
(function () {
  const bootstrap = JSON.parse(document.getElementById("console-bootstrap").textContent);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;

  /* fetch() a /console/api/ path: JSON in and out. A state-changing request carries the CSRF
     token; 401 goes back to the sign-in page; other failures throw an Error with the server's
     Chinese message (and .errors: field → messages for a 422). */
  async function api(path, options = {}) {
    const method = (options.method || "GET").toUpperCase();
    const headers = { Accept: "application/json" };
    if (method !== "GET" && method !== "HEAD") {
      headers["X-CSRF-Token"] = csrf;
      headers["Content-Type"] = "application/json";
    }
    const response = await fetch(path, {
      method, headers, credentials: "same-origin",
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const data = await response.json().catch(() => ({}));
    if (response.status === 401) {
      window.location.href = "/console/login?next=" + encodeURIComponent(window.location.pathname);
    }
    if (!response.ok) {
      const error = new Error(data.message || `请求失败（${response.status}）`);
      error.status = response.status;
      error.errors = data.errors || {};
      throw error;
    }
    return data;
  }

  const pages = {
    "coming-soon": {
      template: "#tpl-coming-soon",
      data: () => ({ summary: bootstrap.summary || "" }),
      methods: { home() { window.location.href = "/console/"; } },
    },
  };

  window.ScrmConsole = { bootstrap, csrf, api, pages };
})();
