/* Helpers shared by the 群SOP, 社群运营 and 设置 pages: paged lists (X-Pagination), a drawer
   form whose 422 field errors are shown in place on the form items, delete with confirmation,
   and the Chinese wording of the API's validation messages. window.CommunityCommon. */
"use strict";
(function () {
  const { api } = window.ScrmConsole;
  const V1 = "/console/api/v1";

  /* A query string from an object, leaving out empty values. */
  function query(params) {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(params || {})) {
      if (value === undefined || value === null || value === "") continue;
      if (Array.isArray(value)) value.forEach((item) => search.append(key, item));
      else search.append(key, value);
    }
    const text = search.toString();
    return text ? "?" + text : "";
  }

  /* GET one page of a list resource: {items, total} (the total from X-Pagination). */
  async function page(path, params) {
    const response = await fetch(V1 + path + query(params), {
      headers: { Accept: "application/json" }, credentials: "same-origin",
    });
    if (response.status === 401) {
      window.location.href = "/console/login?next=" + encodeURIComponent(window.location.pathname);
    }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error(data.message || `请求失败（${response.status}）`);
      error.status = response.status;
      error.errors = data.errors || {};
      throw error;
    }
    let total = Array.isArray(data) ? data.length : 0;
    try { total = JSON.parse(response.headers.get("X-Pagination")).total; } catch (e) { /* not paged */ }
    return { items: data, total };
  }

  /* Every page of a list resource (page_size 200), for small lists filtered in the browser. */
  async function all(path, params, limit = 25) {
    const rows = [];
    for (let number = 1; number <= limit; number += 1) {
      const { items, total } = await page(path, { ...params, page: number, page_size: 200 });
      rows.push(...items);
      if (rows.length >= total || items.length === 0) break;
    }
    return rows;
  }

  /* The API's (English, marshmallow) messages in Chinese where we know them; others as sent. */
  const WORDING = [
    [/^Missing data for required field\.$/, () => "必填"],
    [/^Field may not be null\.$/, () => "不能为空"],
    [/^Shorter than minimum length 1\.$/, () => "不能为空"],
    [/^Length must be between (\d+) and (\d+)\.$/, (m) => `长度须在 ${m[1]}–${m[2]} 之间`],
    [/^Longer than maximum length (\d+)\.$/, (m) => `最多 ${m[1]} 个字符`],
    [/^Must be greater than or equal to (\S+) and less than or equal to (\S+)\.$/, (m) => `须在 ${m[1]}–${m[2]} 之间`],
    [/^Must be one of: (.*)\.$/, (m) => `须为以下之一：${m[1]}`],
    [/^Not a valid integer\.$/, () => "须为整数"],
    [/^Not a valid (string|boolean|list|date|datetime)\.$/, () => "格式不正确"],
    [/^Unknown field\.$/, () => "未知字段"],
    [/^String does not match expected pattern\.$/, () => "格式不正确"],
    // The services' own checks on these pages (scrm/schemas/*, scrm/services/*).
    [/^A step needs text or attachments\.$/, () => "步骤需要文本或附件"],
    [/^A template needs text or an attachment\.$/, () => "需要文本或附件"],
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

  /* A 422's errors ({json: {field: [..], nested: {0: {field: [..]}}}}) flattened to dotted paths
     ("steps.0.text") → one message each, in Chinese where known. */
  function fieldErrors(errors) {
    const out = {};
    function walk(value, prefix) {
      if (Array.isArray(value)) {
        if (value.every((item) => typeof item === "string")) {
          out[prefix || "_schema"] = value.map(wording).join("；");
        } else value.forEach((item, index) => walk(item, prefix ? `${prefix}.${index}` : String(index)));
      } else if (value && typeof value === "object") {
        for (const [key, inner] of Object.entries(value)) {
          const path = key === "_schema" ? prefix : (prefix ? `${prefix}.${key}` : key);
          walk(inner, path);
        }
      } else if (value !== undefined && value !== null) {
        out[prefix || "_schema"] = wording(value);
      }
    }
    for (const location of Object.values(errors || {})) walk(location, "");
    return out;
  }

  /* Errors for paths the form shows no item for (so nothing is ever silently swallowed). */
  function unplaced(errors, shown) {
    return Object.entries(errors).filter(([path]) => !shown.some((prefix) => path === prefix))
      .map(([path, message]) => (path === "_schema" ? message : `${path}：${message}`));
  }

  /* A Vue mixin for a drawer form: `drawer`, `form`, `errors` (path → message), `saving`,
     `formError`; save(method, path, body) resolves with the reply, or false after showing the
     error (422: in place; others: above the form). */
  const formMixin = {
    data: () => ({ drawer: false, editing: null, form: {}, errors: {}, saving: false, formError: "", lastStatus: 0 }),
    methods: {
      err(path) { return this.errors[path] || ""; },
      resetErrors() { this.errors = {}; this.formError = ""; },
      async save(method, path, body) {
        this.saving = true;
        this.resetErrors();
        this.lastStatus = 0;
        try {
          return await api(V1 + path, { method, body });
        } catch (error) {
          this.lastStatus = error.status;
          if (error.status === 422) {
            this.errors = fieldErrors(error.errors);
            const shown = this.shownFields ? this.shownFields() : Object.keys(this.errors);
            const rest = unplaced(this.errors, shown);
            this.formError = rest.length ? "请修正：" + rest.join("；") : "请修正标红的字段";
          } else {
            this.formError = message(error);
          }
          return false;
        } finally {
          this.saving = false;
        }
      },
    },
  };

  /* Errors other than 422, in words an operator understands. */
  function message(error) {
    if (error.status === 409) return "已达企业微信上限：" + error.message;
    if (error.status === 502) return "企业微信未接受此操作：" + error.message;
    if (error.status === 503) return "企业微信繁忙，请稍后再试（未做任何修改）";
    if (error.status === 404) return "记录不存在或已删除";
    return error.message;
  }

  /* Confirm, then DELETE (or another method); true when done. */
  async function confirmThen(text, method, path) {
    try {
      await ElementPlus.ElMessageBox.confirm(text, "请确认", {
        type: "warning", confirmButtonText: "确定", cancelButtonText: "取消",
      });
    } catch (cancelled) {
      return false;
    }
    try {
      await api(V1 + path, { method });
      ElementPlus.ElMessage.success("已完成");
      return true;
    } catch (error) {
      ElementPlus.ElMessage.error(message(error));
      return false;
    }
  }

  function toast(text, kind = "success") { ElementPlus.ElMessage({ message: text, type: kind }); }

  /* "2026-12-03T04:00:00Z" → local "2026-12-03 12:00". */
  function datetime(value) {
    if (!value) return "";
    const date = new Date(value);
    if (Number.isNaN(date.getTime())) return value;
    const pad = (n) => String(n).padStart(2, "0");
    return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
      `${pad(date.getHours())}:${pad(date.getMinutes())}`;
  }

  /* Tabs from the bootstrap, the active one kept in ?tab= */
  function tabState() {
    const { bootstrap } = window.ScrmConsole;
    return { tabs: bootstrap.tabs || [], tab: bootstrap.tab };
  }

  function rememberTab(name) {
    const url = new URL(window.location.href);
    url.searchParams.set("tab", name);
    window.history.replaceState(null, "", url);
  }

  window.CommunityCommon = {
    V1, api, query, page, all, fieldErrors, wording, formMixin, message, confirmThen, toast, datetime,
    tabState, rememberTab,
  };
})();
