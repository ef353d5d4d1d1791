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
    if (options.paged) {
      const pagination = JSON.parse(response.headers.get("X-Pagination") || "{}");
      return { items: data, rows: data, total: pagination.total ?? (Array.isArray(data) ? data.length : 0), pagination };
    }
    return data;
  }

  /* An object → a query string (no "?"); empty values left out, arrays as repeated keys. */
  function query(params) {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(params || {})) {
      if (value === undefined || value === null || value === "") continue;
      if (Array.isArray(value)) value.forEach((item) => search.append(key, item));
      else search.append(key, value);
    }
    return search.toString();
  }

  /* One page of an Open API list: {items (= rows), total, pagination} from X-Pagination. */
  function page(path, params) {
    const text = query(params);
    return api(text ? `${path}${path.includes("?") ? "&" : "?"}${text}` : path, { paged: true });
  }

  /* A time from the API (ISO-8601 UTC) in the browser's local time: "2026-12-03 12:00" (+ ":ss"). */
  function fmtTime(value, withSeconds) {
    if (!value) return "";
    const d = new Date(value);
    if (Number.isNaN(d.getTime())) return String(value);
    const pad = (n) => String(n).padStart(2, "0");
    const text = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
    return withSeconds ? `${text}:${pad(d.getSeconds())}` : text;
  }

  /* The API's (English, marshmallow) messages in Chinese where we know them; others as sent. */
  const WORDING = [
    [/^Missing data for required field\.$/, () => "必填"],
    [/^Field may not be null\.$/, () => "不能为空"],
    [/^Shorter than minimum length 1\.$/, () => "不能为空"],
    [/^Length must be between (\d+) and (\d+)\.$/, (m) => `长度须在 ${m[1]}–${m[2]} 之间`],
    [/^Shorter than minimum length (\d+)\.$/, (m) => `至少 ${m[1]} 项`],
    [/^Longer than maximum length (\d+)\.$/, (m) => `最多 ${m[1]} 个`],
    [/^Must be greater than or equal to (\S+) and less than or equal to (\S+)\.$/, (m) => `须在 ${m[1]}–${m[2]} 之间`],
    [/^Must be one of: (.*)\.$/, (m) => `须为以下之一：${m[1]}`],
    [/^Not a valid integer\.$/, () => "须为整数"],
    [/^Not a valid URL\.$/, () => "请输入有效的网址"],
    [/^Not a valid (string|number|boolean|list|mapping|date|datetime)\.$/, () => "格式不正确"],
    [/^Unknown field\.$/, () => "未知字段"],
    [/^String does not match expected pattern\.$/, () => "格式不正确"],
    // The services' own checks (scrm/schemas/*, scrm/services/*).
    [/^A step needs text or attachments\.$/, () => "步骤需要文本或附件"],
    [/^A template needs text or an attachment\.$/, () => "需要文本或附件"],
    [/^A mass message needs text or attachments\.$/, () => "需要文本或附件"],
    [/^\{nickname\} cannot be used: a mass-send task/, () => "群发不能使用 {nickname}：每个成员的任务对其所有客户发送同一条内容"],
    [/^Give exactly one of external_userids, segment_id, filters\.$/, () => "请选择接收的客户"],
    [/^Required when auto_create_room is on/, () => "开启群满自动建群时必填（新群以此命名）"],
    [/^Choose the groups:/, () => "请至少设置一个目标群条件"],
    [/^Required for a one-off plan\.$/, () => "一次性计划必填"],
    [/^Required for a weekly plan\.$/, () => "每周计划必填"],
    [/^Required for a monthly plan\.$/, () => "每月计划必填"],
    [/^Must not be before start_date\.$/, () => "不能早于开始日期"],
    [/^Give delay_minutes or day_offset/, () => "请设置触发时间"],
    [/^\{nickname\} is only for the new-member series/, () => "{nickname} 仅用于新成员入群系列"],
    [/^A once \/ daily \/ weekly \/ monthly plan has exactly one step/, () => "一次、每天、每周、每月计划只能有一个步骤"],
    [/^Not an active group of this corp: (.*)\.$/, (m) => `不是本企业的有效客户群：${m[1]}`],
    [/^A group is listed twice\.$/, () => "同一个群选了两次"],
    [/^Already used by group code (\d+)/, (m) => `已被群活码 ${m[1]} 使用（state 在企业内唯一）`],
    [/^A tag group with this name exists/, () => "已有同名标签组"],
    [/^This group already has a tag with this name\.$/, () => "该标签组中已有同名标签"],
    [/^A select field needs at least one option\.$/, () => "单选字段至少需要一个选项"],
  ];

  function wording(message) {
    for (const [pattern, say] of WORDING) {
      const found = String(message).match(pattern);
      if (found) return say(found);
    }
    return String(message);
  }

  /* A 422's errors — an Error from api() or its .errors ({json: {field: [..], nested: {0: {..}}}})
     — flattened to dotted paths ("steps.0.text") → one message each, in Chinese where known;
     "_schema" for messages about the whole body. */
  function fieldErrors(source) {
    const errors = source instanceof Error ? source.errors : source;
    const out = {};
    function walk(value, prefix) {
      if (Array.isArray(value)) {
        if (value.every((item) => typeof item === "string")) {
          out[prefix || "_schema"] = value.map(wording).join("；");
        } else value.forEach((item, index) => walk(item, prefix ? `${prefix}.${index}` : String(index)));
      } else if (value && typeof value === "object") {
        for (const [key, inner] of Object.entries(value)) {
          walk(inner, key === "_schema" ? prefix : (prefix ? `${prefix}.${key}` : key));
        }
      } else if (value !== undefined && value !== null) {
        out[prefix || "_schema"] = wording(value);
      }
    }
    for (const location of Object.values(errors || {})) walk(location, "");
    return out;
  }

  const pages = {
    "coming-soon": {
      template: "#tpl-coming-soon",
      data: () => ({ summary: bootstrap.summary || "" }),
      methods: { home() { window.location.href = "/console/"; } },
    },
  };

  const components = {}; // shared components (kebab-case name → definition), registered by boot.js

  window.ScrmConsole = { bootstrap, csrf, api, page, query, fmtTime, pages, components, fieldErrors, wording };
})();
