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

  /* Marshmallow's messages (the API's, in English) in Chinese, for the fields of a form. */
  const MESSAGES = [
    [/^Missing data for required field\.$/, () => "必填"],
    [/^Field may not be null\.$/, () => "必填"],
    [/^Not a valid (string|integer|number|boolean|list|mapping)\.$/, () => "格式不正确"],
    [/^Not a valid URL\.$/, () => "请输入有效的网址"],
    [/^Not a valid datetime\.$/, () => "请输入有效的时间"],
    [/^Length must be between (\d+) and (\d+)\.$/, (m) => `长度须在 ${m[1]} 到 ${m[2]} 之间`],
    [/^Shorter than minimum length (\d+)\.$/, (m) => `至少 ${m[1]} 项`],
    [/^Longer than maximum length (\d+)\.$/, (m) => `最多 ${m[1]} 项`],
    [/^Must be greater than or equal to (\S+) and less than or equal to (\S+)\.$/, (m) => `须在 ${m[1]} 到 ${m[2]} 之间`],
    [/^Must be one of: (.*)\.$/, (m) => `只能是：${m[1]}`],
    [/^Unknown field\.$/, () => "不支持的字段"],
  ];
  function translate(message) {
    for (const [pattern, render] of MESSAGES) {
      const found = pattern.exec(message);
      if (found) return render(found);
    }
    return message;
  }

  /* A 422's field messages, flat: {"name": "必填", "steps.0.text": "..."} (the body's or the query's). */
  function fieldErrors(error) {
    const flat = {};
    const walk = (value, path) => {
      if (Array.isArray(value) && value.every((v) => typeof v === "string")) {
        flat[path] = value.map(translate).join("；");
      } else if (Array.isArray(value)) {
        value.forEach((v, i) => walk(v, path ? `${path}.${i}` : String(i)));
      } else if (value && typeof value === "object") {
        for (const [key, v] of Object.entries(value)) walk(v, path ? `${path}.${key}` : key);
      } else if (typeof value === "string") {
        flat[path] = translate(value);
      }
    };
    const errors = (error && error.errors) || {};
    walk(errors.json || errors.query || errors, "");
    return flat;
  }

  const pages = {
    "coming-soon": {
      template: "#tpl-coming-soon",
      data: () => ({ summary: bootstrap.summary || "" }),
      methods: { home() { window.location.href = "/console/"; } },
    },
  };

  const components = {}; // shared components (kebab-case name → definition), registered by boot.js

  window.ScrmConsole = { bootstrap, csrf, api, pages, components, fieldErrors, translate };
})();
